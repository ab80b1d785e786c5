"""A run-level failure part-way through a batch.

Quota exhaustion (:class:`~billbridge.errors.BudgetExhausted`), a refused credential or a
missing permission (:class:`~billbridge.errors.FatalError`) stop the run; they are never a
verdict on the records. When such a failure comes after part of a batch already went out,
the connector raises :class:`StoppedPartWay` with one result per intent, so what was
written is recorded as written and the run still stops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from billbridge.errors import BillbridgeError, BudgetExhausted, FatalError
from canonical import FailureType, ResultStatus, WriteIntent, WriteResult


class StoppedPartWay(FatalError):
    """``results``: one per intent of the batch, in order; ``cause``: what stops the run.
    A :class:`FatalError`, so a caller that does not unpack it still stops."""

    def __init__(self, cause: BillbridgeError, results: Sequence[WriteResult]) -> None:
        super().__init__(str(cause), internal=cause.internal)
        self.cause = cause
        self.results = list(results)
        self.failure_type = cause.failure_type


def not_written(intents: Sequence[WriteIntent], cause: BillbridgeError) -> list[WriteResult]:
    """Results for intents a run-level failure kept from being written.

    Quota: the call was refused or never made, so they stay pending (RETRYABLE) for the
    next run. Anything else (auth, permission): the refused call may have been the one in
    flight, so UNKNOWN (looked up before it is sent again)."""
    if isinstance(cause, BudgetExhausted):
        status, failure, why = ResultStatus.RETRYABLE, FailureType.TRANSIENT, "not sent"
    else:
        status, failure, why = ResultStatus.UNKNOWN, FailureType.CONFIG, "run stopped"
    return [
        WriteResult(
            idempotency_key=i.idempotency_key,
            status=status,
            message=f"{why}: {cause}",
            failure_type=failure,
        )
        for i in intents
    ]


def stop_part_way(
    intents: Sequence[WriteIntent], done: Mapping[str, WriteResult], cause: BillbridgeError
) -> BillbridgeError:
    """The error to raise for ``cause``: ``cause`` itself if nothing was written yet, else
    :class:`StoppedPartWay` keeping the results in ``done``."""
    if not done:
        return cause
    rest = not_written([i for i in intents if i.idempotency_key not in done], cause)
    by_key = dict(done) | {r.idempotency_key: r for r in rest}
    return StoppedPartWay(cause, [by_key[i.idempotency_key] for i in intents])
