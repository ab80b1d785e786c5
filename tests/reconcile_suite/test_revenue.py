"""Ratable schedules, the deferred revenue waterfall and the ERP schedule comparison."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import Invoice, InvoiceLine, Money, RevenueScheduleLine
from reconcile.suite.revenue import (
    BilledLine,
    billed_lines,
    compare_schedules,
    periods_between,
    ratable_schedule,
    tie_out,
    waterfall,
)


def test_daily_allocation_rounds_the_running_total() -> None:
    # 2024-01-15 .. 2024-03-14: 17 + 29 + 14 = 60 days; running totals 100 * 17/60 = 28.333
    # -> 28.33, 100 * 46/60 = 76.667 -> 76.67, 100; each month is what the total grew by
    sched = ratable_schedule(Money("100.00", "USD"), date(2024, 1, 15), date(2024, 3, 14))
    assert [(p, str(m.amount)) for p, m in sched] == [
        ("2024-01", "28.33"),
        ("2024-02", "48.34"),  # 76.67 - 28.33 (exact share 48.333)
        ("2024-03", "23.33"),  # 100.00 - 76.67 (exact share 23.333)
    ]


def test_a_small_line_over_years_never_recognizes_negative_revenue() -> None:
    """1.00 USD over 2024-01-01..2027-01-01 (1097 days): about 0.03 a month, 0.00 for the
    single day of January 2027. Was: each of the 36 full months rounded to 0.03 (1.08 in
    all) and the last month took the remainder, -0.08."""
    sched = ratable_schedule(Money("1.00", "USD"), date(2024, 1, 1), date(2027, 1, 1))
    assert sched[-1] == ("2027-01", Money("0.00", "USD"))  # 1/1097 of 1.00 rounds to 0
    assert all(m.amount >= 0 for _, m in sched)
    # 100 JPY over 2024-01-01..2025-01-01 (367 days): the last day's share is 0.27 yen
    yen = ratable_schedule(Money("100", "JPY"), date(2024, 1, 1), date(2025, 1, 1))
    assert yen[-1] == ("2025-01", Money("0", "JPY"))


def test_zero_decimal_currency_and_single_day() -> None:
    sched = ratable_schedule(Money("1000", "JPY"), date(2024, 1, 31), date(2024, 2, 1))
    assert [(p, m.amount) for p, m in sched] == [
        ("2024-01", Decimal(500)),
        ("2024-02", Decimal(500)),
    ]
    one = ratable_schedule(Money("9.99", "EUR"), date(2024, 5, 5), date(2024, 5, 5))
    assert one == [("2024-05", Money("9.99", "EUR"))]
    with pytest.raises(ValueError, match="ends"):
        ratable_schedule(Money("1", "EUR"), date(2024, 5, 5), date(2024, 5, 4))


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(-(10**9), 10**9),
    start=st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    days=st.integers(0, 1200),
    ccy=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_schedule_sums_exactly_to_the_line(cents: int, start: date, days: int, ccy: str) -> None:
    amount = Money.from_minor(cents, ccy)
    sched = ratable_schedule(amount, start, start + timedelta(days=days))
    assert sum((m.amount for _, m in sched), Decimal(0)) == amount.amount
    assert all(m.is_whole_minor() for _, m in sched)
    periods = [p for p, _ in sched]
    assert periods == sorted(set(periods))
    # every month within one minor unit of its exact share of the days
    total_days = days + 1
    unit = Money.from_minor(1, ccy).amount
    day = start
    for period, part in sched:
        in_month = 0
        while day <= start + timedelta(days=days) and f"{day:%Y-%m}" == period:
            in_month += 1
            day += timedelta(days=1)
        assert abs(part.amount - amount.amount * in_month / total_days) <= unit


def bl(number: str, amount: str, start: date, end: date, billed: str = "2024-01") -> BilledLine:
    return BilledLine(number, 1, billed, Money(amount, "USD"), start, end)


def sched(number: str, *parts: tuple[str, str]) -> list[RevenueScheduleLine]:
    return [
        RevenueScheduleLine(
            source_system="netsuite",
            source_id=f"{number}-{p}",
            schedule_id=f"S-{number}",
            period=p,
            currency="USD",
            amount=Money(a, "USD"),
            invoice_number=number,
            invoice_line=1,
        )
        for p, a in parts
    ]


Q1 = (date(2024, 1, 1), date(2024, 3, 31))  # 31 + 29 + 31 = 91 days


def test_waterfall_rolls_forward_and_ties_to_the_gl() -> None:
    lines = [
        bl("I-1", "910.00", *Q1),
        bl("I-2", "120.00", date(2024, 2, 1), date(2024, 2, 29), billed="2024-02"),
    ]
    rows = waterfall(
        lines, periods_between("2024-01", "2024-04"), opening={"USD": Decimal("50.00")}
    )
    assert [(r.period, r.opening, r.billings, r.recognized, r.closing) for r in rows] == [
        ("2024-01", Decimal("50.00"), Decimal("910.00"), Decimal("310.00"), Decimal("650.00")),
        ("2024-02", Decimal("650.00"), Decimal("120.00"), Decimal("410.00"), Decimal("360.00")),
        ("2024-03", Decimal("360.00"), Decimal("0"), Decimal("310.00"), Decimal("50.00")),
        ("2024-04", Decimal("50.00"), Decimal("0"), Decimal("0"), Decimal("50.00")),
    ]
    # the ERP recognised I-1 a month late: its own waterfall keeps more deferred
    erp = waterfall(
        lines,
        ["2024-01", "2024-02"],
        opening={"USD": Decimal("50.00")},
        actual=sched("I-1", ("2024-02", "310.00")),
    )
    assert [(r.recognized, r.closing) for r in erp] == [
        (Decimal(0), Decimal("960.00")),
        (Decimal("310.00"), Decimal("770.00")),
    ]
    gl = {("USD", "2024-01"): Decimal("650.00"), ("USD", "2024-02"): Decimal("365.00")}
    breaks = tie_out(rows, gl)
    assert [(f.keys["period"], f.amount) for f in breaks] == [("2024-02", Decimal("5.00"))]


def test_planted_schedule_differences_are_found_and_nothing_else() -> None:
    lines = [
        bl("OK", "910.00", *Q1),
        bl("NOPLAN", "300.00", *Q1),
        bl("SHORT", "910.00", *Q1),
        bl("LATE", "910.00", *Q1),
        bl("TIMING", "910.00", *Q1),
    ]
    actual = [
        *sched("OK", ("2024-01", "310.00"), ("2024-02", "290.00"), ("2024-03", "310.00")),
        *sched("SHORT", ("2024-01", "310.00"), ("2024-02", "290.00"), ("2024-03", "300.00")),
        *sched("LATE", ("2024-02", "455.00"), ("2024-03", "455.00")),
        *sched("TIMING", ("2024-01", "300.00"), ("2024-02", "300.00"), ("2024-03", "310.00")),
        *sched("ORPHAN", ("2024-01", "10.00")),
    ]
    res = compare_schedules(lines, actual)
    got = {
        (f.category, f.keys["invoice_number"], f.keys.get("period"), f.amount) for f in res.findings
    }
    assert got == {
        ("UNPLANNED_DEFERRED_REVENUE", "NOPLAN", None, Decimal("300.00")),
        ("SCHEDULE_TOTAL_MISMATCH", "SHORT", None, Decimal("-10.00")),
        ("RECOGNITION_START_MISMATCH", "LATE", None, Decimal("910.00")),
        ("TIMING_DIFFERENCE", "TIMING", "2024-01", Decimal("-10.00")),
        ("TIMING_DIFFERENCE", "TIMING", "2024-02", Decimal("10.00")),
        ("SCHEDULE_WITHOUT_BILLING", "ORPHAN", None, Decimal("10.00")),
    }
    cands = res.to_exception_candidates()
    assert {c["category"] for c in cands} >= {"UNPLANNED_DEFERRED_REVENUE", "TIMING_DIFFERENCE"}
    assert all(c["currency"] == "USD" and "keys" in c for c in cands)


def test_billed_lines_from_canonical_invoices() -> None:
    m = Money("120.00", "USD")
    inv = Invoice(
        source_system="zuora",
        source_id="I-9",
        number="INV-9",
        customer_id="C1",
        issue_date=date(2024, 1, 3),
        currency="USD",
        subtotal=m,
        tax_total=Money("0", "USD"),
        total=m,
        lines=(
            InvoiceLine(
                line_number=1,
                amount=Money("100.00", "USD"),
                service_start=date(2024, 1, 1),
                service_end=date(2024, 12, 31),
            ),
            InvoiceLine(line_number=2, amount=Money("20.00", "USD")),  # one-time: not ratable
        ),
    )
    (line,) = billed_lines([inv])
    assert (line.key, line.billed_period) == (("INV-9", 1), "2024-01")


def test_a_line_billed_at_zero_needs_no_schedule() -> None:
    """A 100%-discounted service line defers nothing (was: UNPLANNED_DEFERRED_REVENUE 0.00);
    a schedule recognizing something for it is still wrong."""
    zero = bl("INV-Z", "0.00", date(2024, 3, 1), date(2025, 2, 28))
    assert compare_schedules([zero], []).findings == ()
    found = compare_schedules([zero], sched("INV-Z", ("2024-03", "5.00"))).findings
    assert {(f.category, f.amount) for f in found} == {
        ("SCHEDULE_TOTAL_MISMATCH", Decimal("5.00")),
        ("RECOGNITION_START_MISMATCH", Decimal("0.00")),  # nothing was to be recognized
    }


def test_recognition_starts_with_the_first_month_the_schedule_recognizes() -> None:
    """1.00 from 2024-01-31 to 2024-12-31 (336 days): January's one day rounds to 0.00, so
    recognition starts in February. Running totals 1.00 x 1, 30, 61, 91, 122, 152, 183, 214,
    244, 275, 305, 336 / 336 -> 0.00, 0.09, 0.18, 0.27, 0.36, 0.45, 0.54, 0.64, 0.73, 0.82,
    0.91, 1.00. Was: RECOGNITION_START_MISMATCH against the service-start month."""
    line = bl("INV-S", "1.00", date(2024, 1, 31), date(2024, 12, 31))
    months = [f"2024-{m:02d}" for m in range(2, 13)]
    parts = ["0.09"] * 6 + ["0.10"] + ["0.09"] * 4
    erp = sched("INV-S", *zip(months, parts, strict=True))
    assert compare_schedules([line], erp).findings == ()
    # an ERP schedule that only starts in March is late
    late = sched("INV-S", ("2024-03", "0.18"), *zip(months[2:], parts[2:], strict=True))
    (found,) = compare_schedules([line], late).findings
    starts = (found.details["expected_start"], found.details["recognition_start"])
    assert (found.category, starts) == ("RECOGNITION_START_MISMATCH", ("2024-02", "2024-03"))
