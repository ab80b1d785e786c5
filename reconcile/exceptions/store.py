"""The exception store: run-over-run classification over the state store's tables.

``record_run`` is set-based: one SELECT of the recon's known ids, then bulk INSERTs and bulk
UPDATEs by primary key, all in one transaction (a failed run changes nothing). Manual actions
(``transition``, ``suppress``) write ``exception_history`` and ``audit_events`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from billbridge.state import Store
from billbridge.state.schema import (
    AuditEventRow,
    ExceptionHistoryRow,
    ExceptionRow,
    SuppressionRow,
)
from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule
from reconcile.engine.result import ExceptionCandidate
from reconcile.engine.severity import severity
from reconcile.exceptions.identity import key_text
from reconcile.exceptions.model import (
    CLOSED,
    TRANSITIONS,
    ExceptionView,
    Reason,
    RunDelta,
    RunState,
    Status,
    WorkflowError,
    age_days,
)
from reconcile.exceptions.queries import ExceptionQueries
from reconcile.exceptions.suppress import Suppression, check_scope

log = structlog.get_logger(__name__)
SYSTEM = "system"
#: rows per bulk statement (keeps PostgreSQL parameter counts and SQLite memory bounded)
BATCH = 5000


def _chunks(items: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


def _suppression(row: SuppressionRow) -> Suppression:
    return Suppression(
        row.id,
        row.recon,
        row.exception_id,
        row.pattern,
        row.reason,
        row.owner,
        row.expires_at,
        row.created_at,
        row.created_by,
    )


class ExceptionStore(ExceptionQueries):
    def __init__(self, store: Store, *, rules: Sequence[SeverityRule] = DEFAULT_SEVERITY) -> None:
        self.store = store
        self.rules = tuple(rules)

    # -- runs ----------------------------------------------------------------------------
    def record_run(
        self,
        recon: str,
        run_id: str,
        candidates: Sequence[ExceptionCandidate],
        now: datetime,
    ) -> RunDelta:
        """Classify this run's exceptions against earlier runs and persist them."""
        delta = RunDelta(recon, run_id)
        seen: dict[str, ExceptionCandidate] = {}
        for cand in candidates:
            if cand.recon != recon:
                raise WorkflowError(f"candidate {cand.exception_id} belongs to {cand.recon}")
            seen[cand.exception_id] = cand
        cols = (
            ExceptionRow.exception_id,
            ExceptionRow.fingerprint,
            ExceptionRow.status,
            ExceptionRow.first_seen,
            ExceptionRow.times_seen,
        )
        with self.store.session() as s:
            known = {r[0]: r for r in s.execute(select(*cols).where(ExceptionRow.recon == recon))}
            sups = [x for x in self._suppressions(s, recon) if x.active(now)]
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            for eid, cand in seen.items():
                kt = key_text(cand.keys)
                covered = any(
                    x.covers(
                        recon=recon,
                        exception_id=eid,
                        category=cand.category,
                        key_text=kt,
                        amount=cand.amount,
                        currency=cand.currency,
                    )
                    for x in sups
                )
                if covered:
                    delta.suppressed.append(eid)
                prev = known.get(eid)
                base = {
                    "category": cand.category,
                    "keys": cand.keys,
                    "key_text": kt,
                    "fingerprint": cand.fingerprint,
                    "details": cand.details,
                    "amount": cand.amount,
                    "currency": cand.currency,
                    "last_seen": now,
                    "last_run_id": run_id,
                }
                if prev is None:
                    state = RunState.NEW
                    status = Status.SUPPRESSED if covered else Status.OPEN
                    inserts.append(
                        base
                        | {
                            "exception_id": eid,
                            "recon": recon,
                            "first_seen": now,
                            "times_seen": 1,
                            "run_state": state,
                            "status": status,
                            "severity": severity(cand.amount, 0, self.rules),
                        }
                    )
                    delta.new.append(eid)
                else:
                    _, old_fp, old_status, first_seen, times = prev
                    status = Status(old_status)
                    if status == Status.RESOLVED:
                        state, status = RunState.REOPENED, Status.OPEN
                        delta.reopened.append(eid)
                    elif old_fp != cand.fingerprint:
                        state = RunState.CHANGED
                        delta.changed.append(eid)
                    else:
                        state = RunState.STILL_OPEN
                        delta.still_open.append(eid)
                    if covered and status == Status.OPEN:
                        status = Status.SUPPRESSED
                    elif not covered and status == Status.SUPPRESSED:
                        status = Status.OPEN  # its suppression expired or was lifted
                        history.append(self._event(eid, run_id, now, "SUPPRESSION_ENDED"))
                    updates.append(
                        base
                        | {
                            "exception_id": eid,
                            "times_seen": times + 1,
                            "run_state": state,
                            "status": status,
                            "resolved_at": None,
                            "severity": severity(
                                cand.amount, age_days(first_seen, now), self.rules
                            ),
                        }
                    )
                if state != RunState.STILL_OPEN:
                    history.append(self._event(eid, run_id, now, state, cand.fingerprint))
                if covered and status == Status.SUPPRESSED and (prev is None or prev[2] != status):
                    history.append(self._event(eid, run_id, now, Status.SUPPRESSED))
            for eid, (_, fp, old_status, _first, _times) in known.items():
                if eid in seen or Status(old_status) in CLOSED:
                    continue
                updates.append(
                    {
                        "exception_id": eid,
                        "run_state": RunState.RESOLVED_BY_DATA,
                        "status": Status.RESOLVED,
                        "resolved_at": now,
                        "last_run_id": run_id,
                    }
                )
                history.append(
                    self._event(
                        eid, run_id, now, RunState.RESOLVED_BY_DATA, fp, Reason.RESOLVED_BY_DATA
                    )
                )
                delta.resolved_by_data.append(eid)
            self._bulk(s, inserts, updates, history)
        log.info("exceptions recorded", recon=recon, run_id=run_id, **delta.counts)
        return delta

    @staticmethod
    def _event(
        eid: str,
        run_id: str | None,
        now: datetime,
        event: str,
        fp: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        return {
            "exception_id": eid,
            "run_id": run_id,
            "at": now,
            "event": str(event),
            "fingerprint": fp,
            "details": {"reason": reason} if reason else None,
            "actor": SYSTEM,
            "note": None,
        }

    @staticmethod
    def _bulk(
        s: Session,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        history: list[dict[str, Any]],
    ) -> None:
        for chunk in _chunks(inserts):
            s.execute(insert(ExceptionRow), chunk)
        # ORM bulk UPDATE by primary key; group by column set so each batch is uniform
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in updates:
            by_shape.setdefault(tuple(sorted(row)), []).append(row)
        for rows in by_shape.values():
            for chunk in _chunks(rows):
                s.execute(update(ExceptionRow), chunk)
        for chunk in _chunks(history):
            s.execute(insert(ExceptionHistoryRow), chunk)

    # -- lifecycle -----------------------------------------------------------------------
    def transition(
        self,
        ids: str | Sequence[str],
        to: Status,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
        owner: str | None = None,
        reason: Reason | str | None = None,
        ticket: str | None = None,
    ) -> list[ExceptionView]:
        """Move exceptions to ``to`` (bulk when given several ids); audited per exception."""
        id_list = [ids] if isinstance(ids, str) else list(ids)
        if not actor:
            raise WorkflowError("an actor is required for every manual action")
        if to == Status.RESOLVED:
            if reason is None:
                raise WorkflowError("resolving needs a reason code")
            try:
                reason = Reason(str(reason).upper())
            except ValueError:
                codes = ", ".join(r.value for r in Reason if r != Reason.RESOLVED_BY_DATA)
                raise WorkflowError(f"unknown reason {reason!r}; use one of {codes}") from None
        if to == Status.ASSIGNED and not owner:
            raise WorkflowError("assigning needs an owner")
        with self.store.session() as s:
            rows = {
                r.exception_id: r
                for r in s.scalars(
                    select(ExceptionRow).where(ExceptionRow.exception_id.in_(id_list))
                )
            }
            for eid in id_list:
                row = rows.get(eid)
                if row is None:
                    raise WorkflowError(f"no exception with id {eid}")
                current = Status(row.status)
                if to not in TRANSITIONS[current]:
                    raise WorkflowError(f"{eid[:12]}: cannot go from {current} to {to}")
                row.status = to
                if owner is not None:
                    row.owner = owner
                row.resolved_at = now if to in CLOSED else None
                details = {"from": current.value, "to": to.value}
                if reason is not None:
                    details["reason"] = str(reason)
                if owner is not None:
                    details["owner"] = owner
                s.add(
                    ExceptionHistoryRow(
                        exception_id=eid,
                        at=now,
                        event=to.value,
                        fingerprint=row.fingerprint,
                        details=details,
                        actor=actor,
                        note=note,
                    )
                )
                s.add(
                    AuditEventRow(
                        at=now,
                        actor=actor,
                        action=f"exception.{to.value.lower()}",
                        subject_type="exception",
                        subject_id=eid,
                        ticket=ticket,
                        note=note,
                        details=details | {"recon": row.recon},
                    )
                )
        return [v for v in (self.get(eid, now=now) for eid in id_list) if v is not None]

    def acknowledge(
        self, ids: str | Sequence[str], *, actor: str, now: datetime, note: str | None = None
    ) -> list[ExceptionView]:
        return self.transition(ids, Status.ACKNOWLEDGED, actor=actor, now=now, note=note)

    def assign(
        self,
        ids: str | Sequence[str],
        owner: str,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> list[ExceptionView]:
        return self.transition(ids, Status.ASSIGNED, actor=actor, now=now, note=note, owner=owner)

    def resolve(
        self,
        ids: str | Sequence[str],
        reason: Reason | str,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> list[ExceptionView]:
        return self.transition(ids, Status.RESOLVED, actor=actor, now=now, note=note, reason=reason)

    # -- suppressions --------------------------------------------------------------------
    def suppress(
        self,
        *,
        reason: str,
        owner: str,
        expires_at: datetime,
        actor: str,
        now: datetime,
        exception_id: str | None = None,
        pattern: dict[str, Any] | None = None,
        recon: str | None = None,
        note: str | None = None,
    ) -> Suppression:
        """Create a suppression and apply it at once to the active exceptions it covers."""
        clean = check_scope(exception_id, pattern, recon)
        if not reason or not owner or not actor:
            raise WorkflowError("a suppression needs a reason, an owner and an actor")
        if expires_at <= now:
            raise WorkflowError("a suppression must expire in the future")
        with self.store.session() as s:
            if exception_id is not None:
                target = s.get(ExceptionRow, exception_id)
                if target is None:
                    raise WorkflowError(f"no exception with id {exception_id}")
                recon = recon or target.recon
            row = SuppressionRow(
                recon=recon,
                exception_id=exception_id,
                pattern=clean,
                reason=reason,
                owner=owner,
                expires_at=expires_at,
                created_at=now,
                created_by=actor,
            )
            s.add(row)
            s.flush()
            sup = _suppression(row)
            query = select(ExceptionRow).where(ExceptionRow.status == Status.OPEN.value)
            if recon is not None:
                query = query.where(ExceptionRow.recon == recon)
            if exception_id is not None:
                query = query.where(ExceptionRow.exception_id == exception_id)
            applied = 0
            for exc in s.scalars(query):
                if not sup.covers(
                    recon=exc.recon,
                    exception_id=exc.exception_id,
                    category=exc.category,
                    key_text=exc.key_text,
                    amount=exc.amount,
                    currency=exc.currency,
                ):
                    continue
                exc.status = Status.SUPPRESSED
                applied += 1
                s.add(
                    ExceptionHistoryRow(
                        exception_id=exc.exception_id,
                        at=now,
                        event=Status.SUPPRESSED.value,
                        details={"suppression_id": sup.id, "reason": reason},
                        actor=actor,
                        note=note,
                    )
                )
            s.add(
                AuditEventRow(
                    at=now,
                    actor=actor,
                    action="exception.suppress",
                    subject_type="suppression",
                    subject_id=str(sup.id),
                    note=note,
                    details={
                        "recon": recon,
                        "exception_id": exception_id,
                        "pattern": clean,
                        "reason": reason,
                        "owner": owner,
                        "expires_at": expires_at.isoformat(),
                        "applied": applied,
                    },
                )
            )
        return sup

    def expire_suppressions(self, now: datetime, *, actor: str = SYSTEM) -> list[str]:
        """Reopen SUPPRESSED exceptions no active suppression covers any more."""
        reopened = []
        with self.store.session() as s:
            sups = [x for x in self._suppressions(s, None) if x.active(now)]
            for exc in s.scalars(
                select(ExceptionRow).where(ExceptionRow.status == Status.SUPPRESSED.value)
            ):
                if any(
                    x.covers(
                        recon=exc.recon,
                        exception_id=exc.exception_id,
                        category=exc.category,
                        key_text=exc.key_text,
                        amount=exc.amount,
                        currency=exc.currency,
                    )
                    for x in sups
                ):
                    continue
                exc.status = Status.OPEN
                reopened.append(exc.exception_id)
                s.add(
                    ExceptionHistoryRow(
                        exception_id=exc.exception_id,
                        at=now,
                        event="SUPPRESSION_ENDED",
                        actor=actor,
                    )
                )
        return reopened

    @staticmethod
    def _suppressions(s: Session, recon: str | None) -> list[Suppression]:
        query = select(SuppressionRow)
        if recon is not None:
            query = query.where((SuppressionRow.recon == recon) | SuppressionRow.recon.is_(None))
        return [_suppression(r) for r in s.scalars(query)]

    def suppressions(self, *, active_at: datetime | None = None) -> list[Suppression]:
        with self.store.session() as s:
            found = self._suppressions(s, None)
        return [x for x in found if active_at is None or x.active(active_at)]
