"""The exception store: run-over-run classification over the state store's tables.

``record_run`` is set-based: one SELECT of the recon's known ids, then bulk INSERTs and bulk
UPDATEs by primary key, all in one transaction (a failed run changes nothing). Manual actions
(``transition``, ``suppress``) write ``exception_history`` and ``audit_events`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from billbridge.state import Store
from billbridge.state.db import lock_for_writing
from billbridge.state.schema import (
    AuditEventRow,
    ExceptionHistoryRow,
    ExceptionRow,
    SuppressionRow,
)
from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule
from reconcile.engine.build import gc_paused
from reconcile.engine.result import ExceptionCandidate
from reconcile.engine.rows import ExceptionRows
from reconcile.exceptions.display import FieldKinds
from reconcile.exceptions.model import (
    CLOSED,
    SUPPRESSIBLE,
    TRANSITIONS,
    ExceptionView,
    Reason,
    RunDelta,
    Status,
    WorkflowError,
)
from reconcile.exceptions.queries import ExceptionQueries
from reconcile.exceptions.recording import Recording
from reconcile.exceptions.runlog import run_entry
from reconcile.exceptions.runs import (
    SYSTEM,
    load_known,
    plan_run,
    resume_statuses,
    write_plan,
)
from reconcile.exceptions.suppress import Suppression, check_scope

log = structlog.get_logger(__name__)


def _plain_keys(candidate: ExceptionCandidate, names: list[str]) -> bool:
    """Keys the row form keeps as they are: text values under the run's key names."""
    keys = candidate.keys
    return list(keys) == names and all(isinstance(v, str) for v in keys.values())


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


def _column_length(table: Any, column: str) -> int:
    length = table.__table__.c[column].type.length
    assert isinstance(length, int)
    return length


#: the longest owner, actor, ticket and recon name the store's columns hold
OWNER_MAX = _column_length(ExceptionRow, "owner")
ACTOR_MAX = _column_length(ExceptionHistoryRow, "actor")
TICKET_MAX = _column_length(AuditEventRow, "ticket")
RECON_MAX = _column_length(SuppressionRow, "recon")


def check_text(what: str, value: str | None, limit: int | None = None) -> None:
    """User input the store must hold on every backend: at most ``limit`` characters and no
    NUL (PostgreSQL refuses it in text); one line saying which option is wrong, before
    anything is written (was the driver's error with the SQL after the work was done)."""
    if value is None:
        return
    if "\x00" in value:
        raise WorkflowError(f"{what} contains a NUL character; give it without")
    if limit is not None and len(value) > limit:
        raise WorkflowError(f"{what} is {len(value)} characters long; at most {limit} are allowed")


def recon_lock(recon: str) -> str:
    """The lock a recon's runs and manual actions take before they read what they change
    (``lock_for_writing``): a run and an operator, or two runs, one after the other."""
    return f"recon:{recon}"


def _lock_recons(s: Session, ids: Sequence[str]) -> None:
    """Lock the recons of the exceptions ``ids`` (a recon never changes, so reading them
    first is safe; on SQLite the first lock is the whole database's)."""
    recons = s.scalars(
        select(ExceptionRow.recon).where(ExceptionRow.exception_id.in_(ids)).distinct()
    )
    lock_for_writing(s, [recon_lock(r) for r in recons])


class ExceptionStore(ExceptionQueries):
    def __init__(self, store: Store, *, rules: Sequence[SeverityRule] = DEFAULT_SEVERITY) -> None:
        self.store = store
        self.rules = tuple(rules)

    # -- runs ----------------------------------------------------------------------------
    def record_run(
        self,
        recon: str,
        run_id: str,
        found: Sequence[ExceptionCandidate] | ExceptionRows,
        now: datetime,
        *,
        rules: Sequence[SeverityRule] | None = None,
        kinds: FieldKinds | None = None,
    ) -> RunDelta:
        """Classify this run's exceptions against earlier runs and persist them (one
        transaction, bulk statements). ``found``: candidates, or the engine's rows
        (``ReconResult.rows``), whose never-seen exceptions are inserted as they are.
        ``rules``: severity rules (default: the rows' definition's, else the store's); they
        are kept with the run in the run log, and the exception list sizes by them.
        ``kinds``: the definition's amount and currency fields (``display.kinds_of``), kept
        with the run so its amounts show their minor units wherever it was defined."""
        if isinstance(found, ExceptionRows):
            if found.recon != recon:
                raise WorkflowError(f"these exceptions belong to {found.recon}, not {recon}")
            rows = found
        else:
            for cand in found:
                if cand.recon != recon:
                    raise WorkflowError(f"candidate {cand.exception_id} belongs to {cand.recon}")
            names = list(dict.fromkeys(k for c in found for k in c.keys))
            if not all(_plain_keys(c, names) for c in found):
                return self._record_candidates(recon, run_id, found, now, rules, kinds=kinds)
            # no rules of their own: each new one's severity is computed as for objects
            rows = ExceptionRows(recon, names, [], ())
            rows.add_candidates(found)
            rules = tuple(rules) if rules is not None else self.rules
        # a candidate's own level is a floor: its calculator sized a finding with no amount
        floor = not isinstance(found, ExceptionRows)
        rec = self._recording(recon, run_id, now, rows, rules, floor=floor)
        # derived from the sources, so a run recorded again after a crash loses nothing: the
        # commit need not wait for the disk (Store.session)
        with gc_paused(), self.store.session(durable=False) as s:
            # before reading what the store knows: a concurrent run of the recon, or an
            # operator's action, waits for this one (and this one for it)
            lock_for_writing(s, [recon_lock(recon)])
            rec.begin(s, self._active_suppressions(s, recon, now))
            rec.add(s, rows.unordered())
            delta = rec.finish(s)
            s.add(run_entry(recon, run_id, now, delta.counts, rec.rules, kinds))
        log.info("exceptions recorded", recon=recon, run_id=run_id, **delta.counts)
        return delta

    def _recording(
        self,
        recon: str,
        run_id: str,
        now: datetime,
        rows: ExceptionRows,
        rules: Sequence[SeverityRule] | None,
        *,
        floor: bool = False,
    ) -> Recording:
        effective = tuple(rules) if rules is not None else rows.rules
        return Recording(recon, run_id, now, rows.key_names, rows.rules, effective, floor=floor)

    def _active_suppressions(self, s: Session, recon: str, now: datetime) -> list[Suppression]:
        return [x for x in self._suppressions(s, recon) if x.active(now)]

    def _record_candidates(
        self,
        recon: str,
        run_id: str,
        candidates: Sequence[ExceptionCandidate],
        now: datetime,
        rules: Sequence[SeverityRule] | None,
        *,
        kinds: FieldKinds | None = None,
    ) -> RunDelta:
        unique = list({c.exception_id: c for c in candidates}.values())
        with gc_paused(), self.store.session(durable=False) as s:
            lock_for_writing(s, [recon_lock(recon)])  # as record_run
            known = load_known(s, recon)
            sups = self._active_suppressions(s, recon, now)
            effective = tuple(rules or self.rules)
            plan = plan_run(
                recon, run_id, unique, known, sups, now, effective,
                resume=resume_statuses(s, recon),
            )  # fmt: skip
            write_plan(s, plan, run_id, now)
            s.add(run_entry(recon, run_id, now, plan.delta.counts, effective, kinds))
        log.info("exceptions recorded", recon=recon, run_id=run_id, **plan.delta.counts)
        return plan.delta

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
            codes = ", ".join(r.value for r in Reason if r != Reason.RESOLVED_BY_DATA)
            try:
                reason = Reason(str(reason).upper())
            except ValueError:
                raise WorkflowError(f"unknown reason {reason!r}; use one of {codes}") from None
            if reason == Reason.RESOLVED_BY_DATA:
                # runs set it when the break leaves the data; a person saying so would
                # hide a break that is still there until the next run
                raise WorkflowError(
                    f"{reason.value} is set by reconciliation runs only; use one of {codes}"
                )
        if to == Status.ASSIGNED and not owner:
            raise WorkflowError("assigning needs an owner")
        check_text("the owner", owner, OWNER_MAX)
        check_text("the actor", actor, ACTOR_MAX)
        check_text("the ticket", ticket, TICKET_MAX)
        check_text("the note", note)
        with self.store.session() as s:
            # the status is checked and changed under the recon's lock, read after it: a
            # concurrent action or run finishes first and this one sees its result
            _lock_recons(s, id_list)
            rows = {
                r.exception_id: r
                for r in s.scalars(
                    select(ExceptionRow)
                    .where(ExceptionRow.exception_id.in_(id_list))
                    .with_for_update()
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
        check_text("the owner", owner, OWNER_MAX)
        check_text("the actor", actor, ACTOR_MAX)
        check_text("the recon", recon, RECON_MAX)
        check_text("the reason", reason)
        check_text("the note", note)
        with self.store.session() as s:
            # statuses are checked and changed under the recons' locks, read after them: a
            # run or action of a recon in progress finishes first (its stale copy rewrote a
            # just-suppressed exception's status) and this one sees its result
            locked = self._lock_for_suppress(s, exception_id, recon)
            if exception_id is not None:
                target = s.get(ExceptionRow, exception_id, with_for_update=True)
                if target is None:
                    raise WorkflowError(f"no exception with id {exception_id}")
                if Status(target.status) in CLOSED:
                    # nothing to park: a success message would claim what did not happen
                    raise WorkflowError(
                        f"exception {exception_id[:12]} is {target.status}: only an active "
                        "exception can be suppressed (reopen it first)"
                    )
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
            # in someone's hands too: the owner stays, and it goes back to its status when
            # the suppression ends ("from" below)
            query = select(ExceptionRow).where(
                ExceptionRow.status.in_([x.value for x in SUPPRESSIBLE])
            )
            if recon is not None:
                query = query.where(ExceptionRow.recon == recon)
            else:
                # only the recons locked above: one whose first run was committed since is
                # parked by its next run (which reads this suppression)
                query = query.where(ExceptionRow.recon.in_(locked))
            if exception_id is not None:
                query = query.where(ExceptionRow.exception_id == exception_id)
            applied = 0
            for exc in s.scalars(query.with_for_update()):
                if not sup.covers(
                    recon=exc.recon,
                    exception_id=exc.exception_id,
                    category=exc.category,
                    key_text=exc.key_text,
                    amount=exc.amount,
                    currency=exc.currency,
                ):
                    continue
                before = exc.status
                exc.status = Status.SUPPRESSED
                applied += 1
                s.add(
                    ExceptionHistoryRow(
                        exception_id=exc.exception_id,
                        at=now,
                        event=Status.SUPPRESSED.value,
                        details={"suppression_id": sup.id, "reason": reason, "from": before},
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
        """Return SUPPRESSED exceptions no active suppression covers any more to the status
        they were suppressed from (audited in their history).

        Checked first without a lock (every ``exceptions`` command calls this: on SQLite a
        lock would wait for a run being recorded); only when some are due are their recons
        locked, as a run or an action locks them, and the exceptions read again after the
        locks: a run or action in progress finishes first, and what it changed is not
        overwritten from a stale copy."""
        with self.store.session() as s:
            due = self._due_to_expire(s, now, None)
        if not due:
            return []
        reopened = []
        with self.store.session() as s:
            lock_for_writing(s, [recon_lock(r) for r in sorted(set(due.values()))])
            resume = resume_statuses(s, None)
            for exc in self._due_rows(s, now, sorted(set(due.values()))):
                exc.status = resume.get(exc.exception_id, Status.OPEN.value)
                reopened.append(exc.exception_id)
                s.add(
                    ExceptionHistoryRow(
                        exception_id=exc.exception_id,
                        at=now,
                        event="SUPPRESSION_ENDED",
                        details={"to": exc.status},
                        actor=actor,
                    )
                )
        return reopened

    def _due_to_expire(
        self, s: Session, now: datetime, recons: Sequence[str] | None
    ) -> dict[str, str]:
        """SUPPRESSED exceptions (of ``recons``, or all) no active suppression covers:
        id -> recon."""
        return {r.exception_id: r.recon for r in self._due_rows(s, now, recons, lock=False)}

    def _due_rows(
        self, s: Session, now: datetime, recons: Sequence[str] | None, *, lock: bool = True
    ) -> list[ExceptionRow]:
        sups = [x for x in self._suppressions(s, None) if x.active(now)]
        query = select(ExceptionRow).where(ExceptionRow.status == Status.SUPPRESSED.value)
        if recons is not None:
            query = query.where(ExceptionRow.recon.in_(list(recons)))
        if lock:
            query = query.with_for_update()
        return [
            exc
            for exc in s.scalars(query)
            if not any(
                x.covers(
                    recon=exc.recon,
                    exception_id=exc.exception_id,
                    category=exc.category,
                    key_text=exc.key_text,
                    amount=exc.amount,
                    currency=exc.currency,
                )
                for x in sups
            )
        ]

    def _lock_for_suppress(
        self, s: Session, exception_id: str | None, recon: str | None
    ) -> list[str]:
        """Lock the recons a new suppression applies to now (that of ``exception_id``, else
        ``recon``, else every recon with exceptions); the recons locked."""
        if exception_id is not None:
            query = select(ExceptionRow.recon).where(ExceptionRow.exception_id == exception_id)
        elif recon is not None:
            lock_for_writing(s, [recon_lock(recon)])
            return [recon]
        else:
            query = select(ExceptionRow.recon).distinct()
        recons = sorted(set(s.scalars(query)))
        lock_for_writing(s, [recon_lock(r) for r in recons])
        return recons

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
