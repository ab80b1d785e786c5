"""Statement continuity across files: a break becomes a reconciliation exception row.

A statement's opening balance must equal the closing balance of the account's previous
(non-intraday) statement. When it does not, an ``exceptions`` row (recon
``bank_statement_continuity``, category ``BALANCE_DISCONTINUITY``) is opened, or updated if
it exists, with an ``exception_history`` event: an analyst looks at it, the import goes on.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billbridge.state.schema import ExceptionHistoryRow, ExceptionRow, FeedStatementRow
from canonical import BankStatement

RECON = "bank_statement_continuity"
CATEGORY = "BALANCE_DISCONTINUITY"


def exception_id(account_id: str, statement_key: str) -> str:
    """Stable id: sha256 of recon, account, statement key and category."""
    text = "|".join((RECON, account_id, statement_key, CATEGORY))
    return hashlib.sha256(text.encode()).hexdigest()


def check_continuity(
    session: Session,
    stmt: BankStatement,
    key: str,
    file_name: str,
    run_id: str | None,
    now: datetime,
) -> str | None:
    """Opening balance must equal the closing balance of the account's previous statement."""
    opening = stmt.balance("opening_booked")
    if opening is None or stmt.intraday:
        return None
    start = stmt.period_start or stmt.period_end
    query = select(FeedStatementRow).where(
        FeedStatementRow.account_id == stmt.account_id[:80],
        FeedStatementRow.intraday.is_(False),
        FeedStatementRow.closing.is_not(None),
    )
    if start is not None:
        query = query.where(FeedStatementRow.period_end <= start.isoformat())
    candidates = [r for r in session.scalars(query) if r.currency in (None, opening.currency)]
    if not candidates:
        return None
    prev = max(candidates, key=lambda r: (r.period_end or "", r.id))
    if prev.closing == opening.amount:
        return None
    return _exception(session, stmt, key, prev, opening.amount, file_name, run_id, now)


def _exception(
    session: Session,
    stmt: BankStatement,
    key: str,
    prev: FeedStatementRow,
    opening: Decimal,
    file_name: str,
    run_id: str | None,
    now: datetime,
) -> str:
    assert prev.closing is not None
    keys = {"account_id": stmt.account_id, "statement_key": key}
    ex_id = exception_id(stmt.account_id, key)
    details = {
        "previous_statement": prev.statement_key,
        "previous_closing": str(prev.closing),
        "opening": str(opening),
        "difference": str(opening - prev.closing),
        "file": file_name,
    }
    fingerprint = hashlib.sha256(
        json.dumps({k: details[k] for k in ("previous_closing", "opening")}).encode()
    ).hexdigest()
    existing = session.get(ExceptionRow, ex_id)
    if existing is None:
        session.add(
            ExceptionRow(
                exception_id=ex_id,
                recon=RECON,
                category=CATEGORY,
                keys=keys,
                key_text=f"account_id={stmt.account_id}, statement_key={key}",
                fingerprint=fingerprint,
                details=details,
                severity="high",
                amount=opening - prev.closing,
                currency=stmt.currency,
                first_seen=now,
                last_seen=now,
                times_seen=1,
                run_state="NEW",
                status="OPEN",
                last_run_id=run_id,
            )
        )
        event = "opened"
    else:
        existing.last_seen = now
        existing.times_seen += 1
        existing.run_state = "CHANGED" if existing.fingerprint != fingerprint else "STILL_OPEN"
        existing.fingerprint, existing.details, existing.last_run_id = fingerprint, details, run_id
        event = "seen"
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
