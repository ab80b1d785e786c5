"""send_batch bisects a rejected batch at an account boundary, so a group one connector
call already posted is sent again as the same group (same key: replayed), never in halves
under new keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from billbridge.errors import RecordRejected
from canonical import ResultStatus, WriteIntent, WriteOp, WriteResult
from sync.batching import send_batch


def sub(n: int, account: str, *, bad: bool = False) -> WriteIntent:
    payload: dict[str, Any] = {"accountNumber": account, "subscriptionNumber": f"S{n}"}
    if bad:
        payload["bad"] = True
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action="AddProduct",
        external_id=f"SF-{n}",
        payload=payload,
        source_system="salesforce",
        source_id=f"006-{n}",
        source_version="1",
        mapping_version="m1",
    )


class GroupPostingTarget:
    """Posts one call per account (keyed by its intents, like Zuora orders) and raises for
    a bad intent only after the earlier accounts' calls went out."""

    name = "zuora"

    def __init__(self) -> None:
        self.posted: list[tuple[str, ...]] = []

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        groups: dict[str, list[WriteIntent]] = {}
        for i in intents:
            groups.setdefault(str(i.payload["accountNumber"]), []).append(i)
        for group in groups.values():
            if any(i.payload.get("bad") for i in group):
                raise RecordRejected("bad intent", code="BAD")
            self.posted.append(tuple(i.idempotency_key for i in group))
        return [
            WriteResult(idempotency_key=i.idempotency_key, status=ResultStatus.APPLIED)
            for i in intents
        ]


def test_rejected_batch_is_split_between_accounts_not_inside_one() -> None:
    a = [sub(n, "A1") for n in (1, 2, 3)]
    b = sub(4, "B2", bad=True)
    target = GroupPostingTarget()
    outcome = send_batch(target, [*a, b])  # type: ignore[arg-type]
    assert [r.status for r in outcome.results] == [ResultStatus.APPLIED] * 3 + [
        ResultStatus.REJECTED
    ]
    # Account A1's group went out whole every time: one key, replayed, no halves.
    assert set(target.posted) == {tuple(i.idempotency_key for i in a)}
