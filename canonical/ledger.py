"""General ledger lines and revenue schedules."""

from __future__ import annotations

from datetime import date

from canonical.base import CurrencyCode, Record
from canonical.money import Money


class JournalLine(Record):
    """One GL line. ``amount`` is signed: debit positive, credit negative."""

    journal_id: str
    line_number: int
    posting_date: date
    period: str  # YYYY-MM
    account: str
    currency: CurrencyCode
    amount: Money
    subsidiary: str | None = None
    customer_id: str | None = None
    memo: str | None = None
    source_document: str | None = None


class RevenueScheduleLine(Record):
    schedule_id: str
    period: str  # YYYY-MM
    currency: CurrencyCode
    amount: Money
    contract_line_id: str | None = None
    invoice_number: str | None = None
    invoice_line: int | None = None
    recognized: bool = False
    account: str | None = None
