"""Scorecard per entity: match rate, exceptions per category, top root causes, amount at
risk per currency, translation gaps, and progress against the previous run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconcile.engine import ReconResult
from uat.rootcause import Attributed, Attribution, CauseGroup
from uat.translate import Gap, Merge

PCT = Decimal("0.01")


@dataclass(frozen=True)
class Progress:
    """This entity against the previous run of the same spec."""

    previous_rate: Decimal | None
    fixed: int
    new: int


@dataclass
class EntityScore:
    entity: str
    kind: str
    title: str
    rows_legacy: int
    rows_new: int
    matched: int
    within_tolerance: int
    exceptions: int
    match_rate: Decimal
    categories: dict[str, int]
    root_causes: list[CauseGroup]
    at_risk: dict[str, Decimal]
    gaps: tuple[Gap, ...]
    attribution: Attribution = field(repr=False)
    progress: Progress | None = None
    #: legacy codes a translation table merged into one new code, found together
    merges: tuple[Merge, ...] = ()

    @property
    def attributed(self) -> list[Attributed]:
        """The exceptions one by one (built on first use: most runs only count them)."""
        return self.attribution.items

    def to_counts(self) -> dict[str, Any]:
        """JSON-safe scorecard kept in ``run_log.counts`` for the next run's progress."""
        return {
            "match_rate": str(self.match_rate),
            "rows_legacy": self.rows_legacy,
            "rows_new": self.rows_new,
            "matched": self.matched,
            "exceptions": self.exceptions,
            "categories": self.categories,
            "at_risk": {k: str(v) for k, v in self.at_risk.items()},
            "root_causes": {g.cause.label: g.count for g in self.root_causes},
        }


def match_rate(matched: int, exceptions: int) -> Decimal:
    """Matched keys over all keys seen on either side, in percent to 0.01, for display (100
    when both are empty). Gates compare :func:`exact_match_rate`."""
    return exact_match_rate(matched, exceptions).quantize(PCT)


def exact_match_rate(matched: int, exceptions: int) -> Decimal:
    """The same rate unrounded: 20,000 of 20,001 keys is 99.995 %, not the 100.00 % shown
    (a gate on 100 % must fail on it)."""
    total = matched + exceptions
    if not total:
        return Decimal(100)
    return Decimal(100) * matched / total


def score(
    entity: str,
    kind: str,
    title: str,
    result: ReconResult,
    attribution: Attribution,
    gaps: tuple[Gap, ...],
    merges: tuple[Merge, ...] = (),
) -> EntityScore:
    rows = result.summary["row_summary"]
    matched = int(result.counts.get("MATCHED", 0))
    return EntityScore(
        entity=entity,
        kind=kind,
        title=title,
        rows_legacy=int(rows["df1_rows"]),
        rows_new=int(rows["df2_rows"]),
        matched=matched,
        within_tolerance=int(result.counts.get("MATCHED_WITHIN_TOLERANCE", 0)),
        exceptions=len(attribution),
        match_rate=match_rate(matched, len(attribution)),
        categories=dict(sorted(attribution.rows.categories().items())),
        root_causes=attribution.groups,
        at_risk=attribution.at_risk,
        gaps=gaps,
        attribution=attribution,
        merges=merges,
    )
