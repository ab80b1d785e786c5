"""Exception store and workflow: stable ids, run-over-run states, lifecycle, suppressions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconcile.exceptions.identity import exception_id, fingerprint, key_text
from reconcile.exceptions.model import (
    ACTIVE,
    CLOSED,
    ExceptionView,
    HistoryEvent,
    Reason,
    RunDelta,
    RunState,
    Status,
    WorkflowError,
)
from reconcile.exceptions.queries import AGING_BUCKETS, aging_bucket
from reconcile.exceptions.suppress import Suppression

if TYPE_CHECKING:
    from reconcile.exceptions.store import ExceptionStore


def __getattr__(name: str) -> Any:
    # lazy: the store imports the engine, which imports this package's identity module
    if name == "ExceptionStore":
        from reconcile.exceptions.store import ExceptionStore

        return ExceptionStore
    raise AttributeError(name)


__all__ = [
    "ACTIVE",
    "AGING_BUCKETS",
    "CLOSED",
    "ExceptionStore",
    "ExceptionView",
    "HistoryEvent",
    "Reason",
    "RunDelta",
    "RunState",
    "Status",
    "Suppression",
    "WorkflowError",
    "aging_bucket",
    "exception_id",
    "fingerprint",
    "key_text",
]
