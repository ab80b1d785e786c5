"""The outbox: durable write intents and their append-only status history.

Status moves ``pending -> sent -> applied | already_applied | rejected | dead`` (and
``skipped`` by an audited manual action); every transition is a new ``outbox_events`` row
and ``outbox_intents.status`` mirrors the latest one for cheap queries. All functions take
an open session: the caller decides what commits together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billbridge.state.schema import OutboxEventRow, OutboxIntentRow
from canonical import WriteIntent, WriteOp, WriteResult

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
    key, so it is never queued twice.
    """
    if not intents:
        return []
    keys = [i.idempotency_key for i in intents]
    existing = set(
        session.scalars(
            select(OutboxIntentRow.idempotency_key).where(OutboxIntentRow.idempotency_key.in_(keys))
        )
    )
    seq = session.scalar(select(func.max(OutboxIntentRow.seq)).where(OutboxIntentRow.job == job))
    seq = seq or 0
    inserted: list[str] = []
    for intent in intents:
        if intent.idempotency_key in existing:
            continue
        existing.add(intent.idempotency_key)
        seq += 1
        session.add(
            OutboxIntentRow(
                idempotency_key=intent.idempotency_key,
                run_id=run_id,
                job=job,
                seq=seq,
                target_system=intent.target_system,
                entity=intent.entity,
                op=str(intent.op),
                action=intent.action,
                external_id=intent.external_id,
                business_number=intent.business_number,
                payload=intent.payload,
                payload_hash=intent.payload_hash(),
                source_system=intent.source_system,
                source_id=intent.source_id,
                source_version=intent.source_version,
                mapping_version=intent.mapping_version,
                created_at=now,
                status=PENDING,
                attempts=0,
                updated_at=now,
            )
        )
        inserted.append(intent.idempotency_key)
    session.flush()
    for key in inserted:
        session.add(OutboxEventRow(idempotency_key=key, status=PENDING, at=now, attempt=0))
    return inserted


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
