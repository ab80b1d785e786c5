"""Statement continuity across files: a break becomes a reconciliation exception row.

A statement's opening balance must equal the closing balance of the account's previous
(non-intraday) statement. When it does not, an ``exceptions`` row (recon
``bank_statement_continuity``, category ``BALANCE_DISCONTINUITY``) is opened, or updated if
it exists, with an ``exception_history`` event: an analyst looks at it, the import goes on.
Files may arrive out of order, so a newly stored statement is also compared with the
statement that follows it; a gap that the new statement fills is resolved by data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billbridge.state.schema import ExceptionHistoryRow, ExceptionRow, FeedStatementRow

RECON = "bank_statement_continuity"
CATEGORY = "BALANCE_DISCONTINUITY"


def exception_id(account_id: str, statement_key: str) -> str:
    """Stable id: sha256 of recon, account, statement key and category."""
    text = "|".join((RECON, account_id, statement_key, CATEGORY))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Audit:
    file_name: str
    run_id: str | None
    now: datetime


def _booked(session: Session, account_id: str, currency: str | None) -> list[FeedStatementRow]:
    rows = session.scalars(
        select(FeedStatementRow).where(
            FeedStatementRow.account_id == account_id, FeedStatementRow.intraday.is_(False)
        )
    ).all()
    return [r for r in rows if currency is None or r.currency in (None, currency)]


def check_predecessor(session: Session, row: FeedStatementRow, audit: Audit) -> str | None:
    """Compare a just-stored statement row with the account's previous statement."""
    if row.opening is None or row.intraday:
        return None
    start = row.period_start or row.period_end or ""
    earlier = [
        r
        for r in _booked(session, row.account_id, row.currency)
        if r.id != row.id and r.closing is not None and (r.period_end or "") <= start
    ]
    if not earlier:
        return None
    prev = max(earlier, key=lambda r: (r.period_end or "", r.id))
    return _compare(session, prev, row, audit)


def check_successor(session: Session, row: FeedStatementRow, audit: Audit) -> str | None:
    """Compare the account's next statement (from another file) with a just-stored one."""
    if row.closing is None or row.intraday:
        return None
    end = row.period_end or row.period_start or ""
    later = [
        r
        for r in _booked(session, row.account_id, row.currency)
        if r.file_sha256 != row.file_sha256
        and r.opening is not None
        and (r.period_start or r.period_end or "") >= end
        and (r.period_end or "") > end
    ]
    if not later:
        return None
    nxt = min(later, key=lambda r: (r.period_start or r.period_end or "", r.id))
    return _compare(session, row, nxt, audit)


def _compare(
    session: Session, prev: FeedStatementRow, row: FeedStatementRow, audit: Audit
) -> str | None:
    """Open (or resolve) the exception for ``row`` given its predecessor ``prev``."""
    assert prev.closing is not None
    assert row.opening is not None
    ex_id = exception_id(row.account_id, row.statement_key)
    if prev.closing == row.opening:
        _resolve(session, ex_id, prev, audit)
        return None
    details = {
        "previous_statement": prev.statement_key,
        "previous_closing": str(prev.closing),
        "opening": str(row.opening),
        "difference": str(row.opening - prev.closing),
        "file": audit.file_name,
    }
    _open(session, ex_id, row, details, row.opening - prev.closing, audit)
    return ex_id


def _fingerprint(details: dict[str, str]) -> str:
    values = {k: details[k] for k in ("previous_closing", "opening")}
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


def _open(
    session: Session,
    ex_id: str,
    row: FeedStatementRow,
    details: dict[str, str],
    gap: Decimal,
    audit: Audit,
) -> None:
    fingerprint = _fingerprint(details)
    existing = session.get(ExceptionRow, ex_id)
    if existing is None:
        session.add(
            ExceptionRow(
                exception_id=ex_id,
                recon=RECON,
                category=CATEGORY,
                keys={"account_id": row.account_id, "statement_key": row.statement_key},
                key_text=f"account_id={row.account_id}, statement_key={row.statement_key}",
                fingerprint=fingerprint,
                details=details,
                severity="high",
                amount=gap,
                currency=row.currency,
                first_seen=audit.now,
                last_seen=audit.now,
                times_seen=1,
                run_state="NEW",
                status="OPEN",
                last_run_id=audit.run_id,
            )
        )
        event = "opened"
    else:
        reopened = existing.status != "OPEN"
        existing.last_seen = audit.now
        existing.times_seen += 1
        changed = existing.fingerprint != fingerprint
        existing.run_state = "REOPENED" if reopened else "CHANGED" if changed else "STILL_OPEN"
        existing.status, existing.resolved_at = "OPEN", None
        existing.fingerprint, existing.details = fingerprint, details
        existing.last_run_id = audit.run_id
        event = "reopened" if reopened else "seen"
    session.add(
        ExceptionHistoryRow(
            exception_id=ex_id,
            run_id=audit.run_id,
            at=audit.now,
            event=event,
            fingerprint=fingerprint,
            details=details,
        )
    )


def _resolve(session: Session, ex_id: str, prev: FeedStatementRow, audit: Audit) -> None:
    """A statement that closes the gap resolves the open exception (resolved by data)."""
    existing = session.get(ExceptionRow, ex_id)
    if existing is None or existing.status != "OPEN":
        return
    existing.status, existing.run_state = "RESOLVED", "RESOLVED_BY_DATA"
    existing.resolved_at = existing.last_seen = audit.now
    existing.last_run_id = audit.run_id
    session.add(
        ExceptionHistoryRow(
            exception_id=ex_id,
            run_id=audit.run_id,
            at=audit.now,
            event="resolved",
            details={"previous_statement": prev.statement_key, "file": audit.file_name},
        )
    )
