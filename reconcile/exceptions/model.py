"""Vocabulary of the exception workflow: run states, lifecycle statuses, reasons, views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from billbridge.errors import BillbridgeError


class RunState(StrEnum):
    """How a run saw an exception compared with earlier runs."""

    NEW = "NEW"
    STILL_OPEN = "STILL_OPEN"
    CHANGED = "CHANGED"
    RESOLVED_BY_DATA = "RESOLVED_BY_DATA"
    REOPENED = "REOPENED"


class Status(StrEnum):
    """Where a person has taken the exception."""

    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    ASSIGNED = "ASSIGNED"
    IN_REVIEW = "IN_REVIEW"
    ESCALATED = "ESCALATED"
    RESOLVED = "RESOLVED"
    WONT_FIX = "WONT_FIX"
    SUPPRESSED = "SUPPRESSED"


class Reason(StrEnum):
    """Resolution reason codes (reconciliation.md §3)."""

    FIXED_IN_SOURCE = "FIXED_IN_SOURCE"
    JOURNAL_ENTRY_POSTED = "JOURNAL_ENTRY_POSTED"
    WRITE_OFF = "WRITE_OFF"
    TIMING = "TIMING"
    KNOWN_DIFFERENCE = "KNOWN_DIFFERENCE"
    FALSE_POSITIVE = "FALSE_POSITIVE"
    #: set by a run when the break disappeared from the data
    RESOLVED_BY_DATA = "RESOLVED_BY_DATA"


#: Statuses that still need (or are parked from) attention; SUPPRESSED still counts.
ACTIVE = (
    Status.OPEN,
    Status.ACKNOWLEDGED,
    Status.ASSIGNED,
    Status.IN_REVIEW,
    Status.ESCALATED,
    Status.SUPPRESSED,
)
CLOSED = (Status.RESOLVED, Status.WONT_FIX)
#: Statuses a suppression parks (by hand or when a run finds one it covers): untouched ones
#: and ones in someone's hands, whose owner stays; when the suppression ends the exception
#: goes back to the status it was suppressed from (its SUPPRESSED history event's "from")
SUPPRESSIBLE = (
    Status.OPEN,
    Status.ACKNOWLEDGED,
    Status.ASSIGNED,
    Status.IN_REVIEW,
    Status.ESCALATED,
)

#: Allowed manual transitions: from -> to.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset(
        {
            Status.ACKNOWLEDGED,
            Status.ASSIGNED,
            Status.IN_REVIEW,
            Status.ESCALATED,
            Status.RESOLVED,
            Status.WONT_FIX,
        }
    ),
    Status.ACKNOWLEDGED: frozenset(
        {Status.ASSIGNED, Status.IN_REVIEW, Status.ESCALATED, Status.RESOLVED, Status.WONT_FIX}
    ),
    Status.ASSIGNED: frozenset(
        {Status.ASSIGNED, Status.IN_REVIEW, Status.ESCALATED, Status.RESOLVED, Status.WONT_FIX}
    ),
    Status.IN_REVIEW: frozenset(
        {Status.ASSIGNED, Status.ESCALATED, Status.RESOLVED, Status.WONT_FIX}
    ),
    Status.ESCALATED: frozenset(
        {Status.ASSIGNED, Status.IN_REVIEW, Status.RESOLVED, Status.WONT_FIX}
    ),
    Status.SUPPRESSED: frozenset({Status.ASSIGNED, Status.RESOLVED, Status.WONT_FIX}),
    Status.RESOLVED: frozenset({Status.OPEN}),
    Status.WONT_FIX: frozenset({Status.OPEN}),
}


class WorkflowError(BillbridgeError):
    """A lifecycle action that is not allowed (unknown id, bad transition, bad reason)."""


@dataclass(frozen=True)
class ExceptionView:
    """One exception as reports and the CLI see it."""

    id: str
    recon: str
    category: str
    keys: dict[str, Any]
    key_text: str
    details: dict[str, Any]
    severity: str
    amount: Decimal | None
    currency: str | None
    first_seen: datetime
    last_seen: datetime
    age_days: int
    times_seen: int
    run_state: str
    status: str
    owner: str | None
    last_run_id: str | None
    resolved_at: datetime | None
    fingerprint: str

    @property
    def is_open(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    event: str
    run_id: str | None
    actor: str | None
    note: str | None
    details: dict[str, Any] | None


@dataclass
class RunDelta:
    """What one run changed, by run state (exception ids)."""

    recon: str
    run_id: str
    new: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    resolved_by_data: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    #: ids (among this run's exceptions) covered by an active suppression and parked by it
    #: (not the closed ones below)
    suppressed: list[str] = field(default_factory=list)
    #: closed exceptions (won't fix) this run found again, unchanged or changed: not open,
    #: so counted apart from STILL_OPEN and CHANGED (which, with NEW and REOPENED, are the
    #: open items reports and ``exceptions list`` show)
    wont_fix: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            RunState.NEW: len(self.new),
            RunState.STILL_OPEN: len(self.still_open),
            RunState.CHANGED: len(self.changed),
            RunState.RESOLVED_BY_DATA: len(self.resolved_by_data),
            RunState.REOPENED: len(self.reopened),
            "SUPPRESSED": len(self.suppressed),
            Status.WONT_FIX: len(self.wont_fix),
        }


def age_days(first_seen: datetime, now: datetime) -> int:
    return max((now.date() - first_seen.date()).days, 0)
