"""A void (cancelled) invoice bills nothing: no billing evidence, no duplicate, no revenue
schedule needed. A billed line without a service period is still billed for its schedule."""

from __future__ import annotations

from datetime import date

from canonical import Invoice, InvoiceLine, Money, RevenueScheduleLine
from canonical.enums import InvoiceStatus
from reconcile.suite.configured import SUITE
from reconcile.suite.leakage import leakage
from tests.reconcile_suite.test_leakage import CONTRACT, invoice


def _void(inv: Invoice) -> Invoice:
    return inv.model_copy(update={"status": InvoiceStatus.VOID})


def _cats(findings: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((c["category"], tuple(c["keys"].values())) for c in findings)  # type: ignore[attr-defined]


def test_a_void_invoice_is_no_billing_and_no_duplicate() -> None:
    posted = [invoice(f"INV-{m}", "1000.00", date(2024, m, 1)) for m in (1, 2, 4)]
    cancelled = _void(invoice("INV-3", "1000.00", date(2024, 3, 1)))
    reissue_of = _void(invoice("INV-5", "1000.00", date(2024, 5, 1)))
    reissued = invoice("INV-5R", "1000.00", date(2024, 5, 2))
    report = leakage(
        invoices=[*posted, cancelled, reissue_of, reissued],
        contracts=[CONTRACT],
        as_of=date(2024, 5, 31),
    )
    found = {(f.category, tuple(f.keys.values())) for f in report.findings}
    assert ("EXPECTED_CHARGE_NOT_BILLED", ("CL-1", "2024-03")) in found
    assert not any(cat == "DUPLICATE" for cat, _ in found)


def _inv(number: str, *lines: InvoiceLine, void: bool = False) -> Invoice:
    total = Money(sum((ln.amount.amount for ln in lines), Money("0", "USD").amount), "USD")
    return Invoice(
        source_system="zuora",
        source_id=number,
        number=number,
        customer_id="C1",
        issue_date=date(2024, 1, 3),
        currency="USD",
        status=InvoiceStatus.VOID if void else InvoiceStatus.POSTED,
        subtotal=total,
        tax_total=Money("0", "USD"),
        total=total,
        lines=lines,
    )


def _sched(number: str, line: int, period: str, amount: str) -> RevenueScheduleLine:
    return RevenueScheduleLine(
        source_system="netsuite",
        source_id=f"{number}-{line}-{period}",
        schedule_id=f"S-{number}",
        period=period,
        currency="USD",
        amount=Money(amount, "USD"),
        invoice_number=number,
        invoice_line=line,
    )


def test_void_invoices_need_no_schedule_and_fees_without_dates_are_billed() -> None:
    ratable = InvoiceLine(
        line_number=1,
        amount=Money("310.00", "USD"),
        service_start=date(2024, 1, 1),
        service_end=date(2024, 1, 31),
    )
    fee = InvoiceLine(line_number=2, amount=Money("500.00", "USD"))  # onboarding: no dates
    invoices = [
        _inv("INV-1", ratable, fee),
        _inv("INV-2", ratable, void=True),
        _inv("INV-3", fee.model_copy(update={"line_number": 1})),
    ]
    schedules = [
        _sched("INV-1", 1, "2024-01", "310.00"),
        _sched("INV-1", 2, "2024-02", "500.00"),  # the ERP's schedule for the fee
        _sched("INV-3", 1, "2024-01", "400.00"),  # a fee scheduled for another amount
    ]
    found = SUITE["billed_vs_recognized"].run(
        {"invoices": invoices, "schedules": schedules}, date(2024, 3, 1)
    )
    assert _cats(found) == [("SCHEDULE_TOTAL_MISMATCH", ("INV-3", "1"))]


def test_a_period_only_a_draft_covers_is_not_billed_and_names_the_draft() -> None:
    posted = [invoice(f"INV-{m}", "1000.00", date(2024, m, 1)) for m in (1, 2)]
    draft = invoice("INV-3", "1000.00", date(2024, 3, 1)).model_copy(
        update={"status": InvoiceStatus.DRAFT}
    )
    only_cl1 = CONTRACT.model_copy(update={"lines": CONTRACT.lines[:1]})
    report = leakage(invoices=[*posted, draft], contracts=[only_cl1], as_of=date(2024, 3, 31))
    unbilled = [f for f in report.findings if f.category == "EXPECTED_CHARGE_NOT_BILLED"]
    assert [(f.keys["period"], f.details.get("draft_invoice")) for f in unbilled] == [
        ("2024-03", "INV-3")
    ]
