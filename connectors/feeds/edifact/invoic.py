"""EDIFACT INVOIC (EANCOM) into a canonical Invoice.

BGM 380/381/383, DTM 137 issue / 13 due, RFF ON (PO), NAD IV/BY (customer), CUX, PAT,
LIN/IMD/QTY/MOA 203/PRI/TAX per line, UNS+S then summary MOA 77/79/176 and TAX/MOA 124/125.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from canonical import Invoice, InvoiceLine, Money, TaxLine, sum_money
from connectors.feeds.edifact.tokenizer import Segment
from connectors.feeds.edifact.values import Ctx, Message, currency_for, dtm, is_digits, moa
from connectors.feeds.model import FeedWarning

SOURCE_SYSTEM = "edifact_invoic"
_CUSTOMER_PARTIES = ("IV", "BY")


@dataclass
class _Line:
    seg: Segment
    number: int
    sku: str | None
    description: str | None = None
    quantity: Decimal | None = None
    amount: Money | None = None
    price: Money | None = None
    tax: Money | None = None


def _to_line(ctx: Ctx, ln: _Line, currency: str) -> InvoiceLine:
    amount = ln.amount
    if amount is None:
        if ln.price is None or ln.quantity is None:
            raise ctx.fail(
                ln.seg,
                f"line {ln.number} has no amount",
                "MOA+203 or PRI with QTY in the LIN group",
            )
        amount = ln.price * ln.quantity
    return InvoiceLine(
        line_number=ln.number,
        amount=amount,
        description=ln.description,
        sku=ln.sku,
        quantity=ln.quantity,
        unit_price=ln.price,
        tax_amount=ln.tax,
    )


def extract_invoic(msg: Message, ctx: Ctx) -> tuple[Invoice, list[FeedWarning]]:
    body = msg.body
    currency = currency_for(ctx, body)
    warnings: list[FeedWarning] = []
    bgm = next((s for s in body if s.tag == "BGM"), None)
    if bgm is None or not bgm.el(2):
        raise ctx.fail(
            msg.segments[0],
            f"INVOIC {msg.reference} without BGM number",
            "BGM with the document number",
        )
    dates: dict[str, date] = {}
    refs: dict[str, str] = {}
    parties: dict[str, dict[str, str]] = {}
    lines: list[_Line] = []
    summary: dict[str, Money] = {}
    taxes: list[TaxLine] = []
    tax_seg: Segment | None = None
    in_summary = False
    for seg in body:
        tag = seg.tag
        if tag == "UNS":
            in_summary = True
        elif tag == "DTM" and not lines:
            qual, when = dtm(ctx, seg)
            if when is not None:
                dates.setdefault(qual, when)
        elif tag == "RFF" and not lines:
            refs.setdefault(seg.el(1, 1), seg.el(1, 2))
        elif tag == "NAD":
            parties.setdefault(seg.el(1), {"id": seg.el(2, 1), "name": seg.el(4, 1)})
        elif tag == "LIN":
            number = int(seg.el(1)) if is_digits(seg.el(1)) else len(lines) + 1
            lines.append(_Line(seg, number, seg.el(3, 1) or None))
        elif tag == "IMD" and lines and not in_summary:
            lines[-1].description = seg.el(3, 4) or seg.el(3, 1) or lines[-1].description
        elif tag == "QTY" and lines and not in_summary and seg.el(1, 1) in ("47", "46", "12"):
            lines[-1].quantity = ctx.decimal(seg, seg.el(1, 2), "QTY")
        elif tag == "PRI" and lines and not in_summary and lines[-1].price is None:
            lines[-1].price = Money(ctx.decimal(seg, seg.el(1, 2), "PRI"), currency)
        elif tag == "TAX":
            tax_seg = seg
            if in_summary:
                rate = seg.el(5, 4)
                taxes.append(
                    TaxLine(
                        tax_code=seg.el(2, 1) or "VAT",
                        tax_amount=Money.zero(currency),
                        rate=ctx.decimal(seg, rate, "TAX rate") if rate else None,
                        jurisdiction=seg.el(3, 1) or None,
                    )
                )
        elif tag == "MOA":
            qual, amount = moa(ctx, seg, currency)
            if in_summary:
                if taxes and tax_seg is not None and qual in ("124", "125"):
                    field = "tax_amount" if qual == "124" else "taxable_amount"
                    taxes[-1] = taxes[-1].model_copy(update={field: amount})
                else:
                    summary.setdefault(qual, amount)
            elif lines:
                if qual == "203":
                    lines[-1].amount = amount
                elif qual == "124":
                    lines[-1].tax = amount
    inv_lines = tuple(_to_line(ctx, ln, currency) for ln in lines)
    subtotal = summary.get("79") or sum_money([ln.amount for ln in inv_lines], currency)
    tax_total = summary.get("176") or sum_money([t.tax_amount for t in taxes], currency)
    total = summary.get("77") or summary.get("86") or subtotal + tax_total
    if subtotal + tax_total != total:
        warnings.append(
            FeedWarning(
                code="invoice_total_mismatch",
                line=bgm.line,
                segment=bgm.index,
                message=f"INVOIC {bgm.el(2)}: total {total} but {subtotal} + tax {tax_total}",
            )
        )
    line_sum = sum_money([ln.amount for ln in inv_lines], currency)
    if inv_lines and line_sum != subtotal:
        warnings.append(
            FeedWarning(
                code="invoice_total_mismatch",
                line=bgm.line,
                segment=bgm.index,
                message=f"INVOIC {bgm.el(2)}: MOA+79 {subtotal} but lines sum to {line_sum}",
            )
        )
    party = next((parties[q] for q in _CUSTOMER_PARTIES if q in parties), {})
    extra: dict[str, Any] = {"document_type": bgm.el(1, 1), "message_reference": msg.reference}
    if refs:
        extra["references"] = refs
    if parties:
        extra["parties"] = parties
    invoice = Invoice(
        source_system=SOURCE_SYSTEM,
        source_id=bgm.el(2),
        provenance=ctx.provenance(bgm),
        number=bgm.el(2),
        customer_id=party.get("id") or party.get("name") or "",
        issue_date=dates.get("137") or dates.get("3") or _no_date(ctx, bgm),
        due_date=dates.get("13"),
        currency=currency,
        lines=inv_lines,
        tax_lines=tuple(taxes),
        subtotal=subtotal,
        tax_total=tax_total,
        total=total,
        po_number=refs.get("ON"),
        extra=extra,
    )
    return invoice, warnings


def _no_date(ctx: Ctx, bgm: Segment) -> date:
    raise ctx.fail(bgm, f"INVOIC {bgm.el(2)} has no document date", "DTM+137")
