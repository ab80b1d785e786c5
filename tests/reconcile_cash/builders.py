"""Small builders for cash-application test data."""

from __future__ import annotations

from datetime import date

from canonical import Money
from reconcile.cash import CashLine, CustomerRef, OpenItem

PAY_DAY = date(2024, 3, 15)


def inv(
    number: str,
    customer: str,
    amount: str,
    *,
    issued: date = date(2024, 2, 1),
    due: date | None = None,
    ccy: str = "USD",
) -> OpenItem:
    return OpenItem(number, customer, Money(amount, ccy), issued, due)


def pay(
    line_id: str,
    amount: str,
    *,
    name: str | None = None,
    account: str | None = None,
    text: str = "",
    docs: tuple[str, ...] = (),
    day: date = PAY_DAY,
    ccy: str = "USD",
) -> CashLine:
    return CashLine(line_id, day, Money(amount, ccy), name, account, text, docs)


def cust(customer_id: str, name: str, *accounts: str) -> CustomerRef:
    return CustomerRef(customer_id, name, tuple(accounts))


CUSTOMERS = [
    cust("C1", "Acme Industries Inc.", "DE89370400440532013000"),
    cust("C2", "Globex Corporation"),
    cust("C3", "Initech GmbH"),
    cust("C4", "Umbrella Holdings Ltd"),
    cust("C5", "Stark Manufacturing LLC"),
]
