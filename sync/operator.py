"""Audited manual actions: redrive (retry) and skip an outbox intent, accept a change AR
handled by hand, release a job lease.

All need an actor and a ticket and write an ``audit_events`` row; retry and skip also append
an outbox event carrying them and close the intent's exception rows; accept closes the
record's ``SYNC_MANUAL_ACTION`` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, OutboxIntentRow
from sync import leases, outbox, snapshots
from sync.dead_letters import resolve_exceptions, resolve_manual

RETRYABLE_FROM = (outbox.DEAD, outbox.REJECTED)
SKIPPABLE_FROM = (outbox.DEAD, outbox.REJECTED, outbox.PENDING, outbox.SENT)


#: how long an operator's action holds its job's lease at most (it takes milliseconds)
ACTION_LEASE = timedelta(minutes=2)


@contextmanager
def _job_held(store: Store, job: str) -> Iterator[None]:
    """Hold ``job``'s lease while an operator changes its outbox or snapshots: a run of the
    job in flight could otherwise send an intent just skipped, or overwrite a status or a
    snapshot the action just wrote. A running job makes the action fail (LeaseBusy) and
    change nothing; the operator tries again when the run has finished."""
    with leases.Lease(store, job, ttl=ACTION_LEASE):
        yield


def _job_of(store: Store, key: str) -> str:
    with store.session() as s:
        return str(outbox.find(s, key).job)


def _require(actor: str, ticket: str) -> None:
    if not actor.strip() or not ticket.strip():
        raise ConfigError("an actor and a ticket reference are required for manual actions")


def redrive(
    store: Store,
    key: str,
    *,
    actor: str,
    ticket: str,
    note: str = "",
    now: datetime | None = None,
) -> str:
    """Put a dead or rejected intent back with a fresh attempt budget: a rejected one to
    ``pending``; a dead one to ``sent``, so it is looked up before it is sent again (its
    last outcome may be unknown: applied, with the answer lost).

    Refused when a later version of the same record writes the same part of the target
    record and was applied or is queued: sending this one would put the stale version over
    it. The redrive is sent under a fresh idempotency key (:func:`outbox.wire_key`)."""
    _require(actor, ticket)
    now = now or datetime.now(UTC)
    with _job_held(store, _job_of(store, key)), store.session() as s:
        row = outbox.find(s, key)
        if row.status not in RETRYABLE_FROM:
            raise ConfigError(
                f"intent {row.idempotency_key[:12]} is {row.status}; only dead or rejected "
                "intents can be retried"
            )
        newer = outbox.newer_writes(s, row)
        if newer:
            last = newer[-1]
            state = "was applied" if last.status in outbox.SUCCEEDED else "is queued"
            raise ConfigError(
                f"intent {row.idempotency_key[:12]} ({row.action or row.op} of "
                f"{row.external_id}, source record {row.source_id} version {row.source_version}) "
                f"is stale: {_later(row, last)} of the same record "
                f"({last.action or last.op}, intent {last.idempotency_key[:12]}) {state} and "
                "carries the newer content. Retrying would write the older version over it; "
                f"skip this intent instead (billbridge sync skip {row.idempotency_key[:12]})"
            )
        before = row.status
        row.attempts = 0
        _act(s, row, outbox.PENDING, "sync.retry", "redriven", actor, ticket, note, now)
        if before == outbox.DEAD:
            # Its last attempt may have been applied with no answer back (a timeout, a 409
            # in flight): ``sent`` makes the next run look it up (under the keys it went
            # out with) before it goes out again under the redrive's fresh key.
            outbox.transition(
                s,
                row,
                outbox.SENT,
                now,
                actor=actor,
                ticket=ticket,
                note="redriven: look it up before sending it again",
            )
        return row.idempotency_key


def skip_intent(
    store: Store,
    key: str,
    *,
    actor: str,
    ticket: str,
    note: str = "",
    now: datetime | None = None,
) -> str:
    """Mark an intent ``skipped`` (final): nobody will send it."""
    _require(actor, ticket)
    now = now or datetime.now(UTC)
    with _job_held(store, _job_of(store, key)), store.session() as s:
        row = outbox.find(s, key)
        if row.status not in SKIPPABLE_FROM:
            raise ConfigError(f"intent {row.idempotency_key[:12]} is {row.status}; nothing to skip")
        return _act(
            s,
            row,
            outbox.SKIPPED,
            "sync.skip",
            "skipped",
            actor,
            ticket,
            note,
            now,
            exception_status="WONT_FIX",
        )


def accept(
    store: Store,
    job: str,
    entity: str,
    source_id: str,
    *,
    actor: str,
    ticket: str,
    note: str = "",
    now: datetime | None = None,
) -> tuple[str, int]:
    """Record that the target now holds the record's held version (AR fixed it by hand):
    it becomes the synced snapshot, so the record's next change is planned from it and
    flows again. Closes its ``SYNC_MANUAL_ACTION`` rows. Returns (version, rows closed)."""
    _require(actor, ticket)
    now = now or datetime.now(UTC)
    with _job_held(store, job), store.session() as s:
        version = snapshots.accept_held(s, job, entity, source_id, now=now)
        if version is None:
            raise ConfigError(
                f"{entity} {source_id} of job {job} has no change held for manual handling "
                "(never held, already accepted, or its last version was written); "
                "nothing to accept"
            )
        closed = resolve_manual(
            s, job, entity, source_id, actor=actor, now=now, note=f"accepted ({ticket})"
        )
        s.add(
            AuditEventRow(
                at=now,
                actor=actor,
                action="sync.accept",
                subject_type="sync_snapshot",
                subject_id=f"{job}:{entity}:{source_id}",
                ticket=ticket,
                note=note or None,
                details={"source_version": version, "exceptions_resolved": closed},
            )
        )
    return version, closed


def release_lease(
    store: Store,
    job: str,
    *,
    actor: str,
    ticket: str,
    note: str = "",
    now: datetime | None = None,
) -> tuple[str | None, datetime | None]:
    """Free ``job``'s lease (a holder that died on another host); returns who held it and
    until when. Audited with the holder, so a wrongly released live run can be traced."""
    _require(actor, ticket)
    now = now or datetime.now(UTC)
    row = leases.current(store, job)
    until = row.expires_at if row else None
    holder = leases.force_release(store, job)
    with store.session() as s:
        s.add(
            AuditEventRow(
                at=now,
                actor=actor,
                action="sync.release_lease",
                subject_type="job_lease",
                subject_id=job,
                ticket=ticket,
                note=note or None,
                details={"holder": holder, "until": until.isoformat() if until else None},
            )
        )
    return holder, until


def _act(
    s: Session,
    row: OutboxIntentRow,
    to: str,
    action: str,
    verb: str,
    actor: str,
    ticket: str,
    note: str,
    now: datetime,
    *,
    exception_status: str = "RESOLVED",
) -> str:
    """One audited operator action: the outbox transition, its audit event, and the intent's
    exceptions closed on the AR report."""
    before = row.status
    outbox.transition(
        s,
        row,
        to,
        now,
        actor=actor,
        ticket=ticket,
        note=f"{verb} from {before}: {note}".rstrip(": "),
    )
    s.add(
        AuditEventRow(
            at=now,
            actor=actor,
            action=action,
            subject_type="outbox_intent",
            subject_id=row.idempotency_key,
            ticket=ticket,
            note=note or None,
            details=outbox.summary(row) | {"from_status": before},
        )
    )
    resolve_exceptions(
        s,
        row.idempotency_key,
        actor=actor,
        now=now,
        note=f"{verb} ({ticket})",
        status=exception_status,
    )
    return row.idempotency_key


def _later(row: OutboxIntentRow, last: OutboxIntentRow) -> str:
    """How the newer write is named: its version, or a later save of the same version
    (two saves in one second share their version token)."""
    if last.source_version == row.source_version:
        return f"a later save (same version {last.source_version})"
    return f"version {last.source_version}"
