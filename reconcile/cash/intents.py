"""Approved cash applications -> canonical ``Payment`` write intents (pure).

One intent per bank line (the match group stays one payment with several applications).
The source version is a hash of what is applied, so the idempotency key is stable on
re-runs and changes when the applications change.

What the canonical Payment has no slot for travels in ``extra``: the deductions of a short
pay, the match (rule, confidence, proposal id), the remainder left unapplied and one
``memo`` line that the target payloads put in the payment's comment or memo, so a short
pay's deduction and an overpayment are visible in the ERP, not silently dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping

from canonical import Payment, PaymentApplication, PaymentStatus, WriteIntent, WriteOp
from reconcile.cash.model import LineResult, Proposal, Status

#: Characters both targets accept in an external id / reference (NetSuite URLs, Zuora ZOQL).
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,55}$")


def approved(
    results: Iterable[LineResult],
    accepted: Collection[str] = frozenset(),
    rejected: Collection[str] = frozenset(),
) -> list[LineResult]:
    """Lines whose proposal is automatic, or a suggestion a person accepted (by proposal
    id); a proposal a person rejected is never approved, automatic or not."""
    return [
        r
        for r in results
        if r.proposal is not None
        and r.proposal.proposal_id not in rejected
        and (r.proposal.status == Status.AUTO or r.proposal.proposal_id in accepted)
    ]


def payment_external_id(line_id: str) -> str:
    """Our id for the bank line's payment in the target: ``cash-<line id>`` when the line id
    is short and plain, else ``cash-h<hash>`` (a NetSuite external id and a Zuora reference
    id take letters, digits, ``-`` and ``_`` only)."""
    if _SAFE_ID.match(line_id):
        return f"cash-{line_id}"
    return "cash-h" + hashlib.sha256(line_id.encode()).hexdigest()[:40]


def memo(r: LineResult) -> str:
    """One line for the payment's comment/memo: bank line, rule, deductions, remainder."""
    prop = r.proposal
    assert prop is not None
    ccy = r.line.amount.currency
    parts = [f"billbridge cash {r.line.line_id}: {prop.rule.value} {prop.confidence}"]
    for a in prop.applications:
        if a.amount.amount < 0:
            parts.append(f"credit memo {a.invoice_number} {-a.amount.amount} {ccy} netted")
        if a.deduction is not None and not a.deduction.is_zero():
            reason = prop.deduction_reason or "DEDUCTION"
            parts.append(
                f"deduction {a.deduction.amount} {ccy} on {a.invoice_number} ({reason}), "
                "left open on the invoice"
            )
    if not r.remainder.is_zero():
        parts.append(f"{r.remainder.amount} {ccy} unapplied (on account)")
    if r.line.text:
        parts.append(f"bank ref {r.line.text}")
    return "; ".join(parts)


def _version(proposal: Proposal) -> str:
    return hashlib.sha256(proposal.proposal_id.encode()).hexdigest()[:16]


def applications_to_intents(
    results: Iterable[LineResult],
    *,
    target_system: str,
    source_system: str = "bank",
    mapping_version: str = "cash-1",
    accepted: Collection[str] = frozenset(),
    rejected: Collection[str] = frozenset(),
    op: WriteOp = WriteOp.UPSERT,
    payment_method: str | None = None,
    target_options: Mapping[str, str] | None = None,
) -> list[WriteIntent]:
    """Write intents for the approved applications, in line-id order.

    ``payment_method`` becomes the Payment's ``method`` (Zuora: the external payment
    method type); ``target_options`` (e.g. NetSuite's deposit account) ride in
    ``extra["target"]`` for the target's payload builder.
    """
    intents: list[WriteIntent] = []
    for r in sorted(approved(results, accepted, rejected), key=lambda r: r.line.line_id):
        prop = r.proposal
        assert prop is not None  # guaranteed by approved()
        line = r.line
        deductions = [
            {
                "invoice_number": a.invoice_number,
                "amount": str(a.deduction.amount),
                "reason": prop.deduction_reason,
            }
            for a in prop.applications
            if a.deduction is not None
        ]
        match = {
            "rule": prop.rule.value,
            "confidence": str(prop.confidence),
            "proposal_id": prop.proposal_id,
        }
        payment = Payment(
            source_system=source_system,
            source_id=line.line_id,
            number=line.line_id,
            customer_id=prop.customer_id,
            received_date=line.date,
            currency=line.amount.currency,
            amount=line.amount,
            method=payment_method,
            reference=line.text[:200] or None,
            status=PaymentStatus.APPLIED if r.remainder.is_zero() else PaymentStatus.PROCESSED,
            applications=tuple(
                PaymentApplication(
                    invoice_number=a.invoice_number, amount=a.amount, applied_on=line.date
                )
                for a in prop.applications
                if not a.amount.is_zero()
            ),
            # no canonical slot for these: Record.extra keeps the payload a valid Payment
            extra={
                "deductions": deductions,
                "match": match,
                "unapplied": str(r.remainder.amount),
                "memo": memo(r),
                **({"target": dict(target_options)} if target_options else {}),
            },
        )
        payload = payment.model_dump(mode="json")
        intents.append(
            WriteIntent.build(
                target_system=target_system,
                entity="payment",
                op=op,
                external_id=payment_external_id(line.line_id),
                payload=payload,
                source_system=source_system,
                source_id=line.line_id,
                source_version=_version(prop),
                mapping_version=mapping_version,
            )
        )
    return intents
