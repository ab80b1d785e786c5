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
    assert lines[0].doc_amounts == (("A-1", Decimal("100.00")), ("A-2", Decimal("200.00")))
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


def test_early_payment_discount_within_the_terms() -> None:
    from reconcile.cash import Rule
    from reconcile.cash.inputs import discount_terms

    assert discount_terms("2/10 NET 30") == (Decimal("2"), 10)
    assert discount_terms("1.5%/15 N45") == (Decimal("1.5"), 15)
    assert discount_terms("Net 30") is None
    inv = invoice("A-7", "500.00").model_copy(update={"payment_terms": "2/10 Net 30"})
    items = open_items_from([inv])
    assert items[0].discount == Money("10.00", "EUR")
    assert items[0].discount_until == date(2024, 2, 11)
    customers = customers_from([Customer(source_system="ns", source_id="CU1", name="Hooli")])

    def run(day: date, text: str, name: str | None = None) -> object:
        line = lines_from(
            [txn("T1", "490.00", remittance_text=text, counterparty_name=name, value_date=day)]
        )
        return apply_cash(line, items, customers).lines[0]

    by_ref = run(date(2024, 2, 10), "A-7")
    assert by_ref.proposal is not None and by_ref.proposal.rule == Rule.REFERENCE_DISCOUNT
    assert by_ref.proposal.applications[0].deduction == Money("10.00", "EUR")
    assert by_ref.proposal.deduction_reason == "EARLY_PAYMENT_DISCOUNT"
    by_amount = run(date(2024, 2, 11), "", name="Hooli")
    assert by_amount.proposal is not None and by_amount.proposal.rule == Rule.UNIQUE_AMOUNT
    assert by_amount.proposal.deduction_reason == "EARLY_PAYMENT_DISCOUNT"
    late = run(date(2024, 2, 12), "", name="Hooli")  # after the discount period
    assert late.proposal is None


def _part(sid: str, amount: str, doc: str, payer: str, **extra: object) -> Remittance:
    return Remittance(
        source_system="camt",
        source_id=sid,
        trace_number=f"E2E-{sid}",
        payer_name=payer,
        total=Money(amount, "EUR"),
        lines=(RemittanceLine(document_number=doc, paid=Money(amount, "EUR")),),
        extra=extra,
    )


def test_the_parts_of_a_split_are_linked_together_to_the_credit_they_add_up_to() -> None:
    from reconcile.cash.inputs import SPLIT_BANK_REFERENCE, SPLIT_OF

    txns = [txn("ACC:BATCH", "2300.00", bank_reference="ACSR-1"), txn("T2", "800.00")]
    parts = [
        _part("P2", "800.00", "B-2", "Hooli AG", **{SPLIT_OF: "ACC:BATCH"}),
        _part("P1", "1500.00", "A-1", "Nordbank", **{SPLIT_OF: "ACC:BATCH"}),
    ]
    lines = {ln.line_id: ln for ln in lines_from(txns, parts)}
    whole = lines["ACC:BATCH"]
    assert whole.doc_refs == ("A-1", "B-2")
    assert whole.doc_amounts == (("A-1", Decimal("1500.00")), ("B-2", Decimal("800.00")))
    assert whole.payer_name is None  # two payers: the credit names neither
    assert lines["T2"].doc_refs == ()  # the 800 part is not also linked one to one
    # another source id for the whole entry: its bank reference finds it
    moved = [p.model_copy(update={"extra": {SPLIT_OF: "X", SPLIT_BANK_REFERENCE: "acsr1"}})
             for p in parts]  # fmt: skip
    assert lines_from(txns, moved)[0].doc_refs == ("A-1", "B-2")
    # parts that do not add up to it are not linked together; one to one as before
    short = [*parts[:1], _part("P3", "1400.00", "A-1", "Nordbank", **{SPLIT_OF: "ACC:BATCH"})]
    lines = {ln.line_id: ln for ln in lines_from(txns, short)}
    assert lines["ACC:BATCH"].doc_refs == () and lines["T2"].doc_refs == ("B-2",)
