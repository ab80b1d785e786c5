"""Which open intents may go out now, in which batches, and how one batch is sent.

Rules: every intent of one external id travels in one batch, in planned order (a
subscription's actions must not overtake each other); an intent waits while its parent (the
account or customer it belongs to) still has an unfinished intent; batches hold at most
``batch_size`` intents (Zuora: 50 order actions per call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from billbridge.errors import (
    BillbridgeError,
    BudgetExhausted,
    ConfigError,
    FatalError,
    RecordRejected,
    RetryableError,
)
from canonical import FailureType, ResultStatus, WriteIntent, WriteResult
from connectors.base import Connector
from connectors.common.stop import StoppedPartWay, not_written
from sync import charges

log = structlog.get_logger(__name__)

#: Entities written before the others (their records are parents of the rest).
PARENT_ENTITIES = ("customer", "account")


def phase(entity: str) -> int:
    return 0 if entity in PARENT_ENTITIES else 1


def parent_external_id(intent: WriteIntent) -> str | None:
    """The external id of the account/customer this intent's record belongs to."""
    payload = intent.payload
    if isinstance(payload.get("accountNumber"), str) and intent.entity == "subscription":
        return str(payload["accountNumber"])
    entity = payload.get("entity")
    if isinstance(entity, dict) and isinstance(entity.get("externalId"), str):
        return str(entity["externalId"])
    return None


def sendable(
    open_intents: Sequence[WriteIntent],
    *,
    held: set[str],
    batch_size: int,
    failed_parents: set[str] | frozenset[str] = frozenset(),
) -> list[list[WriteIntent]]:
    """Group what can be sent now into batches; ``held`` keys sit this round out.

    Records wait while their parent (account/customer) has an unfinished intent, or while
    its last intent was rejected or dead (``failed_parents``): sending them would only
    fail again; they go out once the parent is fixed and written.
    """
    parents_open = {i.external_id for i in open_intents if phase(i.entity) == 0}
    parents_open |= set(failed_parents)
    groups: dict[tuple[str, str], list[WriteIntent]] = {}
    blocked: set[tuple[str, str]] = set()
    for intent in open_intents:  # already in planned order
        gk = (intent.entity, intent.external_id)
        if gk in blocked:
            continue
        waits = intent.idempotency_key in held or (
            phase(intent.entity) > 0 and parent_external_id(intent) in parents_open
        )
        if waits:
            blocked.add(gk)  # later intents of the same record must not overtake it
            continue
        group = groups.setdefault(gk, [])
        if len(group) < batch_size:
            group.append(intent)
        else:
            blocked.add(gk)
    batches: list[list[WriteIntent]] = []
    current: list[WriteIntent] = []
    # Records of one account side by side: Zuora takes one account per order call, so a
    # batch of one account's subscriptions is one call (dict order keeps it stable).
    ordered = sorted(
        groups.values(), key=lambda g: (phase(g[0].entity), parent_external_id(g[0]) or "")
    )
    for group in ordered:
        if current and len(current) + len(group) > batch_size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


@dataclass
class BatchOutcome:
    intents: list[WriteIntent]
    results: list[WriteResult]
    calls: int
    fatal: BillbridgeError | None = None


def _uniform(
    intents: Sequence[WriteIntent],
    status: ResultStatus,
    *,
    message: str,
    failure: FailureType,
    code: str | None = None,
    retry_after: float | None = None,
) -> list[WriteResult]:
    return [
        WriteResult(
            idempotency_key=i.idempotency_key,
            status=status,
            message=message,
            failure_type=failure,
            error_code=code,
            retry_after=retry_after,
        )
        for i in intents
    ]


def send_batch(target: Connector, intents: list[WriteIntent]) -> BatchOutcome:
    """One batch through the connector; a batch-level rejection is bisected, so one bad
    record does not take the others down. Never raises except for programming errors.

    Zuora UpdateProduct intents get their charge number filled in first (``charges``),
    after the actions of the batch that change the same subscription's charges."""
    cut = charges.first_dependent(intents)
    if cut:
        return _in_turn(target, intents, cut)
    ready, decided, calls = charges.resolve(target, intents)
    if not decided and not calls:
        return _send(target, intents)
    sent = _send(target, ready) if ready else BatchOutcome([], [], 0)
    by_key = {r.idempotency_key: r for r in sent.results} | decided
    return BatchOutcome(
        intents, [by_key[i.idempotency_key] for i in intents], sent.calls + calls, sent.fatal
    )


def _in_turn(target: Connector, intents: list[WriteIntent], cut: int) -> BatchOutcome:
    """``intents[:cut]`` first, then the rest, whose charges are resolved only now. A record
    whose earlier intent did not go through sends nothing more (its actions keep their
    order); after a run-level failure nothing more is sent."""
    head = send_batch(target, intents[:cut])
    ok = (ResultStatus.APPLIED, ResultStatus.ALREADY_APPLIED)
    stuck = {
        (i.entity, i.external_id)
        for i, r in zip(head.intents, head.results, strict=True)
        if r.status not in ok
    }
    rest = intents[cut:]
    if head.fatal is not None:
        waiting, go = rest, []
    else:
        waiting = [i for i in rest if (i.entity, i.external_id) in stuck]
        go = [i for i in rest if (i.entity, i.external_id) not in stuck]
    tail = send_batch(target, go) if go else BatchOutcome([], [], 0)
    held = _uniform(
        waiting,
        ResultStatus.RETRYABLE,
        message="not sent: an earlier action of the same record in its batch did not go through",
        failure=FailureType.TRANSIENT,
    )
    by_key = {r.idempotency_key: r for r in (*head.results, *tail.results, *held)}
    return BatchOutcome(
        intents,
        [by_key[i.idempotency_key] for i in intents],
        head.calls + tail.calls,
        head.fatal or tail.fatal,
    )


def _owner(intent: WriteIntent) -> str:
    return parent_external_id(intent) or intent.external_id


def _split_point(intents: Sequence[WriteIntent]) -> int:
    """Where to bisect a rejected batch: at the change of account/customer nearest the
    middle, so one account's intents stay together. A connector that posted that
    account's group before raising (Zuora: one order per account, keyed by its intents)
    then sends the same group under the same key and gets the stored answer back,
    instead of posting its halves again under new keys."""
    mid = len(intents) // 2
    cuts = [n for n in range(1, len(intents)) if _owner(intents[n]) != _owner(intents[n - 1])]
    if not cuts:
        return mid
    return min(cuts, key=lambda n: (abs(n - mid), n))


def _send(target: Connector, intents: list[WriteIntent]) -> BatchOutcome:
    try:
        results = target.write(intents)
    except RecordRejected as exc:
        if len(intents) == 1:
            res = _uniform(
                intents,
                ResultStatus.REJECTED,
                message=str(exc),
                failure=FailureType.DATA,
                code=exc.code,
            )
            return BatchOutcome(intents, res, 1)
        mid = _split_point(intents)
        left, right = _send(target, intents[:mid]), _send(target, intents[mid:])
        return BatchOutcome(
            intents,
            left.results + right.results,
            1 + left.calls + right.calls,
            left.fatal or right.fatal,
        )
    except StoppedPartWay as exc:
        # A run-level failure after part of the batch went out: keep what was written,
        # stop the run.
        if [r.idempotency_key for r in exc.results] == [i.idempotency_key for i in intents]:
            return BatchOutcome(intents, exc.results, 1, fatal=exc.cause)
        res = _uniform(intents, ResultStatus.UNKNOWN, message=str(exc), failure=FailureType.SYSTEM)
        return BatchOutcome(intents, res, 1, fatal=exc.cause)
    except BudgetExhausted as exc:
        # Quota used up (our share or the org's): the call was refused or never made.
        # The run stops; the intents stay pending for the next run (never UNKNOWN).
        return BatchOutcome(intents, not_written(intents, exc), 1, fatal=exc)
    except RetryableError as exc:
        res = _uniform(
            intents,
            ResultStatus.RETRYABLE,
            message=str(exc),
            failure=FailureType.TRANSIENT,
            retry_after=exc.retry_after,
        )
        return BatchOutcome(intents, res, 1)
    except (FatalError, ConfigError) as exc:
        # Auth or configuration: abort the run. The request may have left: unknown.
        res = _uniform(intents, ResultStatus.UNKNOWN, message=str(exc), failure=FailureType.CONFIG)
        return BatchOutcome(intents, res, 1, fatal=exc)
    except Exception as exc:  # noqa: BLE001 - timeout, reset: anything after the request left
        log.warning("sync.batch_unknown", size=len(intents), error=type(exc).__name__)
        res = _uniform(
            intents,
            ResultStatus.UNKNOWN,
            message=f"outcome unknown: {type(exc).__name__}",
            failure=FailureType.TRANSIENT,
        )
        return BatchOutcome(intents, res, 1)
    keys = [i.idempotency_key for i in intents]
    if [r.idempotency_key for r in results] != keys:
        # A connector that breaks the one-result-per-intent contract: trust nothing.
        log.error("sync.results_mismatch", size=len(intents), got=len(results))
        res = _uniform(
            intents,
            ResultStatus.UNKNOWN,
            message="results did not match intents",
            failure=FailureType.SYSTEM,
        )
        return BatchOutcome(intents, res, 1)
    return BatchOutcome(intents, list(results), 1)
