"""The outbox: durable write intents and their append-only status history.

Status moves ``pending -> sent -> applied | already_applied | rejected | dead`` (and
``skipped`` by an audited manual action); every transition is a new ``outbox_events`` row
and ``outbox_intents.status`` mirrors the latest one for cheap queries. All functions take
an open session: the caller decides what commits together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from billbridge.state.schema import OutboxEventRow, OutboxIntentRow
from billbridge.state.types import UTCDateTime
from canonical import WriteIntent, WriteOp, WriteResult

INTENTS = cast(Table, OutboxIntentRow.__table__)
EVENTS = cast(Table, OutboxEventRow.__table__)

PENDING, SENT = "pending", "sent"
APPLIED, ALREADY_APPLIED, REJECTED, DEAD, SKIPPED = (
    "applied",
    "already_applied",
    "rejected",
    "dead",
    "skipped",
)
OPEN = (PENDING, SENT)
TERMINAL = (APPLIED, ALREADY_APPLIED, REJECTED, DEAD, SKIPPED)
SUCCEEDED = (APPLIED, ALREADY_APPLIED)


def enqueue(
    session: Session, job: str, run_id: str, intents: Sequence[WriteIntent], now: datetime
) -> list[str]:
    """Insert intents as ``pending``; keys already in the outbox are left as they are.

    Returns the keys inserted. The same change planned again (after a crash) has the same
    key, so it is never queued twice. Bulk INSERTs: a window can hold thousands of intents.
    """
    if not intents:
        return []
    existing = set(statuses(session, [i.idempotency_key for i in intents]))
    seq = session.scalar(select(func.max(OutboxIntentRow.seq)).where(OutboxIntentRow.job == job))
    seq = seq or 0
    rows: list[dict[str, Any]] = []
    for intent in intents:
        if intent.idempotency_key in existing:
            continue
        existing.add(intent.idempotency_key)
        seq += 1
        rows.append(
            {
                "idempotency_key": intent.idempotency_key,
                "run_id": run_id,
                "job": job,
                "seq": seq,
                "target_system": intent.target_system,
                "entity": intent.entity,
                "op": str(intent.op),
                "action": intent.action,
                "external_id": intent.external_id,
                "business_number": intent.business_number,
                "payload": intent.payload,
                "payload_hash": intent.payload_hash(),
                "source_system": intent.source_system,
                "source_id": intent.source_id,
                "source_version": intent.source_version,
                "mapping_version": intent.mapping_version,
                "created_at": now,
                "status": PENDING,
                "attempts": 0,
                "updated_at": now,
            }
        )
    if rows:
        # Core inserts on the tables: the ORM's bulk path costs more than the SQL at 10k rows.
        session.execute(insert(INTENTS), rows)
        session.execute(
            insert(EVENTS),
            [
                {
                    "idempotency_key": r["idempotency_key"],
                    "status": PENDING,
                    "at": now,
                    "attempt": 0,
                }
                for r in rows
            ],
        )
    return [r["idempotency_key"] for r in rows]


def _chunks(keys: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def statuses(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """Current status of each key that is in the outbox (no payloads loaded)."""
    out: dict[str, str] = {}
    for chunk in _chunks(list(keys)):
        stmt = select(OutboxIntentRow.idempotency_key, OutboxIntentRow.status).where(
            OutboxIntentRow.idempotency_key.in_(chunk)
        )
        out.update({str(k): str(v) for k, v in session.execute(stmt)})
    return out


@dataclass(frozen=True)
class State:
    """The columns the runner decides on, without the payload."""

    key: str
    status: str
    attempts: int
    op: str
    action: str | None
    entity: str
    source_id: str
    source_version: str

    @property
    def is_create(self) -> bool:
        return self.op == "create" or self.action == "CreateSubscription"


def states(session: Session, keys: Sequence[str]) -> dict[str, State]:
    t = OutboxIntentRow
    out: dict[str, State] = {}
    for chunk in _chunks(list(keys)):
        stmt = select(
            t.idempotency_key,
            t.status,
            t.attempts,
            t.op,
            t.action,
            t.entity,
            t.source_id,
            t.source_version,
        ).where(t.idempotency_key.in_(chunk))
        for row in session.execute(stmt):
            out[row[0]] = State(*row)
    return out


@dataclass
class Change:
    key: str
    status: str
    result: WriteResult | None = None
    count_attempt: bool = False
    note: str | None = None


def mark_sent(session: Session, keys: Sequence[str], now: datetime) -> None:
    """``sent`` plus one attempt for ``keys``: two set-based statements, no round trips."""
    for chunk in _chunks(list(keys)):
        session.execute(
            update(OutboxIntentRow)
            .where(OutboxIntentRow.idempotency_key.in_(chunk))
            .values(status=SENT, attempts=OutboxIntentRow.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        rows = select(
            OutboxIntentRow.idempotency_key,
            literal(SENT, String()),
            literal(now, UTCDateTime()),
            OutboxIntentRow.attempts,
        ).where(OutboxIntentRow.idempotency_key.in_(chunk))
        session.execute(
            insert(OutboxEventRow).from_select(["idempotency_key", "status", "at", "attempt"], rows)
        )


def apply_changes(
    session: Session,
    changes: Sequence[Change],
    now: datetime,
    *,
    current: dict[str, State] | None = None,
) -> None:
    """Many transitions at once: UPDATE by primary key, one event row each (bulk)."""
    if not changes:
        return
    if current is None:
        current = states(session, [c.key for c in changes])
    updates: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for c in changes:
        attempts = current[c.key].attempts + (1 if c.count_attempt else 0)
        res = c.result
        update_row: dict[str, Any] = {
            "idempotency_key": c.key,
            "status": c.status,
            "attempts": attempts,
            "updated_at": now,
        }
        if res is not None and res.target_id:
            update_row["target_id"] = res.target_id
        updates.append(update_row)
        events.append(
            {
                "idempotency_key": c.key,
                "status": c.status,
                "at": now,
                "attempt": attempts,
                "target_id": res.target_id if res else None,
                "error_code": res.error_code if res else None,
                "message": (res.message if res else None) or c.note,
                "failure_type": str(res.failure_type) if res and res.failure_type else None,
            }
        )
    for with_target in (True, False):
        group = [
            {**u, "key": u.pop("idempotency_key")}
            for u in updates
            if ("target_id" in u) == with_target
        ]
        if group:
            values: dict[str, Any] = {c: bindparam(c) for c in group[0] if c != "key"}
            stmt = update(INTENTS).where(INTENTS.c.idempotency_key == bindparam("key"))
            session.execute(stmt.values(values), group)
    session.execute(insert(EVENTS), events)


def to_intent(row: OutboxIntentRow) -> WriteIntent:
    return WriteIntent(
        idempotency_key=row.idempotency_key,
        target_system=row.target_system,
        entity=row.entity,
        op=WriteOp(row.op),
        external_id=row.external_id,
        payload=row.payload,
        source_system=row.source_system,
        source_id=row.source_id,
        source_version=row.source_version,
        mapping_version=row.mapping_version,
        business_number=row.business_number,
        action=row.action,
    )


def open_rows(session: Session, job: str) -> list[OutboxIntentRow]:
    """Unfinished intents of ``job`` (any run), in the order they were planned."""
    stmt = (
        select(OutboxIntentRow)
        .where(OutboxIntentRow.job == job, OutboxIntentRow.status.in_(OPEN))
        .order_by(OutboxIntentRow.seq)
    )
    return list(session.scalars(stmt))


def open_keys(session: Session, job: str) -> list[tuple[str, str]]:
    """(key, status) of unfinished intents of ``job`` in planned order, without payloads."""
    stmt = (
        select(OutboxIntentRow.idempotency_key, OutboxIntentRow.status)
        .where(OutboxIntentRow.job == job, OutboxIntentRow.status.in_(OPEN))
        .order_by(OutboxIntentRow.seq)
    )
    return [(str(k), str(st)) for k, st in session.execute(stmt)]


def failed_parents(session: Session, job: str, external_ids: Iterable[str]) -> set[str]:
    """Parent external ids whose latest intent (by planned order) was rejected or dead."""
    from sync.batching import PARENT_ENTITIES

    latest: dict[str, str] = {}
    for chunk in _chunks(sorted(set(external_ids))):
        stmt = (
            select(OutboxIntentRow.external_id, OutboxIntentRow.status)
            .where(
                OutboxIntentRow.job == job,
                OutboxIntentRow.entity.in_(PARENT_ENTITIES),
                OutboxIntentRow.external_id.in_(chunk),
            )
            .order_by(OutboxIntentRow.seq)
        )
        latest.update({str(ext): str(st) for ext, st in session.execute(stmt)})
    return {ext for ext, st in latest.items() if st in (REJECTED, DEAD)}


def intents_by_key(session: Session, keys: Sequence[str]) -> dict[str, WriteIntent]:
    out: dict[str, WriteIntent] = {}
    for chunk in _chunks(list(keys)):
        stmt = select(OutboxIntentRow).where(OutboxIntentRow.idempotency_key.in_(chunk))
        out.update({r.idempotency_key: to_intent(r) for r in session.scalars(stmt)})
    return out


def count_open(session: Session, job: str) -> int:
    stmt = select(func.count()).where(OutboxIntentRow.job == job, OutboxIntentRow.status.in_(OPEN))
    return int(session.scalar(stmt) or 0)


def rows_by_key(session: Session, keys: Iterable[str]) -> dict[str, OutboxIntentRow]:
    keys = list(keys)
    if not keys:
        return {}
    stmt = select(OutboxIntentRow).where(OutboxIntentRow.idempotency_key.in_(keys))
    return {r.idempotency_key: r for r in session.scalars(stmt)}


def transition(
    session: Session,
    row: OutboxIntentRow,
    status: str,
    now: datetime,
    *,
    result: WriteResult | None = None,
    note: str | None = None,
    actor: str | None = None,
    ticket: str | None = None,
    count_attempt: bool = False,
) -> None:
    """Move ``row`` to ``status`` and append the event row that records why."""
    if count_attempt:
        row.attempts += 1
    row.status = status
    row.updated_at = now
    if result is not None and result.target_id:
        row.target_id = result.target_id
    session.add(
        OutboxEventRow(
            idempotency_key=row.idempotency_key,
            status=status,
            at=now,
            attempt=row.attempts,
            target_id=result.target_id if result else None,
            error_code=result.error_code if result else None,
            message=(result.message if result else None) or note,
            failure_type=str(result.failure_type) if result and result.failure_type else None,
            actor=actor,
            ticket=ticket,
        )
    )


def history(session: Session, key: str) -> list[OutboxEventRow]:
    stmt = (
        select(OutboxEventRow)
        .where(OutboxEventRow.idempotency_key == key)
        .order_by(OutboxEventRow.id)
    )
    return list(session.scalars(stmt))


def find(session: Session, key_or_prefix: str) -> OutboxIntentRow:
    """An intent by its key or an unambiguous key prefix (at least 8 characters)."""
    from billbridge.errors import ConfigError

    if len(key_or_prefix) < 8:
        raise ConfigError(f"intent key {key_or_prefix!r} is too short; give 8+ characters")
    stmt = select(OutboxIntentRow).where(OutboxIntentRow.idempotency_key.like(f"{key_or_prefix}%"))
    rows = list(session.scalars(stmt.limit(2)))
    if not rows:
        raise ConfigError(f"no outbox intent with key {key_or_prefix!r}")
    if len(rows) > 1:
        raise ConfigError(f"intent key prefix {key_or_prefix!r} is ambiguous; give more of it")
    return rows[0]


def summary(row: OutboxIntentRow) -> dict[str, Any]:
    """Ids and keys of an intent, never the payload values (they may hold personal data)."""
    return {
        "idempotency_key": row.idempotency_key,
        "job": row.job,
        "entity": row.entity,
        "op": row.op,
        "action": row.action,
        "external_id": row.external_id,
        "source_id": row.source_id,
        "source_version": row.source_version,
        "payload_keys": sorted(row.payload),
        "attempts": row.attempts,
    }
