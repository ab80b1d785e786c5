"""BAI2 parsing state and small value helpers (kept apart from the record handlers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from canonical import BankTransaction, Money, StatementBalance
from canonical.currencies import minor_units
from connectors.feeds.bai2.tokenizer import LogicalRecord
from connectors.feeds.common import KeyCounter

AMOUNT = re.compile(r"[+-]?\d+")
BALANCE_KINDS = {
    "010": "opening_booked",
    "015": "closing_booked",
    "030": "current_booked",
    "040": "opening_available",
    "045": "closing_available",
    "060": "current_available",
}
INTRADAY_MODIFIERS = {"1", "3"}
GROUP_STATUS = {"1": "update", "2": "deletion", "3": "correction", "4": "test_only"}


@dataclass
class Group:
    rec: LogicalRecord
    currency: str | None
    as_of: date
    as_of_time: str | None
    modifier: str
    status: str
    records: int = 0
    accounts: int = 0
    total: int = 0


@dataclass
class Account:
    rec: LogicalRecord
    account_id: str
    currency: str
    balances: list[StatementBalance] = field(default_factory=list)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: list[BankTransaction] = field(default_factory=list)
    non_monetary: list[str] = field(default_factory=list)
    records: int = 0
    total_all: int = 0
    total_details: int = 0
    keys: KeyCounter = field(default_factory=KeyCounter)


def as_of_time(text: str) -> str | None:
    """HHMM (2400 and 9999 mean end of day); HH:MM:SS tolerated; blank is None."""
    text = text.strip()
    if not text:
        return None
    if text in ("2400", "9999"):
        return "24:00"
    if len(text) == 4 and text.isdigit():
        return f"{text[:2]}:{text[2:]}"
    return text[:8]


def has_keys(segments: list[str]) -> bool:
    return any(":" in seg or "/" in seg for seg in segments)


def minor_money(units: int, currency: str) -> Money:
    """Money from integer minor units; the currency was checked when the account opened."""
    return Money(Decimal(units).scaleb(-minor_units(currency)), currency)
