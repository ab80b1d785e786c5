"""The outbox: durable write intents and their append-only status history.

Status moves ``pending -> sent -> applied | already_applied | rejected | dead`` (and
``skipped`` by an audited manual action); every transition is a new ``outbox_events`` row
and ``outbox_intents.status`` mirrors the latest one for cheap queries. All functions take
an open session: the caller decides what commits together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, Text, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from billbridge import logs
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
    session: Session,
    job: str,
    run_id: str,
    intents: Sequence[WriteIntent],
    now: datetime,
    *,
    known: dict[str, str] | None = None,
    after_seq: int | None = None,
) -> list[str]:
    """Insert intents as ``pending``; keys already in the outbox are left as they are.

    Returns the keys inserted. The same change planned again (after a crash) has the same
    key, so it is never queued twice. Bulk INSERTs: a window can hold thousands of intents.
    ``known``: :func:`statuses` of these keys, when the caller read them in this session;
    ``after_seq``: the job's last ``seq`` (:func:`last_seq`), when the caller keeps count.
    """
    if not intents:
        return []
    if known is None:
        known = statuses(session, [i.idempotency_key for i in intents])
    existing = set(known)
    seq = last_seq(session, job) if after_seq is None else after_seq
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


def last_seq(session: Session, job: str) -> int:
    """The planned-order number of the job's newest intent (0 when it has none)."""
    stmt = select(func.max(OutboxIntentRow.seq)).where(OutboxIntentRow.job == job)
    return int(session.scalar(stmt) or 0)


def _chunks(keys: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


# Statements on many keys are built once, with the keys as one expanding parameter: built
# per call, ``in_(keys)`` coerces every key into the statement (a cost per key, per call).
_key = INTENTS.c.idempotency_key
_keys: BindParameter[list[str]] = bindparam("keys", expanding=True)
_now = bindparam("now", type_=UTCDateTime())
_STATUSES = select(_key, INTENTS.c.status).where(_key.in_(_keys))


def statuses(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """Current status of each key that is in the outbox (no payloads loaded)."""
    out: dict[str, str] = {}
    for chunk in _chunks(list(keys)):
        out.update({str(k): str(v) for k, v in session.execute(_STATUSES, {"keys": chunk})})
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


_STATES = select(  # in State's field order
    _key,
    INTENTS.c.status,
    INTENTS.c.attempts,
    INTENTS.c.op,
    INTENTS.c.action,
    INTENTS.c.entity,
    INTENTS.c.source_id,
    INTENTS.c.source_version,
).where(_key.in_(_keys))


def states(session: Session, keys: Sequence[str]) -> dict[str, State]:
    out: dict[str, State] = {}
    for chunk in _chunks(list(keys)):
        for row in session.execute(_STATES, {"keys": chunk}):
            out[row[0]] = State(*row)
    return out


@dataclass
class Change:
    key: str
    status: str
    result: WriteResult | None = None
    count_attempt: bool = False
    note: str | None = None


def _moved(status: str, attempts: int) -> tuple[Any, Any]:
    """UPDATE of ``keys`` to ``status`` (attempts moved by ``attempts``), and the INSERT of
    their event rows from the updated rows: set-based, nothing per key in Python."""
    moved = (
        update(INTENTS)
        .where(_key.in_(_keys))
        .values(status=status, attempts=INTENTS.c.attempts + attempts, updated_at=_now)
    )
    rows = select(
        _key, literal(status, String()), _now, INTENTS.c.attempts, bindparam("note", type_=Text())
    ).where(_key.in_(_keys))
    events = insert(EVENTS).from_select(
        ["idempotency_key", "status", "at", "attempt", "message"], rows
    )
    return moved, events


_MARK_SENT = _moved(SENT, +1)
_UNMARK_SENT = _moved(PENDING, -1)


def mark_sent(session: Session, keys: Sequence[str], now: datetime) -> None:
    """``sent`` plus one attempt for ``keys``: two set-based statements, no round trips."""
    for chunk in _chunks(list(keys)):
        for stmt in _MARK_SENT:
            session.execute(stmt, {"keys": chunk, "now": now, "note": None})


def unmark_sent(session: Session, keys: Sequence[str], now: datetime, note: str) -> None:
    """Back to ``pending`` (and the attempt uncounted) for ``sent`` keys whose batch was
    committed ahead of the workers but never handed to one: their request never left."""
    for chunk in _chunks(list(keys)):
        # Only rows still ``sent``: an operator may have skipped one meanwhile.
        sent = [k for k, st in statuses(session, chunk).items() if st == SENT]
        for stmt in _UNMARK_SENT if sent else ():
            session.execute(stmt, {"keys": sent, "now": now, "note": note})


_SET = {
    "status": bindparam("st"),
    "attempts": bindparam("n"),
    "updated_at": bindparam("at", type_=UTCDateTime()),
}
_UPDATE = update(INTENTS).where(_key == bindparam("k")).values(_SET)
_UPDATE_TARGET = _UPDATE.values(target_id=bindparam("tid"))


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
    plain: list[dict[str, Any]] = []
    targeted: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for c in changes:
        attempts = current[c.key].attempts + (1 if c.count_attempt else 0)
        res = c.result
        target_id = res.target_id if res is not None else None
        row = {"k": c.key, "st": c.status, "n": attempts, "at": now}
        if target_id:
            row["tid"] = target_id
            targeted.append(row)
        else:
            plain.append(row)
        events.append(
            {
                "idempotency_key": c.key,
                "status": c.status,
                "at": now,
                "attempt": attempts,
                "target_id": target_id,
                "error_code": res.error_code if res else None,
                "message": _message(res, c.note),
                "failure_type": str(res.failure_type) if res and res.failure_type else None,
            }
        )
    for stmt, rows in ((_UPDATE_TARGET, targeted), (_UPDATE, plain)):
        if rows:
            session.execute(stmt, rows)
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

    # Only ids with a failed intent at all can qualify. Failed rows are few and the status
    # index finds them; the per-id history below then reads few rows, not the job's all.
    ever = select(OutboxIntentRow.job, OutboxIntentRow.entity, OutboxIntentRow.external_id).where(
        OutboxIntentRow.status.in_((REJECTED, DEAD))
    )
    wanted = set(external_ids)
    candidates = {
        str(ext)
        for j, entity, ext in session.execute(ever)
        if j == job and entity in PARENT_ENTITIES and ext in wanted
    }
    latest: dict[str, str] = {}
    for chunk in _chunks(sorted(candidates)):
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


def _message(result: WriteResult | None, note: str | None) -> str | None:
    """An event row's message: the vendor's reason (its error text may echo a credential
    it was sent, and the row is append-only) scrubbed, else the note."""
    text = (result.message if result else None) or note
    return logs.scrub_vendor_text(text) if text else text


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
            message=_message(result, note),
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


def target_part(row: OutboxIntentRow) -> str:
    """What of the target record an intent writes: a contract line (Zuora product actions
    carry it as ``uniqueToken``), else its whole action (create, terms, cancel, upsert)."""
    body = (row.payload or {}).get("body") or {}
    for field in ("addProduct", "updateProduct", "removeProduct"):
        token = (body.get(field) or {}).get("uniqueToken")
        if token:
            return f"line {token}"
    return row.action or row.op


def newer_writes(session: Session, row: OutboxIntentRow) -> list[OutboxIntentRow]:
    """Later intents of ``row``'s source record that write the same part of the same
    target record and were applied or are still queued: ``row`` is stale. Later by outbox
    order, not by version: two saves in one second share their version token, and the
    second one's write (a key of its own) carries the newer content all the same."""
    stmt = (
        select(OutboxIntentRow)
        .where(
            OutboxIntentRow.job == row.job,
            OutboxIntentRow.entity == row.entity,
            OutboxIntentRow.external_id == row.external_id,
            OutboxIntentRow.source_id == row.source_id,
            OutboxIntentRow.idempotency_key != row.idempotency_key,
            OutboxIntentRow.seq > row.seq,
            OutboxIntentRow.status.in_((*SUCCEEDED, *OPEN)),
        )
        .order_by(OutboxIntentRow.seq)
    )
    part = target_part(row)
    return [r for r in session.scalars(stmt) if target_part(r) == part]


#: the outbox event of an operator's redrive: back to ``pending``, with who and why
_REDRIVES = (
    select(EVENTS.c.idempotency_key, func.count())
    .where(
        EVENTS.c.idempotency_key.in_(bindparam("keys", expanding=True)),
        EVENTS.c.status == PENDING,
        EVENTS.c.actor.is_not(None),
    )
    .group_by(EVENTS.c.idempotency_key)
)


def redrives(session: Session, keys: Sequence[str]) -> dict[str, int]:
    """How often each of ``keys`` was redriven by an operator (keys never redriven are
    absent): the count is in the outbox as the audited ``pending`` events."""
    out: dict[str, int] = {}
    for chunk in _chunks(list(keys)):
        out.update({str(k): int(n) for k, n in session.execute(_REDRIVES, {"keys": chunk})})
    return out


def wire_key(key: str, redriven: int) -> str:
    """The idempotency key an intent is sent with. A redrive sends under a fresh key: the
    vendor stored the rejected answer under the old one (Zuora replays it for 24 h), so
    the same key would only get the rejection back. A resend after an unknown outcome (no
    redrive in between) keeps the key, so the vendor deduplicates it."""
    if not redriven:
        return key
    return hashlib.sha256(f"{key}\x1fredrive\x1f{redriven}".encode()).hexdigest()


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
