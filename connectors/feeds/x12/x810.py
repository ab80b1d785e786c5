"""X12 810 invoices from trading partners into canonical Invoices.

IT1 unit prices are R (explicit decimals); SAC05 and TDS01 are N2 (implied decimals from
the currency's minor units). SAC allowances/charges become invoice lines without quantity.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from canonical import Invoice, InvoiceLine, Money, TaxLine, sum_money
from connectors.feeds.model import FeedWarning
from connectors.feeds.x12.envelope import TransactionSet
from connectors.feeds.x12.tokenizer import Segment
from connectors.feeds.x12.values import (
    Ctx,
    currency_for,
    is_digits,
    n_money,
    opt_date,
    r_decimal,
    r_money,
    x12_date,
)

SOURCE_SYSTEM = "x12_810"
#: Whose id identifies the customer, best first.
_CUSTOMER_PARTIES = ("BT", "BY", "ST")


def _terms(ctx: Ctx, seg: Segment, issue: date) -> tuple[str | None, date | None, dict[str, Any]]:
    info: dict[str, Any] = {
        k: v
        for k, v in {
            "type": seg.el(1),
            "discount_percent": seg.el(3),
            "discount_days": seg.el(5),
            "net_days": seg.el(7),
            "description": seg.el(12),
        }.items()
        if v
    }
    due = opt_date(ctx, seg, 6)
    if due is None and is_digits(seg.el(7)):
        due = issue + timedelta(days=int(seg.el(7)))
    text = seg.el(12) or None
    if text is None and (seg.el(3) or seg.el(7)):
        text = f"{seg.el(3) or 0}% {seg.el(5) or 0} NET {seg.el(7) or 0}"
    return text, due, info


def extract_810(ts: TransactionSet, ctx: Ctx) -> tuple[Invoice, list[FeedWarning]]:
    body = ts.body
    head = ts.segments[0]
    big = next((s for s in body if s.tag == "BIG"), None)
    if big is None or not big.el(2):
        raise ctx.fail(head, f"810 {ts.control} without BIG02", "BIG with the invoice number")
    currency = currency_for(ctx, body)
    issue = x12_date(ctx, big, 1)
    warnings: list[FeedWarning] = []
    parties: dict[str, dict[str, str]] = {}
    lines: list[InvoiceLine] = []
    taxes: list[TaxLine] = []
    total: Money | None = None
    terms: str | None = None
    due: date | None = None
    extra: dict[str, Any] = {"st_control": ts.control}
    if ts.sender_id and ts.sender_id.strip():
        extra["sender_id"] = ts.sender_id.strip()  # ISA06: scopes the invoice number
    if big.el(7):
        extra["transaction_type"] = big.el(7)
    it1_count = 0
    ctt: Segment | None = None
    tds: Segment | None = None
    for seg in body:
        tag = seg.tag
        if tag == "N1" and seg.el(1):
            parties[seg.el(1)] = {"name": seg.el(2), "id": seg.el(4)}
        elif tag == "ITD":
            terms, due, extra["terms"] = _terms(ctx, seg, issue)
        elif tag == "IT1":
            it1_count += 1
            qty = r_decimal(ctx, seg, 2)
            price = r_money(ctx, seg, 4, currency)
            number = int(seg.el(1)) if is_digits(seg.el(1)) else len(lines) + 1
            lines.append(
                InvoiceLine(
                    line_number=number,
                    amount=price * qty,
                    quantity=qty,
                    unit_price=price,
                    sku=seg.el(7) or None,
                )
            )
        elif tag == "PID" and lines and lines[-1].description is None and seg.el(5):
            lines[-1] = lines[-1].model_copy(update={"description": seg.el(5)})
        elif tag == "SAC" and seg.el(5):
            amount = n_money(ctx, seg, 5, currency)
            sign = -1 if seg.el(1) == "A" else 1
            lines.append(
                InvoiceLine(
                    line_number=len(lines) + 1,
                    amount=amount * sign,
                    description=seg.el(15) or None,
                )
            )
        elif tag == "TXI" and seg.el(2):
            taxes.append(
                TaxLine(
                    tax_code=seg.el(1) or "TX",
                    tax_amount=r_money(ctx, seg, 2, currency),
                    rate=r_decimal(ctx, seg, 3) if seg.el(3) else None,
                    jurisdiction=seg.el(5) or None,
                )
            )
        elif tag == "TDS":
            tds = seg
            total = n_money(ctx, seg, 1, currency)
        elif tag == "CTT":
            ctt = seg
    subtotal = sum_money([ln.amount for ln in lines], currency)
    tax_total = sum_money([t.tax_amount for t in taxes], currency)
    if total is None:
        raise ctx.fail(head, f"810 {big.el(2)} without TDS", "TDS with the invoice total")
    if subtotal + tax_total != total and tds is not None:
        warnings.append(
            FeedWarning(
                code="invoice_total_mismatch",
                message=f"810 {big.el(2)}: TDS {total} but lines {subtotal} + tax {tax_total}",
                line=tds.line,
                segment=tds.index,
            )
        )
    if ctt is not None and ctt.el(1) != str(it1_count):
        warnings.append(
            FeedWarning(
                code="control_count_mismatch",
                message=f"810 {big.el(2)}: CTT01 {ctt.el(1)!r} but {it1_count} IT1 lines",
                line=ctt.line,
                segment=ctt.index,
            )
        )
    party = next((parties[q] for q in _CUSTOMER_PARTIES if q in parties), {})
    if parties:
        extra["parties"] = parties
    invoice = Invoice(
        source_system=SOURCE_SYSTEM,
        source_id=big.el(2),
        provenance=ctx.provenance(big),
        number=big.el(2),
        customer_id=party.get("id") or party.get("name") or "",
        issue_date=issue,
        due_date=due,
        currency=currency,
        lines=tuple(lines),
        tax_lines=tuple(taxes),
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        po_number=big.el(4) or None,
        payment_terms=terms,
        extra=extra,
    )
    return invoice, warnings
