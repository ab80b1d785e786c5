"""Run a UAT spec: per entity load, translate, reconcile, attribute and score; check the
expectations; with a state store, compare with the previous run and remember this one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import structlog
from sqlalchemy import select

from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from reconcile.engine import reconcile
from reconcile.engine.rows import ExceptionRows
from uat.entities import PreparedEntity, SourceHook, prepare_entity
from uat.expectations import (
    ExpectationResult,
    check_expectation,
    entity_totals,
    evaluate,
)
from uat.rootcause import attribute
from uat.scorecard import EntityScore, Progress, score
from uat.spec import SourceError, UatSpec
from uat.totals import Totals, key_totals, merged_keys
from uat.translate import Translation, load_translation

log = structlog.get_logger(__name__)
KIND = "uat"


@dataclass
class UatRun:
    spec: UatSpec
    run_id: str
    at: datetime
    scores: list[EntityScore]
    expectations: list[ExpectationResult]
    previous_at: datetime | None = None
    #: what the run could only do another way than usual (a translation table matched
    #: case-sensitively), naming file, lines and field
    warnings: list[str] = field(default_factory=list)
    #: the compared sources per entity name (the sign-off pack reads values as written)
    entities: dict[str, PreparedEntity] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(x.passed for x in self.expectations)


def job_name(spec: UatSpec) -> str:
    return f"uat:{spec.name}"


def compare_entity(spec: UatSpec, entity: PreparedEntity) -> EntityScore:
    """The engine path for one entity: reconcile, attribute root causes, score."""
    result = reconcile(entity.definition, entity.legacy, entity.new, by_field=True)
    kinds = {c.name: c.kind for c in entity.definition.compare}
    rows = result.rows
    assert isinstance(rows, ExceptionRows)  # the two-sided engine returns its rows

    def sums(fields: Sequence[str], keys: pa.Table) -> pa.Table:
        return key_totals(entity, fields, only=keys).table

    attribution = attribute(
        rows, entity.kind, kinds, entity.gaps, spec.rootcause, result.by_field, sums,
        merges=entity.merges, merged_keys=lambda keys: merged_keys(entity, entity.merges, keys),
    )  # fmt: skip
    return score(
        entity.spec.name, entity.kind.name, entity.kind.title, result, attribution, entity.gaps,
        merges=entity.merges,
    )  # fmt: skip


def _previous(store: Store, spec: UatSpec) -> tuple[datetime | None, dict[str, dict[str, str]]]:
    stmt = (
        select(RunLogRow)
        .where(RunLogRow.job == job_name(spec), RunLogRow.kind == KIND)
        .order_by(RunLogRow.id.desc())
        .limit(1)
    )
    with store.session() as s:
        row = s.scalars(stmt).first()
        if row is None:
            return None, {}
        return row.at, dict(row.counts.get("entities", {}))


def _remember(store: Store, spec: UatSpec, run: UatRun, prepared: list[PreparedEntity]) -> None:
    from reconcile.exceptions import ExceptionStore
    from reconcile.exceptions.display import kinds_of

    previous_at, previous = _previous(store, spec)
    run.previous_at = previous_at
    xs = ExceptionStore(store)
    for sc, entity in zip(run.scores, prepared, strict=True):
        # the engine's rows as they are (keys under the recon's key names); the store's own
        # severity rules, as for candidates
        rows = sc.attribution.rows
        delta = xs.record_run(
            entity.definition.name,
            run.run_id,
            rows,
            run.at,
            rules=xs.rules,
            # amounts show their minor units in `exceptions show` (no config names a UAT spec)
            kinds=kinds_of(entity.definition),
        )
        before = previous.get(sc.entity)
        sc.progress = Progress(
            previous_rate=Decimal(before["match_rate"]) if before else None,
            fixed=len(delta.resolved_by_data),
            new=len(delta.new) + len(delta.reopened),
        )
    counts = {
        "entities": {sc.entity: sc.to_counts() for sc in run.scores},
        "expectations": {x.name: x.passed for x in run.expectations},
        "passed": run.passed,
    }
    with store.session() as s:
        s.add(
            RunLogRow(
                run_id=run.run_id, job=job_name(spec), kind=KIND, event="finished",
                at=run.at, counts=counts, message=None,
            )
        )  # fmt: skip


def _totals(
    spec: UatSpec, entities: dict[str, PreparedEntity], scores: dict[str, EntityScore]
) -> dict[str, Totals]:
    """Per entity whose expectations read them, its per-key totals (one build each),
    grouped per key only where the engine found a key repeated."""
    out = {}
    for name, entity in entities.items():
        xs = [x for x in spec.expectations if x.entity == name]
        found = entity_totals(xs, entity, scores[name])
        if found is not None:
            out[name] = found
    return out


def _translations(spec: UatSpec, base: Path) -> dict[str, Translation]:
    out = {}
    for name, table in spec.translations.items():
        try:
            out[name] = load_translation(name, table, base)
        except SourceError as exc:
            raise ConfigError(f"{spec.where('translations', name, exc.field)}: {exc}") from None
    return out


def run_uat(
    spec: UatSpec,
    base: Path,
    *,
    now: datetime,
    store: Store | None = None,
    hooks: dict[str, SourceHook] | None = None,
    run_id: str | None = None,
) -> UatRun:
    translations = _translations(spec, base)
    # load every entity first so a bad input fails before anything is recorded
    prepared = [prepare_entity(spec, e, base, translations, hooks) for e in spec.entities]
    named = {p.spec.name: p for p in prepared}
    for i, x in enumerate(spec.expectations):
        check_expectation(spec, i, x, named[x.entity])
    scores = [compare_entity(spec, p) for p in prepared]
    by_name = {p.spec.name: (p, s) for p, s in zip(prepared, scores, strict=True)}
    totals = _totals(spec, named, {p.spec.name: s for p, s in zip(prepared, scores, strict=True)})
    results = [evaluate(x, *by_name[x.entity], totals.get(x.entity)) for x in spec.expectations]
    warnings = [t.warning for t in translations.values() if t.warning]
    run = UatRun(
        spec, run_id or uuid.uuid4().hex, now, scores, results, warnings=warnings, entities=named
    )
    if store is not None:
        _remember(store, spec, run, prepared)
    log.info(
        "uat_compared", spec=spec.name, entities=len(scores), passed=run.passed,
        exceptions=sum(s.exceptions for s in scores),
    )  # fmt: skip
    return run
