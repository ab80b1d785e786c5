"""Approved cash applications -> canonical ``Payment`` write intents (pure).

One intent per bank line (the match group stays one payment with several applications).
The source version is a hash of what is applied, so the idempotency key is stable on
re-runs and changes when the applications change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from canonical import Payment, PaymentApplication, PaymentStatus, WriteIntent, WriteOp
from reconcile.cash.model import LineResult, Proposal, Status


def approved(
    results: Iterable[LineResult], accepted: Collection[str] = frozenset()
) -> list[LineResult]:
    """Lines whose proposal is automatic, or a suggestion a person accepted (by proposal id)."""
    return [
        r
        for r in results
        if r.proposal is not None
        and (r.proposal.status == Status.AUTO or r.proposal.proposal_id in accepted)
    ]


def _version(proposal: Proposal) -> str:
    return hashlib.sha256(proposal.proposal_id.encode()).hexdigest()[:16]


def applications_to_intents(
    results: Iterable[LineResult],
    *,
    target_system: str,
    source_system: str = "bank",
    mapping_version: str = "cash-1",
    accepted: Collection[str] = frozenset(),
    op: WriteOp = WriteOp.UPSERT,
) -> list[WriteIntent]:
    """Write intents for the approved applications, in line-id order."""
    intents: list[WriteIntent] = []
    for r in sorted(approved(results, accepted), key=lambda r: r.line.line_id):
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
            extra={"deductions": deductions, "match": match},
        )
        payload = payment.model_dump(mode="json")
        intents.append(
            WriteIntent.build(
                target_system=target_system,
                entity="payment",
                op=op,
                external_id=f"cash-{line.line_id}",
                payload=payload,
                source_system=source_system,
                source_id=line.line_id,
                source_version=_version(prop),
                mapping_version=mapping_version,
            )
        )
    return intents
