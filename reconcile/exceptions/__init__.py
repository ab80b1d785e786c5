"""Exception store and workflow: stable ids, run-over-run states, lifecycle, suppressions."""

from __future__ import annotations

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
from reconcile.exceptions.store import ExceptionStore
from reconcile.exceptions.suppress import Suppression

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
