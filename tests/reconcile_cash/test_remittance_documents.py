"""Structured remittance documents: digit-only numbers and stated discounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from canonical import BankTransaction, Money, Remittance, RemittanceLine
from reconcile.cash import CashLine, Category, OpenItem, Status, apply_cash
from reconcile.cash.inputs import lines_from
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


def _globex_line(paid: str, discount: str, day: date = PAY_DAY) -> CashLine:
    """A bank credit of ``paid`` with an 820 for INV-2003: paid, gross 750, discount."""
    txn = BankTransaction(
        source_system="bai2",
        source_id="ACH1",
        account_id="OPS",
        value_date=day,
        amount=Money(paid, "USD"),
        counterparty_name="GLOBEX CORP",
        bank_reference="TRC1",
    )
    rem = Remittance(
        source_system="x12",
        source_id="R1",
        trace_number="TRC1",
        total=Money(paid, "USD"),
        lines=(
            RemittanceLine(
                document_number="INV-2003",
                paid=Money(paid, "USD"),
                gross=Money("750.00", "USD"),
                discount=Money(discount, "USD"),
            ),
        ),
    )
    (line,) = lines_from([txn], [rem])
    assert line.doc_discounts == (("INV-2003", Decimal(discount)),)
    return line


GLOBEX = [cust("C200", "Globex Corp")]


def test_stated_discount_within_tolerance_is_a_discount_not_a_short_pay() -> None:
    r = apply_cash([_globex_line("735.00", "15.00")], [inv("INV-2003", "C200", "750")], GLOBEX)
    p = r.lines[0].proposal
    assert p is not None and p.status == Status.AUTO
    assert p.applications[0].deduction == Money("15.00", "USD")
    assert p.deduction_reason == "DISCOUNT_TAKEN"
    assert r.lines[0].exceptions == ()


def test_stated_discount_beyond_tolerance_stays_open_naming_the_discount() -> None:
    r = apply_cash([_globex_line("712.50", "37.50")], [inv("INV-2003", "C200", "750")], GLOBEX)
    line = r.lines[0]
    assert line.proposal is not None and line.proposal.applications[0].deduction is None
    (exc,) = line.exceptions
    assert exc.category == Category.SHORT_PAY and exc.amount == Money("37.50", "USD")
    assert exc.details == {"cause": "discount_taken"} and "discount of 37.50 USD" in exc.reason


def test_stated_discount_the_terms_allow_is_the_early_payment_discount() -> None:
    item = OpenItem(
        "INV-2003",
        "C200",
        Money("750.00", "USD"),
        date(2024, 3, 5),
        discount=Money("37.50", "USD"),
        discount_until=date(2024, 3, 20),
    )
    r = apply_cash([_globex_line("712.50", "37.50")], [item], GLOBEX).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.AUTO
    assert r.proposal.applications[0].deduction == Money("37.50", "USD")
    assert r.proposal.deduction_reason == "EARLY_PAYMENT_DISCOUNT" and r.exceptions == ()


def test_stated_discounts_survive_the_saved_run(tmp_path: Path) -> None:
    from reconcile.cash.runs import load_run, save_run

    r = apply_cash([_globex_line("735.00", "15.00")], [inv("INV-2003", "C200", "750")], GLOBEX)
    save_run(r, tmp_path)
    (back,) = load_run(tmp_path).lines
    assert back.line.doc_discounts == (("INV-2003", Decimal("15.00")),)
    assert back.proposal is not None and back.proposal.deduction_reason == "DISCOUNT_TAKEN"
