"""EDIFACT REMADV (EANCOM) into a canonical Remittance.

Header: BGM 481, DTM 137/203, RFF payment reference, NAD PR/PE, CUX, MOA 9/12.
Per document: DOC-MOA-DTM-RFF with MOA 9 due (gross), 12 remitted (paid), 52 discount,
165 adjustment; AJT-MOA-RFF adjustments with reason codes; DLI line adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from canonical import Money, Remittance, RemittanceAdjustment, RemittanceLine, sum_money
from connectors.feeds.edifact.tokenizer import Segment
from connectors.feeds.edifact.values import Ctx, Message, currency_for, dtm, moa
from connectors.feeds.model import FeedWarning

SOURCE_SYSTEM = "edifact_remadv"
_TRACE_QUALIFIERS = ("PQ", "ACK", "AEK", "ZZZ")


@dataclass
class _Doc:
    seg: Segment
    amounts: dict[str, Money] = field(default_factory=dict)
    adjustments: list[RemittanceAdjustment] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    document_date: date | None = None


def _line(ctx: Ctx, doc: _Doc, currency: str, warnings: list[FeedWarning]) -> RemittanceLine:
    amounts = doc.amounts
    paid = amounts.get("12")
    if paid is None:
        due = amounts.get("9")
        if due is None:
            raise ctx.fail(
                doc.seg,
                f"document {doc.seg.el(2)} has no amount",
                "MOA+12 (remitted) or MOA+9 (due) in the DOC group",
            )
        paid = due - amounts.get("52", Money.zero(currency))
        paid = paid + sum_money([a.amount for a in doc.adjustments], currency)
        warnings.append(
            FeedWarning(
                code="derived_amount",
                line=doc.seg.line,
                segment=doc.seg.index,
                message=f"document {doc.seg.el(2)}: no MOA+12, paid derived as {paid}",
            )
        )
    return RemittanceLine(
        document_type=doc.seg.el(1) or None,
        document_number=doc.seg.el(2) or None,
        paid=paid,
        gross=amounts.get("9"),
        discount=amounts.get("52"),
        adjustments=tuple(doc.adjustments),
        document_date=doc.document_date,
        references=tuple(doc.references),
        provenance=ctx.provenance(doc.seg),
    )


def extract_remadv(msg: Message, ctx: Ctx) -> tuple[Remittance, list[FeedWarning]]:
    body = msg.body
    currency = currency_for(ctx, body)
    warnings: list[FeedWarning] = []
    head: dict[str, Money] = {}
    summary: dict[str, Money] = {}
    refs: dict[str, str] = {}
    parties: dict[str, dict[str, str]] = {}
    dates: dict[str, date] = {}
    docs: list[_Doc] = []
    bgm: Segment | None = None
    pending_ajt: Segment | None = None  # an AJT waiting for its MOA
    dli: str | None = None
    in_summary = False
    for seg in body:
        tag = seg.tag
        if tag == "BGM":
            bgm = seg
        elif tag == "UNS":
            in_summary, pending_ajt = True, None
        elif tag == "DOC":
            docs.append(_Doc(seg))
            pending_ajt, dli = None, None
        elif tag == "DLI":
            dli, pending_ajt = seg.el(2) or seg.el(1), None
        elif tag == "AJT":
            pending_ajt = seg
        elif tag == "MOA":
            qual, amount = moa(ctx, seg, currency)
            if in_summary or not docs:
                (summary if in_summary else head).setdefault(qual, amount)
            elif pending_ajt is not None or qual == "165":
                docs[-1].adjustments.append(
                    RemittanceAdjustment(
                        reason_code=pending_ajt.el(1) if pending_ajt else None,
                        amount=amount,
                        description=f"line {dli}" if dli else None,
                    )
                )
                pending_ajt = None
            elif dli is None:
                docs[-1].amounts.setdefault(qual, amount)
            # other MOAs inside a DLI group describe the line, not the document
        elif tag == "DTM":
            qual, when = dtm(ctx, seg)
            if docs and not in_summary:
                if when is not None and docs[-1].document_date is None:
                    docs[-1].document_date = when
            elif when is not None:
                dates.setdefault(qual, when)
        elif tag == "RFF":
            if docs and not in_summary:
                docs[-1].references.append(seg.el(1, 2))
            else:
                refs.setdefault(seg.el(1, 1), seg.el(1, 2))
        elif tag == "NAD" and not docs:
            parties[seg.el(1)] = {"id": seg.el(2, 1), "name": seg.el(4, 1) or seg.el(3, 1)}
    lines = tuple(_line(ctx, d, currency, warnings) for d in docs)
    anchor = bgm or msg.segments[0]
    total = head.get("12") or summary.get("12")
    if total is None:
        total = sum_money([ln.paid for ln in lines], currency)
        warnings.append(
            FeedWarning(
                code="derived_amount",
                line=anchor.line,
                segment=anchor.index,
                message=f"REMADV {msg.reference}: no MOA+12 total, "
                f"using the sum of documents {total}",
            )
        )
    applied = sum_money([ln.paid for ln in lines], currency)
    if lines and applied != total:
        warnings.append(
            FeedWarning(
                code="remittance_not_tied",
                line=anchor.line,
                segment=anchor.index,
                message=f"REMADV {msg.reference}: total {total} but documents sum to {applied}",
            )
        )
    trace = next((refs[q] for q in _TRACE_QUALIFIERS if refs.get(q)), None)
    trace = trace or next((v for v in refs.values() if v), None)
    number = bgm.el(2) if bgm else ""
    payer, payee = parties.get("PR", {}), parties.get("PE", {})
    extra: dict[str, Any] = {"message_reference": msg.reference, "references": refs}
    if "9" in head:
        extra["amount_due"] = str(head["9"].amount)
    remittance = Remittance(
        source_system=SOURCE_SYSTEM,
        source_id=number or trace or msg.reference,
        provenance=ctx.provenance(anchor),
        trace_number=trace,
        payer_name=payer.get("name") or None,
        payer_id=payer.get("id") or None,
        payee_name=payee.get("name") or None,
        payment_date=dates.get("203") or dates.get("137"),
        total=total,
        lines=lines,
        extra=extra,
    )
    return remittance, warnings
