"""Canonical bank transactions, remittances, invoices and customers as cash inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import (
    BankTransaction,
    Customer,
    Invoice,
    InvoiceStatus,
    Money,
    Remittance,
    RemittanceAdjustment,
    RemittanceLine,
)
from reconcile.cash import apply_cash
from reconcile.cash.inputs import customers_from, lines_from, open_items_from


def txn(source_id: str, amount: str, **kw: object) -> BankTransaction:
    return BankTransaction(
        source_system="bank",
        source_id=source_id,
        account_id="OPS",
        booking_date=date(2024, 3, 1),
        amount=Money(amount, "EUR"),
        **kw,  # type: ignore[arg-type]
    )


def invoice(number: str, total: str, status: InvoiceStatus = InvoiceStatus.POSTED) -> Invoice:
    m = Money(total, "EUR")
    return Invoice(
        source_system="netsuite",
        source_id=number,
        number=number,
        customer_id="CU1",
        issue_date=date(2024, 2, 1),
        currency="EUR",
        subtotal=m,
        tax_total=Money("0", "EUR"),
        total=m,
        status=status,
    )


def test_remittance_linked_by_trace_supplies_the_invoice_numbers() -> None:
    txns = [
        txn("T1", "300.00", bank_reference="TRC-9", counterparty_name="Hooli AG"),
        txn("T2", "-20.00", remittance_text="bank fee"),  # a debit is not a receipt
    ]
    rem = Remittance(
        source_system="edi820",
        source_id="R1",
        trace_number="trc9",
        total=Money("300.00", "EUR"),
        lines=(
            RemittanceLine(document_number="A-1", paid=Money("100.00", "EUR")),
            RemittanceLine(
                document_number="A-2",
                paid=Money("200.00", "EUR"),
                adjustments=(RemittanceAdjustment(reason_code="CS", amount=Money("0", "EUR")),),
            ),
        ),
    )
    lines = lines_from(txns, [rem])
    assert [ln.line_id for ln in lines] == ["T1"]
    assert lines[0].doc_refs == ("A-1", "A-2")
    assert lines[0].deduction_reason == "CS"
    items = open_items_from(
        [
            invoice("A-1", "100.00"),
            invoice("A-2", "200.00"),
            invoice("A-3", "300.00", InvoiceStatus.PAID),
        ]
    )
    assert [i.invoice_number for i in items] == ["A-1", "A-2"]
    customers = customers_from(
        [Customer(source_system="netsuite", source_id="CU1", name="Hooli AG")]
    )
    r = apply_cash(lines, items, customers).lines[0]
    assert r.proposal is not None and r.proposal.applied == Decimal("300.00")


def test_remittance_without_trace_links_by_amount_payer_and_date() -> None:
    txns = [txn("T1", "50.00", counterparty_name="Hooli"), txn("T2", "60.00")]
    rem = Remittance(
        source_system="edi820",
        source_id="R1",
        payer_name="HOOLI AG",
        payment_date=date(2024, 2, 28),
        total=Money("50.00", "EUR"),
        lines=(RemittanceLine(document_number="A-9", paid=Money("50.00", "EUR")),),
    )
    lines = {ln.line_id: ln for ln in lines_from(txns, [rem])}
    assert lines["T1"].doc_refs == ("A-9",) and lines["T2"].doc_refs == ()
