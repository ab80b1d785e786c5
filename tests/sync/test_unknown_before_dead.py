"""An intent whose last attempt got no answer is looked up before it is declared dead, and
an operator's redrive of a dead intent looks it up (under the keys it went out with)
before sending it again under its fresh key: nothing is applied twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import OutboxEventRow, OutboxIntentRow
from canonical import WriteIntent, WriteResult
from sync import operator, outbox
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run

JOB3 = JOB.model_copy(update={"max_attempts": 3, "retry_rounds": 5})


class LosingTarget(FakeTarget):
    """Adds a ``lost`` fault: the request times out and was *not* applied."""

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        if self.faults and self.faults[0] == "lost":
            self.faults.pop(0)
            with self._lock:
                self.write_calls += 1
            raise TimeoutError("read timed out (nothing was written)")
        return super().write(intents)


def _booked(tmp_path: Path, tgt: FakeTarget) -> tuple[FakeSource, Store]:
    store = Store(f"sqlite:///{tmp_path}/state.db")
    src = FakeSource()
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1")], auto_renew=True))
    run(src, tgt, store, job=JOB3)
    src.put(
        "contract",
        contract("800A", "001A", [line("L1")], auto_renew=True, end_date=date(2026, 12, 31)),
    )
    return src, store


def _renewal(store: Store) -> OutboxIntentRow:
    with store.session() as s:
        stmt = select(OutboxIntentRow).where(OutboxIntentRow.action == "RenewSubscription")
        row = s.scalars(stmt).one()
        s.expunge(row)
        return row


def test_last_attempt_timing_out_after_it_was_applied_is_found_not_dead(tmp_path: Path) -> None:
    tgt = FakeTarget()
    src, store = _booked(tmp_path, tgt)
    tgt.faults = ["5xx", "5xx", "timeout_after_commit"]
    report = run(src, tgt, store, job=JOB3)
    row = _renewal(store)
    assert row.status == outbox.ALREADY_APPLIED
    assert report.counts.get("dead", 0) == 0
    assert tgt.subscriptions["SF-800A"]["renewals"] == 1


def test_last_attempt_lost_is_dead_only_after_the_lookup(tmp_path: Path) -> None:
    tgt = LosingTarget()
    src, store = _booked(tmp_path, tgt)
    tgt.faults = ["5xx", "5xx", "lost"]
    lookups = tgt.find_applied_calls
    report = run(src, tgt, store, job=JOB3)
    row = _renewal(store)
    assert row.status == outbox.DEAD and row.attempts == 3
    assert report.counts["dead"] == 1
    assert tgt.find_applied_calls == lookups + 1  # read before it was declared dead
    with store.session() as s:
        last = s.scalars(
            select(OutboxEventRow)
            .where(OutboxEventRow.idempotency_key == row.idempotency_key)
            .order_by(OutboxEventRow.id.desc())
        ).first()
        assert last is not None and "did not find it applied" in (last.message or "")
    assert tgt.subscriptions["SF-800A"]["renewals"] == 0


def test_redrive_of_a_dead_intent_applied_meanwhile_is_looked_up_not_resent(
    tmp_path: Path,
) -> None:
    """Dead after its attempts were answered 409 (in flight); the in-flight request then
    completed. The redrive looks it up under the key it went out with: already applied."""
    tgt = FakeTarget()
    src, store = _booked(tmp_path, tgt)
    tgt.faults = ["409", "409", "409"]
    run(src, tgt, store, job=JOB3)
    row = _renewal(store)
    assert row.status == outbox.DEAD
    with store.session() as s:
        [intent] = outbox.intents_by_key(s, [row.idempotency_key]).values()
    tgt._apply(intent)  # the request in flight under the original key lands late
    assert tgt.subscriptions["SF-800A"]["renewals"] == 1

    operator.redrive(store, row.idempotency_key, actor="ops", ticket="INC-1")
    assert _renewal(store).status == outbox.SENT
    report = run(src, tgt, store, job=JOB3)
    assert _renewal(store).status == outbox.ALREADY_APPLIED
    assert report.counts.get("applied", 0) == 0
    assert tgt.subscriptions["SF-800A"]["renewals"] == 1


def test_redrive_of_a_dead_intent_not_applied_goes_out_once_under_a_fresh_key(
    tmp_path: Path,
) -> None:
    tgt = LosingTarget()
    src, store = _booked(tmp_path, tgt)
    tgt.faults = ["5xx", "5xx", "lost"]
    run(src, tgt, store, job=JOB3)
    key = _renewal(store).idempotency_key
    operator.redrive(store, key, actor="ops", ticket="INC-1")
    with store.session() as s:
        assert outbox.redrives(s, [key]) == {key: 1}  # the redrive is still counted
    run(src, tgt, store, job=JOB3)
    assert _renewal(store).status == outbox.APPLIED
    assert tgt.subscriptions["SF-800A"]["renewals"] == 1
    assert outbox.wire_key(key, 1) in tgt.applied_keys and key not in tgt.applied_keys


def test_redrive_of_a_rejected_intent_is_pending(tmp_path: Path) -> None:
    tgt = FakeTarget()
    src, store = _booked(tmp_path, tgt)
    tgt.faults = ["batch_reject"]
    run(src, tgt, store, job=JOB3)
    row = _renewal(store)
    assert row.status == outbox.REJECTED
    operator.redrive(store, row.idempotency_key, actor="ops", ticket="INC-2")
    assert _renewal(store).status == outbox.PENDING
