"""Aging buckets per customer and currency, and DSO."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from canonical import CreditMemo, Invoice, Money
from reconcile.suite.aging import ArItem, age, dso, dso_by_currency, items_from

AS_OF = date(2024, 6, 30)


def it(doc: str, customer: str, amount: str, days_past_due: int, ccy: str = "USD") -> ArItem:
    return ArItem(doc, customer, Money(amount, ccy), AS_OF - timedelta(days=days_past_due))


ITEMS = [
    it("I1", "C1", "100.00", -5),  # not yet due
    it("I2", "C1", "200.00", 0),  # due today: current
    it("I3", "C1", "300.00", 1),
    it("I4", "C1", "400.00", 30),
    it("I5", "C2", "500.00", 31),
    it("I6", "C2", "600.00", 60),
    it("I7", "C2", "700.00", 61),
    it("I8", "C2", "800.00", 90),
    it("I9", "C2", "900.00", 91),
    it("CM1", "C1", "-50.00", 10),  # a credit reduces its bucket
    it("E1", "C1", "1000.00", 95, ccy="EUR"),
]


def test_buckets_per_customer_and_currency_never_mixed() -> None:
    report = age(ITEMS, AS_OF)
    c1 = report.row("C1", "USD").buckets
    assert c1 == {
        "current": Decimal("300.00"),
        "1-30": Decimal("650.00"),
        "31-60": Decimal(0),
        "61-90": Decimal(0),
        "over_90": Decimal(0),
    }
    c2 = report.row("C2", "USD").buckets
    assert c2 == {
        "current": Decimal(0),
        "1-30": Decimal(0),
        "31-60": Decimal("1100.00"),
        "61-90": Decimal("1500.00"),
        "over_90": Decimal("900.00"),
    }
    assert report.row("*", "USD").total == Decimal("4450.00")
    assert report.row("*", "EUR").buckets["over_90"] == Decimal("1000.00")
    assert report.reporting_total is None  # no rate table, no cross-currency total
    aged = report.to_exception_candidates()
    assert [(c["keys"]["document"], c["currency"]) for c in aged] == [("E1", "EUR"), ("I9", "USD")]


def test_converted_total_only_with_an_explicit_rate_table() -> None:
    report = age(ITEMS, AS_OF, rates={"EUR": Decimal("1.10")}, reporting_currency="USD")
    assert report.reporting_total is not None
    assert report.reporting_total.buckets["over_90"] == Decimal("2000.00")  # 900 + 1000*1.1
    assert report.row("*", "USD").total == Decimal("4450.00")  # per-currency rows unchanged
    with pytest.raises(ValueError, match="no rate for EUR"):
        age(ITEMS, AS_OF, rates={}, reporting_currency="USD")


def test_dso() -> None:
    assert dso(Money("450000", "USD"), Money("1350000", "USD"), 90) == Decimal("30.0")
    with pytest.raises(ValueError, match="one currency"):
        dso(Money("1", "USD"), Money("1", "EUR"), 30)
    report = age(ITEMS, AS_OF)
    got = dso_by_currency(report, {"USD": Money("8900.00", "USD")}, 30)
    assert got == {"USD": Decimal("15.0")}  # 4450 / 8900 * 30; no EUR sales -> no EUR DSO


def test_items_from_canonical_records() -> None:
    m = Money("100.00", "USD")
    inv = Invoice(
        source_system="ns",
        source_id="1",
        number="INV-1",
        customer_id="C1",
        issue_date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
        currency="USD",
        subtotal=m,
        tax_total=Money("0", "USD"),
        total=m,
        balance=Money("40.00", "USD"),
    )
    paid = inv.model_copy(update={"number": "INV-2", "balance": Money("0.00", "USD")})
    cm = CreditMemo(
        source_system="ns",
        source_id="2",
        number="CM-1",
        customer_id="C1",
        issue_date=date(2024, 6, 1),
        currency="USD",
        total=Money("25.00", "USD"),
    )
    items = items_from([inv, paid], [cm])
    assert [(i.document, i.open_amount.amount, i.due_date) for i in items] == [
        ("INV-1", Decimal("40.00"), date(2024, 5, 31)),
        ("CM-1", Decimal("-25.00"), date(2024, 6, 1)),
    ]


def test_drafts_and_voided_documents_are_not_open_receivables() -> None:
    """An export still shows a balance on a draft or a voided invoice: neither is owed."""
    from canonical import InvoiceStatus

    m = Money("700.00", "USD")
    base = Invoice(
        source_system="zuora", source_id="1", number="INV-D", customer_id="C1",
        issue_date=date(2024, 1, 1), due_date=date(2024, 1, 31), currency="USD",
        subtotal=m, tax_total=Money("0", "USD"), total=m, balance=m,
    )  # fmt: skip
    draft = base.model_copy(update={"status": InvoiceStatus.DRAFT})
    void = base.model_copy(update={"number": "INV-V", "status": InvoiceStatus.VOID})
    posted = base.model_copy(update={"number": "INV-P", "status": InvoiceStatus.POSTED})
    memo = CreditMemo(
        source_system="zuora", source_id="2", number="CM-V", customer_id="C1",
        issue_date=date(2024, 2, 1), currency="USD", total=Money("50.00", "USD"), status="Canceled",
    )  # fmt: skip
    assert [i.document for i in items_from([draft, void, posted], [memo])] == ["INV-P"]
