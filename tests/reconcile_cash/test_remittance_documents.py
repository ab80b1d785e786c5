"""Structured remittance documents: digit-only numbers and stated discounts."""

from __future__ import annotations

from decimal import Decimal

from canonical import Money
from reconcile.cash import CashLine, Category, Status, apply_cash
from tests.reconcile_cash.builders import PAY_DAY, cust, inv


def _line(amount: str, docs: tuple[tuple[str, str], ...], **kw: object) -> CashLine:
    return CashLine(
        "B1",
        PAY_DAY,
        Money(amount, "USD"),
        "Initech LLC",
        "ACCT-200",
        "ACH CREDIT",
        tuple(d for d, _ in docs),
        doc_amounts=tuple((d, Decimal(a)) for d, a in docs),
        **kw,  # type: ignore[arg-type]
    )


CUSTOMERS = [cust("C200", "Globex Corporation", "ACCT-200"), cust("C300", "Initech LLC")]
ITEMS = [
    inv("INV-2001", "C200", "999.00"),
    inv("INV-3001", "C300", "1200.00"),
    inv("INV-3002", "C300", "400.00"),
]


def test_digit_only_documents_name_the_one_invoice_with_those_digits() -> None:
    # paid from C200's account, the 820 names 3001 and 3002 of C300 without their prefix
    line = _line("1600.00", (("3001", "1200"), ("3002", "400")))
    r = apply_cash([line], ITEMS, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert [a.invoice_number for a in r.proposal.applications] == ["INV-3001", "INV-3002"]
    (exc,) = r.exceptions
    assert exc.category == Category.AMBIGUOUS
    assert exc.details == {"payer_customer_id": "C200"}
    assert exc.invoice_numbers == ("INV-3001", "INV-3002")


def test_digit_only_document_with_stated_amounts_applies_as_remitted() -> None:
    own = [cust("C300", "Initech LLC", "ACCT-200")]
    line = _line("1500.00", (("3001", "1100"), ("3002", "400")))
    r = apply_cash([line], ITEMS, own).lines[0]
    assert r.proposal is not None and r.proposal.rule.value == "reference_remittance"
    assert [(a.invoice_number, a.amount.amount) for a in r.proposal.applications] == [
        ("INV-3001", Decimal("1100.00")),
        ("INV-3002", Decimal("400.00")),
    ]


def test_digits_shared_by_two_invoices_name_neither() -> None:
    items = [inv("INV-3001", "C300", "1600.00"), inv("PO-3001", "C400", "1600.00")]
    customers = [*CUSTOMERS, cust("C400", "Hooli AG")]
    line = _line("1600.00", (("3001", "1600"),))
    r = apply_cash([line], items, customers).lines[0]
    assert r.proposal is None
    assert [e.category for e in r.exceptions] == [Category.UNIDENTIFIED_INVOICE]
    alone = apply_cash([line], items[:1], customers).lines[0]
    assert alone.proposal is not None and alone.proposal.customer_id == "C300"
