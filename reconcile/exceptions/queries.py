"""Read side of the exception store: lists, one exception with history, aging, counts."""

from __future__ import annotations

import builtins
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from billbridge.state import Store
from billbridge.state.schema import ExceptionHistoryRow, ExceptionRow
from billbridge.state.types import utcnow
from reconcile.definitions import SeverityRule
from reconcile.engine.severity import severity
from reconcile.exceptions.display import FieldKinds
from reconcile.exceptions.model import ACTIVE, ExceptionView, HistoryEvent, RunState, age_days
from reconcile.exceptions.runlog import at_least, latest_run_id, latest_runs
from reconcile.exceptions.runs import SYSTEM

if TYPE_CHECKING:
    from config.model import BillbridgeConfig

#: Aging buckets of reconciliation.md §3: (label, lowest age, highest age or None).
AGING_BUCKETS = (("0-2", 0, 2), ("3-7", 3, 7), ("8-30", 8, 30), ("over 30", 31, None))
VIEW_FIELDS = (
    "recon",
    "category",
    "severity",
    "currency",
    "run_state",
    "status",
    "owner",
)


def _strs(values: Iterable[Any] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


class ExceptionQueries:
    store: Store
    rules: tuple[SeverityRule, ...]

    def _rules_by_recon(
        self, s: Session, recons: Iterable[str] | None = None
    ) -> dict[str, tuple[SeverityRule, ...]]:
        """Each recon's severity rules as its latest recorded run kept them."""
        return {
            recon: run.rules
            for recon, run in latest_runs(s, recons).items()
            if run.rules is not None
        }

    def _severity(
        self, row: ExceptionRow, age: int, rules: Mapping[str, tuple[SeverityRule, ...]]
    ) -> str:
        """An open exception's level now: its recon's rules (the store's when its runs kept
        none) at its age, never below the level its last run stored."""
        own = rules.get(row.recon, self.rules)
        return at_least(row.severity, severity(row.amount, age, own, row.currency), own)

    def _view(
        self, row: ExceptionRow, now: datetime, rules: Mapping[str, tuple[SeverityRule, ...]]
    ) -> ExceptionView:
        closed = row.status not in ACTIVE
        # a closed exception stops ageing: its age is the one it had when it was closed
        age = age_days(row.first_seen, row.resolved_at if closed and row.resolved_at else now)
        return ExceptionView(
            id=row.exception_id,
            recon=row.recon,
            category=row.category,
            keys=dict(row.keys),
            key_text=row.key_text,
            details=dict(row.details),
            severity=row.severity if closed else self._severity(row, age, rules),
            amount=row.amount,
            currency=row.currency,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            age_days=age,
            times_seen=row.times_seen,
            run_state=row.run_state,
            status=row.status,
            owner=row.owner,
            last_run_id=row.last_run_id,
            resolved_at=row.resolved_at,
            fingerprint=row.fingerprint,
        )

    def _query(
        self,
        recon: str | None,
        states: Iterable[Any] | None,
        statuses: Iterable[Any] | None,
        categories: Iterable[str] | None,
        owner: str | None,
    ) -> Select[Any]:
        q = select(ExceptionRow)
        if recon is not None:
            q = q.where(ExceptionRow.recon == recon)
        if (st := _strs(states)) is not None:
            q = q.where(ExceptionRow.run_state.in_(st))
        if (ss := _strs(statuses)) is not None:
            q = q.where(ExceptionRow.status.in_(ss))
        if categories is not None:
            q = q.where(ExceptionRow.category.in_(list(categories)))
        if owner is not None:
            q = q.where(ExceptionRow.owner == owner)
        return q

    def list(
        self,
        recon: str | None = None,
        states: Iterable[Any] | None = None,
        statuses: Iterable[Any] | None = None,
        *,
        categories: Iterable[str] | None = None,
        owner: str | None = None,
        now: datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[ExceptionView]:
        """Exceptions, oldest first. ``states``: run states; ``statuses``: lifecycle."""
        now = now or utcnow()
        q = self._query(recon, states, statuses, categories, owner)
        q = q.order_by(ExceptionRow.first_seen, ExceptionRow.exception_id)
        if limit is not None:
            q = q.limit(limit)
        with self.store.session() as s:
            rules = self._rules_by_recon(s, None if recon is None else [recon])
            return [self._view(r, now, rules) for r in s.scalars(q)]

    def get(self, exception_id: str, *, now: datetime | None = None) -> ExceptionView | None:
        """One exception by id or by a unique id prefix (at least 6 characters)."""
        now = now or utcnow()
        # ids are lower-case hex: an id or prefix in capitals is the same on every store
        exception_id = exception_id.lower()
        with self.store.session() as s:
            row = s.get(ExceptionRow, exception_id)
            if row is None and len(exception_id.strip()) >= 6:
                found = list(
                    s.scalars(
                        select(ExceptionRow)
                        .where(ExceptionRow.exception_id.like(exception_id + "%"))
                        .limit(2)
                    )
                )
                row = found[0] if len(found) == 1 else None
            if row is None:
                return None
            return self._view(row, now, self._rules_by_recon(s, [row.recon]))

    def recorded_kinds(self, recons: Iterable[str] | None = None) -> dict[str, FieldKinds]:
        """Each recon's amount and currency fields as its latest recorded run kept them
        (recons whose latest run kept none are left out)."""
        with self.store.session() as s:
            return {
                recon: run.kinds
                for recon, run in latest_runs(s, recons).items()
                if run.kinds is not None
            }

    def recon_names(self) -> builtins.list[str]:
        """Every recon name the store knows: those with exceptions, and those whose runs
        the run log recorded (a clean run has no exceptions)."""
        with self.store.session() as s:
            found = set(s.scalars(select(ExceptionRow.recon).distinct()))
            found |= set(latest_runs(s))
        return sorted(found)

    def latest_run_times(self, recons: Iterable[str]) -> dict[str, datetime]:
        """When each recon's latest run was recorded (recons never logged are absent)."""
        with self.store.session() as s:
            return {recon: run.at for recon, run in latest_runs(s, list(recons)).items()}

    def latest_run_ids(self, recons: Iterable[str]) -> dict[str, str | None]:
        """Each recon's latest run id (None when it never ran): from the run log, else
        (runs recorded before runs were logged) the run that last saw or resolved one of
        its exceptions."""
        with self.store.session() as s:
            return {recon: latest_run_id(s, recon) for recon in recons}

    def history(self, exception_id: str) -> builtins.list[HistoryEvent]:
        """Its events, oldest first. The NEW event of a row recorded since revision 0005 is
        the row's own ``first_seen`` and ``first_run_id``; older rows have it in the
        history table."""
        q = (
            select(ExceptionHistoryRow)
            .where(ExceptionHistoryRow.exception_id == exception_id)
            .order_by(ExceptionHistoryRow.id)
        )
        first = select(ExceptionRow.first_seen, ExceptionRow.first_run_id).where(
            ExceptionRow.exception_id == exception_id, ExceptionRow.first_run_id.is_not(None)
        )
        with self.store.session() as s:
            implied = [
                HistoryEvent(at, RunState.NEW.value, run_id, SYSTEM, None, None)
                for at, run_id in s.execute(first)
            ]
            return implied + [
                HistoryEvent(r.at, r.event, r.run_id, r.actor, r.note, r.details)
                for r in s.scalars(q)
            ]

    def oldest_open(
        self, n: int, *, recon: str | None = None, now: datetime | None = None
    ) -> builtins.list[ExceptionView]:
        return self.list(recon, statuses=ACTIVE, now=now, limit=n)

    def counts_by(
        self,
        *fields: str,
        recon: str | None = None,
        statuses: Sequence[Any] | None = ACTIVE,
        now: datetime | None = None,
    ) -> dict[tuple[Any, ...], int]:
        """Count exceptions grouped by view fields (e.g. ``"category"``, ``"aging"``)."""
        views = self.list(recon, statuses=statuses, now=now)
        return dict(Counter(tuple(_field(v, f) for f in fields) for v in views))

    def aging(
        self, *, recon: str | None = None, now: datetime | None = None
    ) -> dict[str, dict[str, Any]]:
        """Active exceptions per aging bucket: count and amount totals per currency."""
        out: dict[str, dict[str, Any]] = {
            label: {"count": 0, "amounts": defaultdict(Decimal)} for label, _, _ in AGING_BUCKETS
        }
        for view in self.list(recon, statuses=ACTIVE, now=now):
            bucket = out[aging_bucket(view.age_days)]
            bucket["count"] += 1
            if view.amount is not None:
                bucket["amounts"][view.currency or ""] += view.amount
        for bucket in out.values():
            bucket["amounts"] = dict(bucket["amounts"])
        return out

    def kpis(self, *, recon: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Open and suppressed counts, counts by category and status, and the mean time to
        resolve (days, over exceptions resolved by a person or by the data)."""
        views = self.list(recon, now=now)
        active = [v for v in views if v.is_open]
        resolved = [v for v in views if v.resolved_at is not None]
        spans = [
            (v.resolved_at - v.first_seen).total_seconds() / 86400
            for v in resolved
            if v.resolved_at
        ]
        return {
            "open": len(active),
            "suppressed": sum(1 for v in active if v.status == "SUPPRESSED"),
            "by_category": dict(Counter(v.category for v in active)),
            "by_status": dict(Counter(v.status for v in views)),
            "resolved": len(resolved),
            "mean_days_to_resolve": round(sum(spans) / len(spans), 2) if spans else None,
        }


def aging_bucket(age: int) -> str:
    for label, low, high in AGING_BUCKETS:
        if age >= low and (high is None or age <= high):
            return label
    return AGING_BUCKETS[-1][0]


def _field(view: ExceptionView, name: str) -> Any:
    if name == "aging":
        return aging_bucket(view.age_days)
    if name not in VIEW_FIELDS:
        raise ValueError(f"cannot group by {name!r}; use one of {(*VIEW_FIELDS, 'aging')}")
    return getattr(view, name)


def resolve_recon_names(
    given: Iterable[str], recorded: Iterable[str], config: BillbridgeConfig | None = None
) -> builtins.list[str]:
    """``--recon`` names as the names their exceptions are recorded under: a config key
    (what ``reconcile run`` takes) maps to the name its runs record, as ``reconcile run``
    records it (``reconcile.configured.recorded_name``); a recorded name stays. Any other
    name is refused (``ConfigError``, naming the known ones) rather than matching nothing.

    ``recorded``: the names the store knows (``ExceptionQueries.recon_names``)."""
    from billbridge.errors import ConfigError
    from reconcile.configured import recorded_name

    keys = dict(config.reconciliations) if config is not None else {}
    known = set(recorded)
    out: builtins.list[str] = []
    for name in given:
        if name in keys:
            assert config is not None
            resolved = recorded_name(config, name)
        elif name in known:
            resolved = name
        else:
            names = sorted(set(keys) | known)
            raise ConfigError(
                f"--recon {name!r}: no such reconciliation; known: "
                + (", ".join(names) if names else "none (nothing recorded, no config)")
            )
        if resolved not in out:
            out.append(resolved)
    return out
