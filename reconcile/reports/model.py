"""What an exception report holds, independent of how it is rendered."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: how many open items (besides the new ones) and resolved items the HTML body lists; the
#: XLSX workbook has them all
OLDEST_SHOWN = 10
RESOLVED_SHOWN = 25
#: how many new items the HTML body lists (the most severe, then largest, first): a run
#: with 50k new ones made an 11.7 MB body no mail client shows; the workbook has them all
NEW_SHOWN = 50
#: a reconciliation whose latest run is older than this when the report is made is flagged
#: (the nightly cadence: its run failed or did not happen tonight)
STALE_HOURS = 24
#: the severity levels in the order the body lists new items (others after them)
SEVERITY_ORDER = ("critical", "high", "medium", "low")

#: Exception aging buckets (days since first seen) used by the AR digest.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2", 0, 2),
    ("3-7", 3, 7),
    ("8-30", 8, 30),
    ("over 30", 31, None),
)


def _rank(item: ReportItem) -> tuple[int, Decimal, str]:
    level = item.severity.lower()
    at = SEVERITY_ORDER.index(level) if level in SEVERITY_ORDER else len(SEVERITY_ORDER)
    return at, -abs(item.amount or Decimal(0)), item.exception_id


def _when(item: ReportItem) -> float:
    at = item.resolved_at or item.last_seen
    return at.timestamp() if at else 0.0


class ReportItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    exception_id: str
    recon: str
    category: str
    keys: dict[str, Any]
    description: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    severity: str = "low"
    run_state: str = "NEW"  # NEW, STILL_OPEN, CHANGED, REOPENED, RESOLVED_BY_DATA
    status: str = "OPEN"
    age_days: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_at: datetime | None = None
    owner: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def key_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.keys.items()))


class ReconSection(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    items: list[ReportItem] = Field(default_factory=list)
    resolved: list[ReportItem] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    #: when its latest run was recorded (None: never, or unknown): a report sent after a
    #: failed run shows the previous run's items, and must say how old they are
    last_run_at: datetime | None = None

    def stale(self, at: datetime, hours: int = STALE_HOURS) -> bool:
        """Whether its latest run is older than ``hours`` at ``at`` (or it never ran)."""
        return self.last_run_at is None or (at - self.last_run_at).total_seconds() > hours * 3600

    @property
    def open_items(self) -> list[ReportItem]:
        return [i for i in self.items if i.run_state != "RESOLVED_BY_DATA"]

    @property
    def new_items(self) -> list[ReportItem]:
        return [i for i in self.items if i.run_state in ("NEW", "REOPENED")]

    def new_shown(self, n: int = NEW_SHOWN) -> list[ReportItem]:
        """The ``n`` new items the HTML body lists: most severe first, then largest."""
        return sorted(self.new_items, key=_rank)[:n]

    def oldest(self, n: int = OLDEST_SHOWN) -> list[ReportItem]:
        return sorted(self.open_items, key=lambda i: (-i.age_days, i.exception_id))[:n]

    def open_not_shown(self, n: int = OLDEST_SHOWN) -> int:
        """Open items the HTML body lists neither among the new ones shown nor among the
        ``n`` oldest."""
        shown = {i.exception_id for i in self.new_shown()} | {
            i.exception_id for i in self.oldest(n)
        }
        return sum(i.exception_id not in shown for i in self.open_items)

    def resolved_shown(self, n: int = RESOLVED_SHOWN) -> list[ReportItem]:
        """The first ``n`` resolved items, latest resolved first."""
        return sorted(self.resolved, key=lambda i: (-_when(i), i.key_text, i.exception_id))[:n]

    def counts_by_category(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for item in self.open_items:
            counts[item.category] += 1
        return dict(sorted(counts.items()))

    def aging(self) -> list[dict[str, Any]]:
        """Per bucket: count and amount totals per currency (never summed across them)."""
        rows = []
        for label, low, high in AGE_BUCKETS:
            inside = [
                i
                for i in self.open_items
                if i.age_days >= low and (high is None or i.age_days <= high)
            ]
            totals: dict[str, Decimal] = defaultdict(Decimal)
            for item in inside:
                if item.amount is not None and item.currency:
                    totals[item.currency] += abs(item.amount)
            rows.append(
                {"bucket": label, "count": len(inside), "totals": dict(sorted(totals.items()))}
            )
        return rows


class FailedStep(BaseModel):
    """A step of the run the report closes (the nightly chain's sync or reconciliation)
    that failed or did not run: the report must say so, or its counts read as all clear."""

    model_config = ConfigDict(frozen=True)

    kind: str  # sync, reconcile
    name: str
    error: str  # one line, secrets scrubbed

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    generated_at: datetime
    run_id: str | None = None
    sections: list[ReconSection] = Field(default_factory=list)
    dead_letters: list[ReportItem] = Field(default_factory=list)
    failed_steps: list[FailedStep] = Field(default_factory=list)

    @property
    def new_count(self) -> int:
        """Items first found by their latest run (reopened ones are counted apart)."""
        return sum(i.run_state == "NEW" for s in self.sections for i in s.new_items)

    @property
    def reopened_count(self) -> int:
        return sum(i.run_state == "REOPENED" for s in self.sections for i in s.new_items)

    def counts_text(self) -> str:
        """'3 new, 2 reopened, 40 open' (reopened only when there are some)."""
        reopened = f"{self.reopened_count} reopened, " if self.reopened_count else ""
        return f"{self.new_count} new, {reopened}{self.open_count} open"

    @property
    def open_count(self) -> int:
        return sum(len(s.open_items) for s in self.sections)
