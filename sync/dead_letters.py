"""Dead and rejected intents, and changes needing manual handling, on the AR exception
report (tables exceptions/exception_history).

The exception id is stable (derived from the idempotency key, or for a manual change from
the record and its version), so a redriven intent that dies again, or a record version read
again, updates the same row instead of adding another.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billbridge import logs
from billbridge.state.schema import ExceptionHistoryRow, ExceptionRow, OutboxIntentRow
from canonical import WriteResult
from sync.outbox import summary
from sync.planner import PlannedChange

DEAD_LETTER = "SYNC_DEAD_LETTER"
REJECTED = "SYNC_REJECTED"
#: a source change the sync refused to write (deleted deal, ...): someone fixes the target
MANUAL = "SYNC_MANUAL_ACTION"


def exception_id(category: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{category}\x1f{idempotency_key}".encode()).hexdigest()


def record_exception(
    session: Session,
    category: str,
    row: OutboxIntentRow,
    result: WriteResult | None,
    *,
    run_id: str,
    now: datetime,
) -> str:
    details = summary(row) | {
        "vendor_code": result.error_code if result else None,
        # the vendor's reason, on the AR report: scrubbed of any credential it echoes
        "message": logs.scrub_vendor_text(result.message) if result and result.message else None,
        "failure_type": str(result.failure_type) if result and result.failure_type else None,
        "last_attempt_at": now.isoformat(),
    }
    keys = {
        "job": row.job,
        "external_id": row.external_id,
        "source_id": row.source_id,
        "idempotency_key": row.idempotency_key,
    }
    fingerprint = _fingerprint({k: details[k] for k in ("vendor_code", "message", "attempts")})
    ex_id = exception_id(category, row.idempotency_key)
    return _upsert(session, ex_id, category, row.job, keys, details, fingerprint, run_id, now)


def record_manual(
    session: Session, job: str, change: PlannedChange, *, run_id: str, now: datetime
) -> str:
    """Put a change the sync will not write (``change.manual``) on the exception report."""
    keys = {"job": job, "entity": change.entity, "source_id": change.source_id}
    details = keys | {
        "label": change.label,
        "source_version": change.source_version,
        "message": "; ".join(change.manual),
        "failure_type": "data",
        "action": "not written: handle it in the target by hand, then resolve this row",
        "last_attempt_at": now.isoformat(),
    }
    record = (job, change.entity, change.source_id, change.source_version)
    ex_id = exception_id(MANUAL, "\x1f".join(record))
    fingerprint = _fingerprint({"message": details["message"]})
    return _upsert(session, ex_id, MANUAL, job, keys, details, fingerprint, run_id, now)


def _fingerprint(data: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _upsert(
    session: Session,
    ex_id: str,
    category: str,
    job: str,
    keys: dict[str, Any],
    details: dict[str, Any],
    fingerprint: str,
    run_id: str,
    now: datetime,
) -> str:
    existing = session.get(ExceptionRow, ex_id)
    if existing is None:
        session.add(
            ExceptionRow(
                exception_id=ex_id,
                recon=f"sync:{job}",
                category=category,
                keys=keys,
                key_text=", ".join(f"{k}={v}" for k, v in sorted(keys.items())),
                fingerprint=fingerprint,
                details=details,
                severity="high",
                amount=None,
                currency=None,
                first_seen=now,
                last_seen=now,
                times_seen=1,
                run_state="NEW",
                status="OPEN",
                owner=None,
                last_run_id=run_id,
            )
        )
        event = "opened"
    else:
        existing.last_seen = now
        existing.times_seen += 1
        existing.details = details
        existing.fingerprint = fingerprint
        existing.last_run_id = run_id
        event = "reopened" if existing.status != "OPEN" else "seen"
        existing.run_state = "REOPENED" if existing.status != "OPEN" else "STILL_OPEN"
        existing.status = "OPEN"
        existing.resolved_at = None
    session.add(
        ExceptionHistoryRow(
            exception_id=ex_id,
            run_id=run_id,
            at=now,
            event=event,
            fingerprint=fingerprint,
            details=details,
        )
    )
    return ex_id


def resolve_exceptions(
    session: Session,
    idempotency_key: str,
    *,
    actor: str,
    note: str,
    now: datetime,
    status: str = "RESOLVED",
) -> None:
    """Close the intent's exception rows (after an audited retry or skip)."""
    for category in (DEAD_LETTER, REJECTED):
        row = session.get(ExceptionRow, exception_id(category, idempotency_key))
        if row is None or row.status != "OPEN":
            continue
        row.status = status  # RESOLVED after a redrive, WONT_FIX after a skip
        row.resolved_at = now
        session.add(
            ExceptionHistoryRow(
                exception_id=row.exception_id, at=now, event="resolved", actor=actor, note=note
            )
        )


def resolve_manual(
    session: Session, job: str, entity: str, source_id: str, *, actor: str, note: str, now: datetime
) -> int:
    """Close the record's open ``SYNC_MANUAL_ACTION`` rows (its versions held so far)."""
    rows = open_manual(session, job)
    closed = 0
    for row in rows:
        if row.keys.get("entity") != entity or row.keys.get("source_id") != source_id:
            continue
        row.status = "RESOLVED"
        row.resolved_at = now
        session.add(
            ExceptionHistoryRow(
                exception_id=row.exception_id, at=now, event="resolved", actor=actor, note=note
            )
        )
        closed += 1
    return closed


def open_manual(session: Session, job: str) -> list[ExceptionRow]:
    """The job's open changes needing manual handling, oldest first."""
    from sqlalchemy import select

    stmt = (
        select(ExceptionRow)
        .where(
            ExceptionRow.recon == f"sync:{job}",
            ExceptionRow.status == "OPEN",
            ExceptionRow.category == MANUAL,
        )
        .order_by(ExceptionRow.first_seen)
    )
    return list(session.scalars(stmt))
