"""Per-job, per-stream read cursors (table ``cursors``).

A cursor only moves inside the transaction that makes the window's last intent terminal
(or, for a window with nothing to write, right after it was read).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billbridge.state.schema import CursorRow
from connectors.base import Cursor


def load(session: Session, job: str) -> dict[str, Cursor | None]:
    rows = session.scalars(select(CursorRow).where(CursorRow.job == job))
    return {row.stream: Cursor.from_json(row.cursor) for row in rows}


def save(
    session: Session, job: str, stream: str, cursor: Cursor | None, *, run_id: str, now: datetime
) -> None:
    row = session.get(CursorRow, (job, stream))
    text = cursor.to_json() if cursor is not None else None
    if row is None:
        session.add(CursorRow(job=job, stream=stream, cursor=text, run_id=run_id, updated_at=now))
    else:
        row.cursor, row.run_id, row.updated_at = text, run_id, now


def with_lookback(cursor: Cursor | None, lookback_seconds: float) -> Cursor | None:
    """Read a little behind the watermark: rows commit late with older timestamps."""
    if cursor is None or cursor.watermark is None or lookback_seconds <= 0:
        return cursor
    from datetime import timedelta

    # The id tie-break only holds for the exact watermark; behind it, start fresh.
    return Cursor(
        watermark=cursor.watermark - timedelta(seconds=lookback_seconds),
        last_id=None,
        extra=cursor.extra,
    )


def behind(new: Cursor, old: Cursor | None) -> bool:
    """True when ``new`` would move the watermark back from ``old``."""
    if old is None or old.watermark is None or new.watermark is None:
        return False
    return new.watermark < old.watermark
