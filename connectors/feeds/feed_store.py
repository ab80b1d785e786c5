"""Writing one parsed feed file into ``feed_files`` / ``feed_statements`` / ``feed_records``.

Used inside the importer's single transaction per file. Items arrive one at a time (see
:mod:`connectors.feeds.stream`), entries are inserted in bulk per statement, and nothing
but counters is kept across statements, so a large file does not grow the session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from billbridge.state.schema import FeedFileRow, FeedRecordRow, FeedStatementRow
from canonical import BankStatement, Invoice, Remittance
from canonical.enums import EntryStatus
from connectors.feeds.continuity import Audit, check_predecessor, check_successor
from connectors.feeds.model import Acknowledgement
from connectors.feeds.stream import FeedStream, Item

KEY_LIMIT = 200
IN_CHUNK = 500
#: stored in each entry record's ``extra``: which statement row it belongs to
STATEMENT_KEY = "feed_statement_key"


def record_key(*parts: str) -> str:
    key = "|".join(parts)
    if len(key) <= KEY_LIMIT:
        return key
    return key[: KEY_LIMIT - 33] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class Stored:
    statements: int = 0
    transactions: int = 0
    remittances: int = 0
    invoices: int = 0
    duplicates: int = 0
    #: remittances / invoices / acknowledgements already stored from another file, skipped
    duplicate_records: dict[str, int] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)


class FeedWriter:
    def __init__(self, session: Session, stream: FeedStream, audit: Audit) -> None:
        self.session, self.stream, self.audit = session, stream, audit
        self.sha = stream.sha256
        self.stored = Stored()
        self._used: set[tuple[str, str]] = set()

    def write(self) -> Stored:
        file_row = FeedFileRow(
            sha256=self.sha,
            file_name=self.audit.file_name,
            format=self.stream.format,
            imported_at=self.audit.now,
            run_id=self.audit.run_id,
            counts={},
        )
        self.session.add(file_row)
        self.session.flush()
        for item in self.stream.items():
            self._item(item)
        s = self.stored
        file_row.counts = {
            "statements": s.statements,
            "transactions": s.transactions,
            "remittances": s.remittances,
            "invoices": s.invoices,
            "duplicate_entries": s.duplicates,
            "warnings": len(self.stream.warnings),
        }
        self.session.flush()
        return s

    def _item(self, item: Item) -> None:
        if isinstance(item, BankStatement):
            self._statement(item)
        elif isinstance(item, Remittance):
            self.stored.remittances += 1
            self._other("remittance", _scoped(item), item.model_dump(mode="json"))
        elif isinstance(item, Invoice):
            self.stored.invoices += 1
            self._other("invoice", _scoped(item), item.model_dump(mode="json"))
        elif isinstance(item, Acknowledgement):
            self._other("acknowledgement", item.group_control_number, item.model_dump())

    def _other(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """Insert unless another file already stored it: a re-sent 820 or camt must not
        apply the same cash twice. An acknowledgement is skipped only when identical (a
        resend may be accepted after a reject, and the latest one wins)."""
        name = record_key(self.stream.format, key)
        stored = self.session.scalars(
            select(FeedRecordRow.record).where(
                FeedRecordRow.kind == kind,
                FeedRecordRow.record_key == name,
                FeedRecordRow.file_sha256 != self.sha,
            )
        ).all()
        if stored and (kind != "acknowledgement" or record in stored):
            skipped = self.stored.duplicate_records
            skipped[kind] = skipped.get(kind, 0) + 1
            return
        self.session.execute(
            insert(FeedRecordRow),
            [{"file_sha256": self.sha, "kind": kind, "record_key": name, "record": record}],
        )

    def _statement(self, stmt: BankStatement) -> None:
        key = statement_key(stmt, self._used)
        self.stored.superseded.extend(self._supersede(stmt, key))
        opening, closing = stmt.balance("opening_booked"), stmt.balance("closing_booked")
        row = FeedStatementRow(
            file_sha256=self.sha,
            account_id=stmt.account_id[:80],
            statement_key=key,
            currency=stmt.currency,
            period_start=stmt.period_start.isoformat() if stmt.period_start else None,
            period_end=stmt.period_end.isoformat() if stmt.period_end else None,
            opening=opening.amount if opening else None,
            closing=closing.amount if closing else None,
            intraday=stmt.intraday,
        )
        self.session.add(row)
        self.session.flush()
        for check in (check_predecessor, check_successor):
            found = check(self.session, row, self.audit)
            if found:
                self.stored.exceptions.append(found)
        self._entries(stmt, key)
        self.session.flush()
        self.session.expunge(row)  # keep the identity map small on large files
        self.stored.statements += 1

    def _entries(self, stmt: BankStatement, key: str) -> None:
        """Bulk-insert the entries; one already stored from another file (overlapping
        downloads, a re-sent day) is skipped and counted, unless only a pending copy is
        stored and this one is booked (only BOOK is final): then it replaces that copy."""
        keyed = {record_key(tx.source_id): tx for tx in stmt.transactions}
        names = list(keyed)
        existing: set[str] = set()
        for start in range(0, len(names), IN_CHUNK):
            for row in self.session.scalars(
                select(FeedRecordRow).where(
                    FeedRecordRow.kind == "bank_transaction",
                    FeedRecordRow.record_key.in_(names[start : start + IN_CHUNK]),
                )
            ):
                booked = keyed[row.record_key].status is EntryStatus.BOOKED
                if booked and row.record.get("status") != EntryStatus.BOOKED.value:
                    self.session.delete(row)
                else:
                    existing.add(row.record_key)
        rows = []
        for name, tx in keyed.items():
            if name in existing:
                continue
            # nulls left out (smaller store); BankTransaction.model_validate reads it back
            record = tx.model_dump(mode="json", exclude_none=True)
            record.setdefault("extra", {})[STATEMENT_KEY] = key
            rows.append(
                {
                    "file_sha256": self.sha,
                    "kind": "bank_transaction",
                    "record_key": name,
                    "record": record,
                }
            )
        if rows:
            self.session.execute(insert(FeedRecordRow), rows)
        self.stored.transactions += len(stmt.transactions)
        self.stored.duplicates += len(stmt.transactions) - len(rows)

    def _supersede(self, stmt: BankStatement, key: str) -> list[str]:
        """Drop a stored copy of this statement (re-sent) or its intraday version."""
        keys = [key] if stmt.intraday else [key, f"{key}#intraday"]
        rows = list(
            self.session.scalars(
                select(FeedStatementRow).where(
                    FeedStatementRow.account_id == stmt.account_id[:80],
                    FeedStatementRow.statement_key.in_(keys),
                )
            )
        )
        if not stmt.intraday and stmt.period_end is not None:
            # intraday reports (camt.052, MT942, interim BAI2) for days this final covers
            start = (stmt.period_start or stmt.period_end).isoformat()
            rows += [
                r
                for r in self.session.scalars(
                    select(FeedStatementRow).where(
                        FeedStatementRow.account_id == stmt.account_id[:80],
                        FeedStatementRow.intraday.is_(True),
                        FeedStatementRow.period_end >= start,
                        FeedStatementRow.period_end <= stmt.period_end.isoformat(),
                    )
                )
                if r not in rows
            ]
        gone: list[str] = []
        for row in rows:
            records = self.session.scalars(
                select(FeedRecordRow).where(
                    FeedRecordRow.kind == "bank_transaction",
                    FeedRecordRow.file_sha256 == row.file_sha256,
                )
            ).all()
            entry_ids: set[str] = set()
            for rec in records:
                extra = rec.record.get("extra") or {}
                same_account = (rec.record.get("account_id") or "")[:80] == row.account_id
                if same_account and extra.get(STATEMENT_KEY) == row.statement_key:
                    entry_ids.add(rec.record.get("source_id") or "")
                    self.session.delete(rec)
            # a remittance parsed from an entry (camt structured remittance, lockbox check)
            # shares its source_id: it goes with the statement, the new file brings its own
            for rem in self.session.scalars(
                select(FeedRecordRow).where(
                    FeedRecordRow.kind == "remittance",
                    FeedRecordRow.file_sha256 == row.file_sha256,
                )
            ):
                if rem.record.get("source_id") in entry_ids:
                    self.session.delete(rem)
            self.session.delete(row)
            gone.append(f"{row.account_id}:{row.statement_key}")
        self.session.flush()
        return gone


def _scoped(item: Remittance | Invoice) -> str:
    """The dedupe key: an 820 trace (TRN02) or invoice number is unique only per sender."""
    sender = item.extra.get("sender_id")
    return f"{sender}|{item.source_id}" if sender else item.source_id


def statement_key(stmt: BankStatement, used: set[tuple[str, str]]) -> str:
    """The statement's key per account: its id (or sequence, or period), plus the camt page
    and an intraday marker; a second block for the same account and day gets ``#2``."""
    base = (
        stmt.statement_id
        or stmt.sequence
        or (f"{stmt.period_start}..{stmt.period_end}" if stmt.period_end else "statement")
    )
    if stmt.extra.get("page"):  # a paginated camt statement spans files, one page each
        base += f"#p{stmt.extra['page']}"
    if stmt.intraday:
        base += "#intraday"
    key, n = base, 1
    while (stmt.account_id, key) in used:
        n += 1
        key = f"{base}#{n}"
    used.add((stmt.account_id, key))
    return key[:KEY_LIMIT]
