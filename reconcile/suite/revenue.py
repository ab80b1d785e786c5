"""Billed vs recognized revenue: ratable daily schedules, the deferred revenue waterfall,
and the comparison with the revenue schedules the ERP holds (NetSuite ARM, Zuora Revenue).

A ratable schedule spreads a line over its service period by days: the running total is
rounded to the currency's minor unit at each month end and a month gets what it grew by,
so every month is within one minor unit of its exact share and a schedule always sums
exactly to the line amount.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from canonical import Invoice, Money, RevenueScheduleLine, minor_units
from canonical.enums import InvoiceStatus
from reconcile.suite.common import Finding, candidates, next_period, period_of

RECON = "billed_vs_recognized"


def _month_end(day: date) -> date:
    first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def ratable_schedule(amount: Money, start: date, end: date) -> list[tuple[str, Money]]:
    """(period, amount) per month of ``start..end`` (inclusive), by days; sums exactly."""
    if end < start:
        raise ValueError(f"service period ends ({end}) before it starts ({start})")
    total_days = (end - start).days + 1
    quantum = Decimal(1).scaleb(-minor_units(amount.currency))
    spans: list[tuple[str, int]] = []
    cursor = start
    while cursor <= end:
        stop = min(_month_end(cursor), end)
        spans.append((period_of(cursor), (stop - cursor).days + 1))
        cursor = stop + timedelta(days=1)
    # Round the running total, not each month: a month is what the rounded total grew by,
    # so every month is within one minor unit of its exact share (never negative for a
    # positive line) and the months sum to the amount. Rounding each month and giving the
    # last the remainder piled the error of all months into the last one.
    out: list[tuple[str, Money]] = []
    days_so_far = 0
    allocated = Decimal(0)
    for period, days in spans:
        days_so_far += days
        if days_so_far == total_days:
            cumulative = amount.amount
        else:
            cumulative = (amount.amount * days_so_far / total_days).quantize(quantum, ROUND_HALF_UP)
        out.append((period, Money(cumulative - allocated, amount.currency)))
        allocated = cumulative
    return out


@dataclass(frozen=True, slots=True)
class BilledLine:
    """An invoice line to be recognized over its service period."""

    invoice_number: str
    line_number: int
    billed_period: str
    amount: Money
    service_start: date
    service_end: date
    #: billed without a service period (a one-time fee): recognized when billed, so it
    #: needs no schedule and defers nothing; an ERP schedule for it is checked by its total
    point_in_time: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.invoice_number, self.line_number)


def billed_lines(invoices: Iterable[Invoice]) -> list[BilledLine]:
    """Invoice lines with a service period (lines without one are point-in-time revenue:
    :func:`point_in_time_lines`); a void invoice bills nothing."""
    return [bl for bl in _lines(invoices) if not bl.point_in_time]


def point_in_time_lines(invoices: Iterable[Invoice]) -> list[BilledLine]:
    """Invoice lines without a service period (a one-time fee), dated by the invoice's issue
    date: they need no revenue schedule, but one the ERP holds for them is billed."""
    return [bl for bl in _lines(invoices) if bl.point_in_time]


def _lines(invoices: Iterable[Invoice]) -> list[BilledLine]:
    out: list[BilledLine] = []
    for inv in invoices:
        if inv.status == InvoiceStatus.VOID:
            continue
        for line in inv.lines:
            start, end = line.service_start, line.service_end
            dated = start is not None and end is not None
            out.append(
                BilledLine(
                    inv.number,
                    line.line_number,
                    period_of(inv.issue_date),
                    line.amount,
                    start if start is not None and dated else inv.issue_date,
                    end if end is not None and dated else inv.issue_date,
                    point_in_time=not dated,
                )
            )
    return out


@dataclass(frozen=True)
class WaterfallRow:
    currency: str
    period: str
    opening: Decimal
    billings: Decimal
    recognized: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.billings - self.recognized


def waterfall(
    lines: Iterable[BilledLine],
    periods: list[str],
    *,
    opening: Mapping[str, Decimal] | None = None,
    actual: Iterable[RevenueScheduleLine] | None = None,
) -> list[WaterfallRow]:
    """Deferred revenue per currency and period: opening + billings − recognized = closing.

    Recognition follows the ratable schedules, or the ERP's schedule lines when ``actual``
    is given (the ERP's own waterfall); each closing is the next opening.
    """
    billings: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    recognized: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    currencies: set[str] = set(opening or {})
    for bl in lines:
        if bl.point_in_time:
            continue  # recognized when billed: never deferred
        ccy = bl.amount.currency
        currencies.add(ccy)
        billings[(ccy, bl.billed_period)] += bl.amount.amount
        if actual is None:
            for period, part in ratable_schedule(bl.amount, bl.service_start, bl.service_end):
                recognized[(ccy, period)] += part.amount
    for sl in actual or ():
        currencies.add(sl.currency)
        recognized[(sl.currency, sl.period)] += sl.amount.amount
    rows: list[WaterfallRow] = []
    for ccy in sorted(currencies):
        balance = (opening or {}).get(ccy, Decimal(0))
        for period in sorted(periods):
            row = WaterfallRow(
                ccy, period, balance, billings[(ccy, period)], recognized[(ccy, period)]
            )
            rows.append(row)
            balance = row.closing
    return rows


@dataclass(frozen=True)
class RevenueComparison:
    findings: tuple[Finding, ...]

    def to_exception_candidates(self) -> list[dict[str, object]]:
        return candidates(self.findings)


def compare_schedules(
    lines: Iterable[BilledLine], actual: Iterable[RevenueScheduleLine]
) -> RevenueComparison:
    """Expected ratable schedules vs the ERP's schedule lines, per invoice line.

    Findings: ``UNPLANNED_DEFERRED_REVENUE`` (billed, no schedule), ``SCHEDULE_WITHOUT_BILLING``,
    ``SCHEDULE_TOTAL_MISMATCH``, ``RECOGNITION_START_MISMATCH`` and, only for schedules
    whose total and start agree, ``TIMING_DIFFERENCE`` per period.
    """
    by_line: dict[tuple[str, int], list[RevenueScheduleLine]] = defaultdict(list)
    for sl in actual:
        if sl.invoice_number is not None and sl.invoice_line is not None:
            by_line[(sl.invoice_number, sl.invoice_line)].append(sl)
    findings: list[Finding] = []
    billed = {bl.key: bl for bl in lines}
    for key in sorted(set(by_line) - set(billed)):
        total = sum((s.amount.amount for s in by_line[key]), Decimal(0))
        findings.append(
            Finding(RECON, "SCHEDULE_WITHOUT_BILLING", _keys(key), total, by_line[key][0].currency)
        )
    for key in sorted(billed):
        findings.extend(_compare_line(billed[key], by_line.get(key, [])))
    return RevenueComparison(tuple(findings))


def _keys(key: tuple[str, int], period: str | None = None) -> dict[str, str]:
    keys = {"invoice_number": key[0], "invoice_line": str(key[1])}
    if period is not None:
        keys["period"] = period
    return keys


def _compare_line(bl: BilledLine, schedule: list[RevenueScheduleLine]) -> list[Finding]:
    ccy = bl.amount.currency
    if not schedule and (bl.point_in_time or bl.amount.is_zero()):
        return []  # nothing to defer: a one-time fee, or a line billed at 0.00
    if not schedule:
        return [
            Finding(
                RECON,
                "UNPLANNED_DEFERRED_REVENUE",
                _keys(bl.key),
                bl.amount.amount,
                ccy,
                {"service_start": bl.service_start.isoformat()},
            )
        ]
    actual: dict[str, Decimal] = defaultdict(Decimal)
    for s in schedule:
        actual[s.period] += s.amount.amount
    expected = {
        p: m.amount for p, m in ratable_schedule(bl.amount, bl.service_start, bl.service_end)
    }
    out: list[Finding] = []
    total = sum(actual.values(), Decimal(0))
    if total != bl.amount.amount:
        out.append(
            Finding(
                RECON,
                "SCHEDULE_TOTAL_MISMATCH",
                _keys(bl.key),
                total - bl.amount.amount,
                ccy,
                {"billed": str(bl.amount.amount), "scheduled": str(total)},
            )
        )
    if bl.point_in_time:
        return out  # no service period: when it is recognized is the ERP's call
    first_actual = min((p for p, v in actual.items() if v != 0), default=None)
    # recognition starts where the expected schedule first recognizes something: a line
    # starting Jan 31 may have a January share that rounds to 0.00
    first_expected = min((p for p, v in expected.items() if v != 0), default=None)
    if first_actual != first_expected:
        out.append(
            Finding(
                RECON,
                "RECOGNITION_START_MISMATCH",
                _keys(bl.key),
                bl.amount.amount,
                ccy,
                {
                    "service_start": period_of(bl.service_start),
                    "expected_start": first_expected,
                    "recognition_start": first_actual,
                },
            )
        )
    if out:
        return out
    for period in sorted(set(actual) | set(expected)):
        diff = actual.get(period, Decimal(0)) - expected.get(period, Decimal(0))
        if diff != 0:
            out.append(
                Finding(
                    RECON,
                    "TIMING_DIFFERENCE",
                    _keys(bl.key, period),
                    diff,
                    ccy,
                    {
                        "expected": str(expected.get(period, Decimal(0))),
                        "actual": str(actual.get(period, Decimal(0))),
                    },
                )
            )
    return out


def periods_between(first: str, last: str) -> list[str]:
    out = [first]
    while out[-1] < last:
        out.append(next_period(out[-1]))
    return out


def tie_out(
    rows: Iterable[WaterfallRow], gl_deferred: Mapping[tuple[str, str], Decimal]
) -> list[Finding]:
    """``DEFERRED_BALANCE_MISMATCH`` where the waterfall's closing ≠ the GL deferred balance.

    The rollforward must tie to 0.00; ``gl_deferred`` maps (currency, period) to the GL
    deferred revenue balance (a credit balance as a positive number).
    """
    out: list[Finding] = []
    for row in rows:
        gl = gl_deferred.get((row.currency, row.period))
        if gl is None or gl == row.closing:
            continue
        out.append(
            Finding(
                RECON,
                "DEFERRED_BALANCE_MISMATCH",
                {"currency": row.currency, "period": row.period},
                gl - row.closing,
                row.currency,
                {"waterfall_closing": str(row.closing), "gl": str(gl)},
            )
        )
    return out
