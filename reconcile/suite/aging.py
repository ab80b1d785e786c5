"""AR aging buckets and DSO, per customer and in total, always per currency.

Amounts in different currencies are never added up, unless the caller passes an explicit
rate table into a reporting currency (then a converted total is added next to the
per-currency figures, never instead of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from canonical import CreditMemo, Invoice, InvoiceStatus, Money
from reconcile.suite.common import Finding, candidates

BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")


@dataclass(frozen=True, slots=True)
class ArItem:
    """One open AR item: invoice (positive), credit memo or unapplied payment (negative)."""

    document: str
    customer_id: str
    open_amount: Money
    due_date: date


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "over_90"


_NOT_RECEIVABLE = frozenset((InvoiceStatus.DRAFT, InvoiceStatus.VOID))
#: credit memo statuses (free text from the source) that hold no open credit
_CLOSED_MEMO = frozenset(("draft", "void", "voided", "cancelled", "canceled"))


def is_closed_memo(memo: CreditMemo) -> bool:
    """A draft, voided or cancelled credit memo: it holds no credit and moved no balance."""
    return (memo.status or "").strip().lower() in _CLOSED_MEMO


def items_from(
    invoices: Iterable[Invoice] = (), credit_memos: Iterable[CreditMemo] = ()
) -> list[ArItem]:
    """Open items from canonical records (credit memos age from their issue date). A draft
    is not yet a receivable and a voided invoice no longer is, whatever balance the export
    still shows for them."""
    out = [
        ArItem(i.number, i.customer_id, i.open_amount, i.due_date or i.issue_date)
        for i in invoices
        if not i.open_amount.is_zero() and i.status not in _NOT_RECEIVABLE
    ]
    for cm in credit_memos:
        if is_closed_memo(cm):
            continue
        open_amount = cm.balance if cm.balance is not None else cm.total
        if not open_amount.is_zero():
            out.append(ArItem(cm.number, cm.customer_id, -abs(open_amount), cm.issue_date))
    return out


@dataclass
class AgingRow:
    """Bucket totals for one customer (or '*' for the total) in one currency."""

    customer_id: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, Decimal(0)))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    rows: tuple[AgingRow, ...]
    totals: tuple[AgingRow, ...]
    #: Totals converted into ``reporting_currency`` when a rate table was given.
    reporting_total: AgingRow | None = None
    over_90: tuple[ArItem, ...] = ()

    def row(self, customer_id: str, currency: str) -> AgingRow:
        rows = self.totals if customer_id == "*" else self.rows
        return next(r for r in rows if r.customer_id == customer_id and r.currency == currency)

    def to_exception_candidates(self) -> list[dict[str, object]]:
        """Items more than 90 days past due (category ``AGED_OVER_90``)."""
        return candidates(
            Finding(
                "ar_aging",
                "AGED_OVER_90",
                {"document": item.document},
                item.open_amount.amount,
                item.open_amount.currency,
                # no days past due here: it grows every day, and the details make the
                # fingerprint, so each nightly run would see the item CHANGED (the store
                # keeps the age; the due date gives the days past due)
                {"customer_id": item.customer_id, "due_date": item.due_date.isoformat()},
            )
            for item in self.over_90
            if item.open_amount.amount > 0
        )


def age(
    items: Iterable[ArItem],
    as_of: date,
    *,
    rates: Mapping[str, Decimal] | None = None,
    reporting_currency: str | None = None,
) -> AgingReport:
    """Aging as of ``as_of``. ``rates`` maps currency -> units of ``reporting_currency``."""
    if (rates is None) != (reporting_currency is None):
        raise ValueError("a rate table needs a reporting currency and vice versa")
    rows: dict[tuple[str, str], AgingRow] = {}
    totals: dict[str, AgingRow] = {}
    over_90: list[ArItem] = []
    for item in items:
        ccy = item.open_amount.currency
        bucket = bucket_of((as_of - item.due_date).days)
        row = rows.setdefault((item.customer_id, ccy), AgingRow(item.customer_id, ccy))
        row.buckets[bucket] += item.open_amount.amount
        totals.setdefault(ccy, AgingRow("*", ccy)).buckets[bucket] += item.open_amount.amount
        if bucket == "over_90":
            over_90.append(item)
    reporting = None
    if rates is not None and reporting_currency is not None:
        reporting = AgingRow("*", reporting_currency)
        for ccy, total in totals.items():
            if ccy != reporting_currency and ccy not in rates:
                raise ValueError(f"no rate for {ccy} -> {reporting_currency}")
            rate = Decimal(1) if ccy == reporting_currency else rates[ccy]
            for b in BUCKETS:
                reporting.buckets[b] += total.buckets[b] * rate
        quantum = Decimal("0.01")
        reporting.buckets = {
            b: v.quantize(quantum, ROUND_HALF_UP) for b, v in reporting.buckets.items()
        }
    return AgingReport(
        as_of,
        tuple(rows[k] for k in sorted(rows)),
        tuple(totals[k] for k in sorted(totals)),
        reporting,
        tuple(sorted(over_90, key=lambda i: i.document)),
    )


def dso(ar_balance: Money, credit_sales: Money, days_in_period: int) -> Decimal:
    """Days sales outstanding = AR / credit sales × days in the period (same currency)."""
    if ar_balance.currency != credit_sales.currency:
        raise ValueError(
            f"DSO needs one currency: AR in {ar_balance.currency}, sales in {credit_sales.currency}"
        )
    if credit_sales.amount <= 0:
        raise ValueError("DSO is undefined without credit sales in the period")
    ratio = ar_balance.amount / credit_sales.amount * days_in_period
    return ratio.quantize(Decimal("0.1"), ROUND_HALF_UP)


def dso_by_currency(
    report: AgingReport, credit_sales: Mapping[str, Money], days_in_period: int
) -> dict[str, Decimal]:
    """DSO per currency from an aging report's totals and the period's credit sales."""
    out: dict[str, Decimal] = {}
    for total in report.totals:
        sales = credit_sales.get(total.currency)
        if sales is None or sales.amount <= 0:
            continue
        out[total.currency] = dso(Money(total.total, total.currency), sales, days_in_period)
    return out
