"""Recorded reconciliation runs in the state store's run log.

Every ``ExceptionStore.record_run`` appends one ``run_log`` row (kind ``reconcile``, event
``recorded``, job = the recon) with the run's counts, the severity rules it sized the
exceptions by and, when the caller knows them, which compared fields are amounts and which
hold the currency. Readers take a recon's latest such row: the exception list and reports
size open exceptions by those rules (a definition's own, not the defaults), show amounts
with their minor units by those fields, and a report's "resolved since last run" counts
that run's resolutions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billbridge.state.schema import ExceptionRow, RunLogRow
from reconcile.definitions import SeverityRule
from reconcile.exceptions.display import FieldKinds
from reconcile.exceptions.model import RunState

RUN_KIND = "reconcile"
RECORDED = "recorded"
#: the levels every default rule set uses, highest first
STANDARD_LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


@dataclass(frozen=True)
class RecordedRun:
    recon: str
    run_id: str
    at: datetime
    #: None when the row holds no (readable) rule set
    rules: tuple[SeverityRule, ...] | None
    #: None when the run recorded no field kinds (older runs, plain candidate lists)
    kinds: FieldKinds | None = None


def rules_json(rules: Iterable[SeverityRule]) -> list[dict[str, Any]]:
    """Rules as JSON values (amounts as exact text); ``currency`` only where a rule has one,
    so a run's rules read as before wherever no currency rules exist."""
    return [
        rule.model_dump(mode="json", exclude={"currency"} if rule.currency is None else None)
        for rule in rules
    ]


def rules_from_json(data: Any) -> tuple[SeverityRule, ...] | None:
    if not isinstance(data, list) or not data:
        return None
    try:
        return tuple(SeverityRule.model_validate(item) for item in data)
    except ValidationError:
        return None


def kinds_json(kinds: FieldKinds) -> dict[str, list[str]]:
    return {"amounts": sorted(kinds.amounts), "currencies": sorted(kinds.currencies)}


def kinds_from_json(data: Any) -> FieldKinds | None:
    if not isinstance(data, dict):
        return None
    amounts, currencies = data.get("amounts"), data.get("currencies")
    if not isinstance(amounts, list) or not isinstance(currencies, list):
        return None
    return FieldKinds(frozenset(map(str, amounts)), frozenset(map(str, currencies)))


def run_entry(
    recon: str,
    run_id: str,
    now: datetime,
    counts: Mapping[str, int],
    rules: Sequence[SeverityRule],
    kinds: FieldKinds | None = None,
) -> RunLogRow:
    """The run log row of one recorded run."""
    return RunLogRow(
        run_id=run_id,
        job=recon,
        kind=RUN_KIND,
        event=RECORDED,
        at=now,
        counts={str(k): v for k, v in counts.items()},
        mapping_versions={},
        severity_rules=rules_json(rules),
        field_kinds=None if kinds is None else kinds_json(kinds),
    )


def latest_runs(s: Session, recons: Iterable[str] | None = None) -> dict[str, RecordedRun]:
    """Each recon's latest recorded run (all recons', or those named)."""
    newest = select(func.max(RunLogRow.id)).where(
        RunLogRow.kind == RUN_KIND, RunLogRow.event == RECORDED
    )
    if recons is not None:
        newest = newest.where(RunLogRow.job.in_(list(recons)))
    newest = newest.group_by(RunLogRow.job)
    query = select(
        RunLogRow.job,
        RunLogRow.run_id,
        RunLogRow.at,
        RunLogRow.severity_rules,
        RunLogRow.field_kinds,
    ).where(RunLogRow.id.in_(newest.scalar_subquery()))
    return {
        job: RecordedRun(job, run_id, at, rules_from_json(rules), kinds_from_json(kinds))
        for job, run_id, at, rules, kinds in s.execute(query)
    }


def latest_run_id(s: Session, recon: str) -> str | None:
    """The recon's latest run: from the run log, or, for a store recorded before runs were
    logged, the run that last saw or resolved one of its exceptions."""
    found = latest_runs(s, [recon]).get(recon)
    if found is not None:
        return found.run_id
    seen = s.execute(
        select(ExceptionRow.last_run_id, ExceptionRow.last_seen)
        .where(ExceptionRow.recon == recon, ExceptionRow.last_run_id.is_not(None))
        .order_by(ExceptionRow.last_seen.desc())
        .limit(1)
    ).first()
    resolved = s.execute(
        select(ExceptionRow.last_run_id, ExceptionRow.resolved_at)
        .where(
            ExceptionRow.recon == recon,
            ExceptionRow.run_state == RunState.RESOLVED_BY_DATA.value,
            ExceptionRow.resolved_at.is_not(None),
        )
        .order_by(ExceptionRow.resolved_at.desc())
        .limit(1)
    ).first()
    runs = [(at, run) for run, at in (seen or (None, None), resolved or (None, None)) if at and run]
    return max(runs)[1] if runs else None


def at_least(stored: str, computed: str, rules: Sequence[SeverityRule]) -> str:
    """The higher of a stored level and a recomputed one (ranked by the standard levels,
    else by the rules' order, highest first); the stored one when they cannot be ranked,
    so a level is never shown lower than the run recorded it."""
    s, c = stored.upper(), computed.upper()
    for ranking in (STANDARD_LEVELS, tuple(r.level.upper() for r in rules)):
        if s in ranking and c in ranking:
            return computed if ranking.index(c) <= ranking.index(s) else stored
    return stored
