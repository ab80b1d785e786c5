"""X12 820 (payment order / remittance advice) into a canonical Remittance.

Cash-application math (doc section 9): BPR02 should equal the sum of RMR04 plus ADX
amounts attached directly to ENT (or the header). An ADX nested under an RMR explains
RMR05 - RMR04 and is already netted into RMR04. Not tying out is a warning for the
reconciler, never a parse failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from canonical import Money, Remittance, RemittanceAdjustment, RemittanceLine, sum_money
from connectors.feeds.model import FeedWarning
from connectors.feeds.x12.envelope import TransactionSet
from connectors.feeds.x12.tokenizer import Segment
from connectors.feeds.x12.values import Ctx, currency_for, opt_date, opt_r_money, r_money

SOURCE_SYSTEM = "x12_820"


def short_pay(line: RemittanceLine) -> Money:
    """RMR05 - RMR06 - RMR04: what the payer kept back on this item (0 without a gross)."""
    if line.gross is None:
        return Money.zero(line.paid.currency)
    discount = line.discount if line.discount is not None else Money.zero(line.paid.currency)
    return line.gross - discount - line.paid


@dataclass
class _Line:
    rmr: Segment
    paid: Money
    gross: Money | None
    discount: Money | None
    adjustments: list[RemittanceAdjustment] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    document_date: date | None = None


def _adjustment(ctx: Ctx, seg: Segment, currency: str) -> RemittanceAdjustment:
    return RemittanceAdjustment(
        reason_code=seg.el(2) or None,
        amount=r_money(ctx, seg, 1, currency),
        description=seg.el(4) or None,
    )


def extract_820(
    ts: TransactionSet,
    ctx: Ctx,
    *,
    default_total: Money | None = None,
    default_trace: str | None = None,
) -> tuple[Remittance, list[FeedWarning]]:
    body = ts.body
    currency = currency_for(ctx, body)
    warnings: list[FeedWarning] = []
    head = ts.segments[0]
    bpr: Segment | None = None
    trace: str | None = None
    header_ref: str | None = None
    payer: dict[str, str] = {}
    payee_name: str | None = None
    payment_date: date | None = None
    lines: list[_Line] = []
    adjustments: list[RemittanceAdjustment] = []
    in_item = False  # after an RMR inside the current ENT (or header)
    extra: dict[str, Any] = {"st_control": ts.control}
    if ts.sender_id and ts.sender_id.strip():
        extra["sender_id"] = ts.sender_id.strip()  # ISA06: scopes the TRN02 trace
    for seg in body:
        tag = seg.tag
        if tag == "BPR":
            bpr = seg
            payment_date = opt_date(ctx, seg, 16) or payment_date
        elif tag == "TRN":
            trace = seg.el(2) or trace
        elif tag == "N1" and seg.el(1) == "PR":
            payer = {"name": seg.el(2), "id": seg.el(4)}
        elif tag == "N1" and seg.el(1) == "PE":
            payee_name = seg.el(2) or None
        elif tag == "ENT":
            in_item = False
        elif tag == "RMR":
            in_item = True
            lines.append(
                _Line(
                    rmr=seg,
                    paid=r_money(ctx, seg, 4, currency),
                    gross=opt_r_money(ctx, seg, 5, currency),
                    discount=opt_r_money(ctx, seg, 6, currency),
                )
            )
        elif tag == "ADX":
            adj = _adjustment(ctx, seg, currency)
            (lines[-1].adjustments if in_item and lines else adjustments).append(adj)
        elif tag == "REF":
            if in_item and lines:
                lines[-1].references.append(seg.el(2))
            elif header_ref is None and seg.el(2):
                header_ref = seg.el(2)
        elif tag == "DTM":
            if in_item and lines and seg.el(1) == "003":
                lines[-1].document_date = opt_date(ctx, seg, 2)
            elif not in_item and seg.el(1) in ("097", "009") and payment_date is None:
                payment_date = opt_date(ctx, seg, 2)
    if bpr is not None:
        total = r_money(ctx, bpr, 2, currency)
        extra |= {
            "handling_code": bpr.el(1),
            "credit_debit": bpr.el(3),
            "payment_format": bpr.el(5) or None,
        }
    elif default_total is not None:
        total = default_total
    else:
        raise ctx.fail(head, "820 without BPR", "BPR with the payment amount")
    payer_account = None
    if bpr is not None and (bpr.el(7) or bpr.el(9)):
        payer_account = f"{bpr.el(7)}/{bpr.el(9)}"
    rem_lines = tuple(
        RemittanceLine(
            document_type=ln.rmr.el(1) or None,
            document_number=ln.rmr.el(2) or None,
            paid=ln.paid,
            gross=ln.gross,
            discount=ln.discount,
            adjustments=tuple(ln.adjustments),
            document_date=ln.document_date,
            references=tuple(r for r in ln.references if r),
            provenance=ctx.provenance(ln.rmr),
        )
        for ln in lines
    )
    trace_number = trace or header_ref or default_trace
    source_id = trace_number or "/".join(
        p for p in (ts.interchange_control, ts.group_control, ts.control) if p
    )
    anchor = bpr or head
    remittance = Remittance(
        source_system=SOURCE_SYSTEM,
        source_id=source_id,
        provenance=ctx.provenance(anchor),
        trace_number=trace_number,
        payer_name=payer.get("name") or None,
        payer_id=payer.get("id") or None,
        payer_account=payer_account,
        payee_name=payee_name,
        payment_date=payment_date,
        total=total,
        method=(bpr.el(4) or None) if bpr else None,
        lines=rem_lines,
        adjustments=tuple(adjustments),
        extra=extra,
    )
    if rem_lines or adjustments:
        applied = sum_money([ln.paid for ln in rem_lines], currency)
        applied = applied + sum_money([a.amount for a in adjustments], currency)
        if applied != total:
            warnings.append(
                FeedWarning(
                    code="remittance_not_tied",
                    message=f"820 {source_id}: BPR02 {total} but RMR04 + ADX sum to {applied}",
                    line=anchor.line,
                    segment=anchor.index,
                )
            )
    for ln in rem_lines:
        kept = short_pay(ln)
        if not kept.is_zero() and not ln.adjustments and ln.provenance is not None:
            # a deduction with no ADX reason: the analyst must ask the payer why
            warnings.append(
                FeedWarning(
                    code="deduction_without_reason",
                    message=f"820 {source_id}: {ln.document_number} short paid by {kept}, no ADX",
                    line=ln.provenance.line,
                    segment=ln.provenance.segment,
                )
            )
    return remittance, warnings
