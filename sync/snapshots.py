"""Last planned version of every synced source record (table ``sync_snapshots``).

A snapshot is written in the same transaction that commits the record's intents to the
outbox, so replanning after a crash finds no change and queues nothing twice. When a
record's create is rejected or dead, its snapshot is dropped so a corrected version is
planned as a create again (the external id keeps that from duplicating).

A version held for manual handling (``SYNC_MANUAL_ACTION``) leaves the snapshot at the
content the target has; the held version itself is kept beside it (entity ``<entity>#held``,
never read by change detection) until an operator accepts it (:func:`accept_held`, after
fixing the target by hand): then it becomes the snapshot and later changes flow again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, Text, bindparam, insert, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from billbridge.state.schema import SyncSnapshotRow
from canonical import ENTITIES, Contract, Customer, Record
from sync.events import content_hash, content_hash_of


def model_for(entity: str) -> type[Record]:
    return Customer if entity == "customer" else ENTITIES.get(entity, Contract)


_t = SyncSnapshotRow
# Built once: the ids are one expanding parameter, not coerced into a new statement per call.
_DIGESTS = select(_t.source_id, _t.content_hash, sql_cast(_t.record, Text)).where(
    _t.job == bindparam("job"),
    _t.entity == bindparam("entity"),
    _t.source_id.in_(bindparam("ids", expanding=True)),
)


def digests(
    session: Session, job: str, entity: str, ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """source id -> (content hash, stored record as JSON text): the caller parses only the
    records whose hash differs (``model_validate_json``), unchanged ones cost no decoding."""
    out: dict[str, tuple[str, str]] = {}
    for chunk in range(0, len(ids), 500):
        params = {"job": job, "entity": entity, "ids": ids[chunk : chunk + 500]}
        rows = session.execute(_DIGESTS, params)
        out.update({str(sid): (str(h), str(text)) for sid, h, text in rows})
    return out


def save(
    session: Session, job: str, entity: str, record: Record, *, run_id: str, now: datetime
) -> None:
    row = session.get(SyncSnapshotRow, (job, entity, record.source_id))
    data = record.model_dump(mode="json")
    if row is None:
        session.add(
            SyncSnapshotRow(
                job=job,
                entity=entity,
                source_id=record.source_id,
                source_version=record.version_token(),
                content_hash=content_hash(record),
                record=data,
                run_id=run_id,
                updated_at=now,
            )
        )
        return
    row.source_version = record.version_token()
    row.content_hash = content_hash(record)
    row.record = data
    row.run_id = run_id
    row.updated_at = now


class Snapshot(NamedTuple):
    """One record to remember; ``digest`` and ``data`` when the caller has them already."""

    entity: str
    record: Record
    exists: bool
    digest: str | None = None
    #: the record's ``model_dump(mode="json")``
    data: dict[str, Any] | None = None


def save_many(
    session: Session, job: str, items: Sequence[Snapshot], *, run_id: str, now: datetime
) -> None:
    """Bulk :func:`save`: one INSERT for new rows, one UPDATE by key for the others."""
    new: list[dict[str, Any]] = []
    old: list[dict[str, Any]] = []
    for entity, record, exists, digest, dumped in items:
        data = record.model_dump(mode="json") if dumped is None else dumped
        row = {
            "job": job,
            "entity": entity,
            "source_id": record.source_id,
            "source_version": record.version_token(),
            "content_hash": digest or content_hash_of(data),
            "record": data,
            "run_id": run_id,
            "updated_at": now,
        }
        (old if exists else new).append(row)
    table = cast(Table, SyncSnapshotRow.__table__)
    if new:
        session.execute(insert(table), new)
    if old:
        keys = ("job", "entity", "source_id")
        stmt = update(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
        values: dict[str, Any] = {c: bindparam(c) for c in old[0] if c not in keys}
        session.execute(stmt.values(values), [{**r, **{f"k_{k}": r[k] for k in keys}} for r in old])


def drop(session: Session, job: str, entity: str, source_id: str, source_version: str) -> None:
    """Forget a record whose create failed for good, if the snapshot is still that version."""
    row = session.get(SyncSnapshotRow, (job, entity, source_id))
    if row is not None and row.source_version == source_version:
        session.delete(row)


#: suffix of the entity of a held version's row (beside the snapshot, never diffed)
HELD = "#held"


def save_held(
    session: Session, job: str, items: Sequence[Snapshot], *, run_id: str, now: datetime
) -> None:
    """Keep each held version (the newest replaces an older one) for :func:`accept_held`."""
    for entity, record, _exists, digest, dumped in items:
        data = record.model_dump(mode="json") if dumped is None else dumped
        key = (job, entity + HELD, record.source_id)
        row = session.get(SyncSnapshotRow, key)
        if row is None:
            row = SyncSnapshotRow(job=job, entity=entity + HELD, source_id=record.source_id)
            session.add(row)
        row.source_version = record.version_token()
        row.content_hash = digest or content_hash_of(data)
        row.record = data
        row.run_id = run_id
        row.updated_at = now


def accept_held(
    session: Session, job: str, entity: str, source_id: str, *, now: datetime
) -> str | None:
    """Make the held version the snapshot (the target was fixed to hold it); returns its
    source version, or None when the record's last version read is not held."""
    snap = session.get(SyncSnapshotRow, (job, entity, source_id))
    held = session.get(SyncSnapshotRow, (job, entity + HELD, source_id))
    if snap is None or held is None or held.content_hash != snap.content_hash:
        return None  # written normally since (or never held): nothing to accept
    snap.record = held.record
    snap.source_version = held.source_version
    snap.updated_at = now
    session.delete(held)
    return held.source_version
