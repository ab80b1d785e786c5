"""AR sub-ledger vs GL with planted breaks: each is found, nothing else."""

from __future__ import annotations

from decimal import Decimal

from canonical import JournalLine, Money
from reconcile.suite.ar_gl import (
    ActivityKind,
    ArActivity,
    ArGlPolicy,
    ArOpenItem,
    reconcile_ar_gl,
)

AR = "1200"
K = ActivityKind
POLICY = ArGlPolicy(control_accounts=frozenset({AR}))


def act(doc: str, kind: ActivityKind, period: str, amount: str) -> ArActivity:
    return ArActivity(doc, kind, period, AR, Money(amount, "USD"), "US01", "C1")


def je(journal: str, period: str, amount: str, doc: str | None, account: str = AR) -> JournalLine:
    return JournalLine(
        source_system="netsuite",
        source_id=f"{journal}-1",
        journal_id=journal,
        line_number=1,
        posting_date=f"{period}-15",
        period=period,
        account=account,
        currency="USD",
        amount=Money(amount, "USD"),
        subsidiary="US01",
        source_document=doc,
    )


def item(doc: str, period: str, amount: str) -> ArOpenItem:
    return ArOpenItem(doc, period, AR, Money(amount, "USD"), "US01", "C1")


ACTIVITY = [
    act("INV-1", K.INVOICE, "2024-01", "1000.00"),
    act("INV-2", K.INVOICE, "2024-01", "500.00"),
    act("PAY-1", K.PAYMENT, "2024-02", "-1000.00"),
    act("CM-1", K.CREDIT_MEMO, "2024-02", "-100.00"),
    act("WO-1", K.WRITE_OFF, "2024-02", "-50.00"),
    act("INV-3", K.INVOICE, "2024-02", "300.00"),
]
OPEN = [
    item("INV-0", "2023-12", "200.00"),  # opening balance
    item("INV-0", "2024-01", "200.00"),
    item("INV-1", "2024-01", "1000.00"),
    item("INV-2", "2024-01", "500.00"),
    item("INV-0", "2024-02", "200.00"),
    item("INV-2", "2024-02", "350.00"),
    item("INV-3", "2024-02", "300.00"),
]
GL = [
    je("J0", "2023-12", "200.00", "INV-0"),
    je("J1", "2024-01", "1000.00", "INV-1"),
    je("J2", "2024-01", "500.00", "INV-2"),
    je("J3", "2024-02", "-1000.00", "PAY-1"),
    je("J4", "2024-02", "-100.00", "CM-1"),
    je("J5", "2024-02", "-50.00", "WO-1"),
    je("J6", "2024-02", "300.00", "INV-3"),
    je("J7", "2024-02", "999.00", None, account="4000"),  # revenue: not AR, ignored
]
PERIODS = ["2024-01", "2024-02"]


def found(
    gl: list[JournalLine], open_items: list[ArOpenItem] = OPEN, policy: ArGlPolicy = POLICY
) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    res = reconcile_ar_gl(ACTIVITY, open_items, gl, PERIODS, policy)
    return {(f.category, tuple(sorted(f.keys.items()))) for f in res.findings}


def bal(period: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted({"account": AR, "subsidiary": "US01", "currency": "USD", "period": period}.items())
    )


def test_clean_books_tie_out_and_roll_forward() -> None:
    res = reconcile_ar_gl(ACTIVITY, OPEN, GL, PERIODS, POLICY)
    assert res.findings == ()
    jan, feb = res.rows
    assert (jan.opening, jan.invoices, jan.closing, jan.gl_closing) == (
        Decimal("200.00"),
        Decimal("1500.00"),
        Decimal("1700.00"),
        Decimal("1700.00"),
    )
    assert (feb.payments, feb.credits, feb.write_offs, feb.closing) == (
        Decimal("1000.00"),
        Decimal("-100.00"),
        Decimal("-50.00"),
        Decimal("850.00"),
    )
    assert feb.subledger_closing == feb.closing == feb.gl_closing


def test_planted_breaks_are_found_and_nothing_else() -> None:
    gl = [ln for ln in GL if ln.journal_id not in {"J5", "J6"}]
    gl += [
        je("J8", "2024-02", "25.00", None),  # manual JE on the control account
        je("J6", "2024-03", "300.00", "INV-3"),  # INV-3 posted a period late (cut-off)
        # WO-1 (J5) never posted
    ]
    assert found(gl) == {
        ("MANUAL_JE", (("journal_id", "J8"), ("line", "1"))),
        ("PERIOD_CUTOFF", (("document", "INV-3"), ("kind", "invoice"))),
        ("UNPOSTED", (("document", "WO-1"), ("kind", "write_off"))),
        # their balance effect in February: +25 - 300 + 50 = -225
        ("AMOUNT_MISMATCH", bal("2024-02")),
    }
    res = reconcile_ar_gl(ACTIVITY, OPEN, gl, PERIODS, POLICY)
    feb = next(f for f in res.findings if f.category == "AMOUNT_MISMATCH")
    assert feb.amount == Decimal("-225.00")


def test_document_posted_with_another_amount() -> None:
    gl = [ln if ln.journal_id != "J2" else je("J2", "2024-01", "499.00", "INV-2") for ln in GL]
    assert found(gl) == {
        ("AMOUNT_MISMATCH", (("document", "INV-2"), ("kind", "invoice"))),
        ("AMOUNT_MISMATCH", bal("2024-01")),
        ("AMOUNT_MISMATCH", bal("2024-02")),
    }


def test_subledger_snapshot_that_does_not_roll_forward() -> None:
    open_items = [i for i in OPEN if not (i.document == "INV-2" and i.period == "2024-02")]
    open_items.append(item("INV-2", "2024-02", "340.00"))  # 10.00 vanished from the aging
    assert found(GL, open_items) == {
        ("ROLLFORWARD_BREAK", bal("2024-02")),
        ("AMOUNT_MISMATCH", bal("2024-02")),
    }


def test_rounding_allowance_is_per_currency_and_configurable() -> None:
    gl = [*GL, je("J9", "2024-02", "0.01", None)]
    res = reconcile_ar_gl(ACTIVITY, OPEN, gl, PERIODS, POLICY)
    # within 0.01 at balance level, but the manual JE itself is still reported
    assert {f.category for f in res.findings} == {"MANUAL_JE"}
    strict = ArGlPolicy(control_accounts=frozenset({AR}), rounding={"USD": Decimal("0")})
    assert ("AMOUNT_MISMATCH", bal("2024-02")) in found(gl, policy=strict)


def test_from_canonical_records_and_an_aging_snapshot() -> None:
    from datetime import date

    from canonical import CreditMemo, Invoice, InvoiceStatus, Payment
    from reconcile.suite.aging import ArItem
    from reconcile.suite.ar_gl import activity_from, snapshot_from

    def invoice(number: str, total: str, status: InvoiceStatus = InvoiceStatus.POSTED) -> Invoice:
        m = Money(total, "USD")
        return Invoice(
            source_system="ns",
            source_id=number,
            number=number,
            customer_id="C1",
            issue_date=date(2024, 1, 10),
            currency="USD",
            subtotal=m,
            tax_total=Money("0", "USD"),
            total=m,
            status=status,
        )

    acts = activity_from(
        account=AR,
        subsidiary="US01",
        invoices=[invoice("I-1", "500.00"), invoice("I-2", "70.00", InvoiceStatus.VOID)],
        payments=[
            Payment(
                source_system="ns",
                source_id="P-1",
                number="P-1",
                customer_id="C1",
                received_date=date(2024, 1, 20),
                currency="USD",
                amount=Money("200.00", "USD"),
            )
        ],
        credit_memos=[
            CreditMemo(
                source_system="ns",
                source_id="M-1",
                number="M-1",
                customer_id="C1",
                issue_date=date(2024, 1, 25),
                currency="USD",
                total=Money("50.00", "USD"),
            )
        ],
    )
    assert [(a.document, a.kind, a.amount.amount) for a in acts] == [
        ("I-1", K.INVOICE, Decimal("500.00")),
        ("P-1", K.PAYMENT, Decimal("-200.00")),
        ("M-1", K.CREDIT_MEMO, Decimal("-50.00")),
    ]
    aging = [
        ArItem("I-1", "C1", Money("300.00", "USD"), date(2024, 2, 9)),
        ArItem("M-1", "C1", Money("-50.00", "USD"), date(2024, 1, 25)),
    ]
    snap = snapshot_from(aging, period="2024-01", account=AR, subsidiary="US01")
    gl = [
        je("J1", "2024-01", "500.00", "I-1"),
        je("J2", "2024-01", "-200.00", "P-1"),
        je("J3", "2024-01", "-50.00", "M-1"),
    ]
    res = reconcile_ar_gl(acts, snap, gl, ["2024-01"], POLICY)
    assert res.findings == ()
    assert res.rows[0].closing == res.rows[0].gl_closing == Decimal("250.00")


def _refund_books() -> dict[str, object]:
    """Jan: INV-1 1000. Feb: PAY-1 pays it. Mar: cancellation credit CM-1 300 refunded in
    cash (RF-1), PAY-2 500 on account of which 200 is refunded (RF-2). By hand, March:
    0 - 500 payment - 300 credit + 300 + 200 refunds = -300, the open items (CM-1 refunded
    to 0, PAY-2 500 - 200 = 300 unapplied) and the GL."""
    from datetime import date

    from canonical import CreditMemo, Invoice, Payment, PaymentApplication, Refund

    usd = lambda a: Money(a, "USD")  # noqa: E731
    ns = {"source_system": "ns", "customer_id": "C1", "currency": "USD"}
    inv = Invoice(**ns, source_id="INV-1", number="INV-1", issue_date=date(2024, 1, 10),
                  subtotal=usd("1000.00"), tax_total=usd("0"), total=usd("1000.00"),
                  balance=usd("0"))  # fmt: skip
    pays = [
        Payment(**ns, source_id="PAY-1", number="PAY-1", received_date=date(2024, 2, 5),
                amount=usd("1000.00"),
                applications=(PaymentApplication(invoice_number="INV-1", amount=usd("1000.00")),)),
        Payment(**ns, source_id="PAY-2", number="PAY-2", received_date=date(2024, 3, 4),
                amount=usd("500.00")),
    ]  # fmt: skip
    memo = CreditMemo(**ns, source_id="CM-1", number="CM-1", issue_date=date(2024, 3, 1),
                      total=usd("300.00"), balance=usd("0"))  # fmt: skip
    refunds = [
        Refund(**ns, source_id="RF-1", number="RF-1", refund_date=date(2024, 3, 2),
               amount=usd("300.00"), source_credit_memo="CM-1"),
        Refund(**ns, source_id="RF-2", number="RF-2", refund_date=date(2024, 3, 6),
               amount=usd("200.00"), source_payment="PAY-2"),
    ]  # fmt: skip
    gl = [
        je("J1", "2024-01", "1000.00", "INV-1"),
        je("J2", "2024-02", "-1000.00", "PAY-1"),
        je("J3", "2024-03", "-300.00", "CM-1"),
        je("J4", "2024-03", "300.00", "RF-1"),  # the refund debits AR
        je("J5", "2024-03", "-500.00", "PAY-2"),
        je("J6", "2024-03", "200.00", "RF-2"),
    ]
    return {"invoices": [inv], "payments": pays, "credit_memos": [memo], "refunds": refunds,
            "gl": gl}  # fmt: skip


def test_refunds_raise_ar_in_the_roll_forward() -> None:
    """Was: no refund kind, so the refunds' GL lines were MANUAL_JE and the roll-forward
    (without them) broke against the open items."""
    from datetime import date

    from reconcile.suite.ar_gl import reconcile_ar_gl_records

    books = _refund_books()
    res = reconcile_ar_gl_records(
        **books,  # type: ignore[arg-type]
        as_of=date(2024, 3, 20),
        policy=POLICY,
        account=AR,
        subsidiary="US01",
    )
    assert res.findings == ()
    march = res.rows[-1]
    assert (march.period, march.refunds, march.payments, march.credits) == (
        "2024-03",
        Decimal("500.00"),
        Decimal("500.00"),
        Decimal("-300.00"),
    )
    assert march.closing == march.subledger_closing == march.gl_closing == Decimal("-300.00")


def test_a_configured_run_reads_the_refunds_side() -> None:
    from datetime import date

    from reconcile.suite.configured import SUITE, ArGlOptions

    recon = SUITE["ar_subledger_gl"]
    assert recon.entities["refunds"] == "refund"
    options = ArGlOptions(control_accounts=[AR], subsidiary="US01")
    books = _refund_books()
    assert recon.run(books, date(2024, 3, 20), options) == []  # type: ignore[arg-type]
    without = {k: v for k, v in books.items() if k != "refunds"}
    found = {c["category"] for c in recon.run(without, date(2024, 3, 20), options)}  # type: ignore[arg-type]
    # without the side: the refunds' GL lines are manual JEs, the roll-forward misses them
    # and PAY-2's refunded 200 still reads as unapplied cash
    assert found == {"MANUAL_JE", "ROLLFORWARD_BREAK", "AMOUNT_MISMATCH"}


def test_documents_of_different_kinds_sharing_a_number_are_kept_apart() -> None:
    """NetSuite numbers each transaction type apart: invoice 1001 (never posted) and
    payment 1001 (posted in February). Was: merged into one document 1001, giving a
    PERIOD_CUTOFF and an AMOUNT_MISMATCH instead of the invoice's UNPOSTED."""
    acts = [
        act("1001", K.INVOICE, "2024-01", "500.00"),
        act("1002", K.INVOICE, "2024-01", "700.00"),
        act("1001", K.PAYMENT, "2024-02", "-700.00"),
    ]
    gl = [je("J1", "2024-01", "700.00", "1002"), je("J2", "2024-02", "-700.00", "1001")]
    res = reconcile_ar_gl(acts, [], gl, PERIODS, POLICY)
    docs = [(f.category, f.keys, f.amount) for f in res.findings if "document" in f.keys]
    assert docs == [("UNPOSTED", {"document": "1001", "kind": "invoice"}, Decimal("500.00"))]


def test_a_shared_number_the_gl_line_cannot_tell_apart_is_ambiguous_not_merged() -> None:
    # payment 1001 and credit memo 1001 both credit AR: the line could be either
    acts = [
        act("1001", K.PAYMENT, "2024-02", "-700.00"),
        act("1001", K.CREDIT_MEMO, "2024-02", "-50.00"),
    ]
    gl = [je("J2", "2024-02", "-700.00", "1001")]
    res = reconcile_ar_gl(acts, [], gl, PERIODS, POLICY)
    (amb,) = [f for f in res.findings if f.category != "AMOUNT_MISMATCH"]
    assert (amb.category, amb.keys) == (
        "AMBIGUOUS_DOCUMENT",
        {"journal_id": "J2", "line": "1"},
    )
    assert amb.details["kinds"] == ["credit_memo", "payment"]
    # the balance still shows the 50.00 the GL lacks
    feb = next(r for r in res.rows if r.period == "2024-02")
    assert feb.closing - feb.gl_closing == Decimal("-50.00")


def test_a_document_posted_in_another_currency_is_never_subtracted_across_currencies() -> None:
    """A EUR invoice the GL carries in the subsidiary's USD base currency. Was: a document
    AMOUNT_MISMATCH of 1085.00 - 1000.00 = '85.00 EUR'."""
    eur = ArActivity("INV-E", K.INVOICE, "2024-01", AR, Money("1000.00", "EUR"), "US01", "C1")
    usd_line = je("J1", "2024-01", "1085.00", "INV-E")
    res = reconcile_ar_gl([eur], [], [usd_line], ["2024-01"], POLICY)
    docs = [f for f in res.findings if "document" in f.keys]
    assert [(f.category, f.amount, f.currency) for f in docs] == [
        ("CURRENCY_MISMATCH", Decimal("1000.00"), "EUR")
    ]
    assert docs[0].details["gl"] == ["1085.00 USD"]
    # the balances stay per currency: EUR 1000 missing from the GL, USD 1085 extra in it
    balances = {(f.currency, f.amount) for f in res.findings if "period" in f.keys}
    assert balances == {("EUR", Decimal("-1000.00")), ("USD", Decimal("1085.00"))}
