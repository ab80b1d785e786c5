"""The outcome of a cash-application run: per-line results, KPIs, exception candidates."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from canonical import Money
from reconcile.cash.ledger import DuplicateOpenItem
from reconcile.cash.model import Category, LineResult, PartyRule, Proposal, Status
from reconcile.suite.common import severity_for

#: Why an exception exists (reconciliation.md §3 names these causes); details may override.
_CAUSES = {
    Category.UNAPPLIED: "no_candidate",
    Category.UNIDENTIFIED_INVOICE: "no_candidate",
    Category.AMBIGUOUS: "several_candidates",
    Category.SHORT_PAY: "source_imbalance",
    Category.OVERPAY: "source_imbalance",
    Category.CURRENCY_MISMATCH: "source_imbalance",
    Category.ALREADY_APPLIED: "already_applied",
    Category.RETURNED: "returned",
}
#: unapplied.csv names the most specific exception of a line: what the remittance says
#: (another currency, an invoice already paid) before a tie, before "nothing fits".
_SPECIFIC = (
    Category.RETURNED,
    Category.CURRENCY_MISMATCH,
    Category.ALREADY_APPLIED,
    Category.AMBIGUOUS,
    Category.OVERPAY,
    Category.SHORT_PAY,
    Category.DUPLICATE_OPEN_ITEM,
    Category.UNIDENTIFIED_INVOICE,
    Category.UNAPPLIED,
)


@dataclass(frozen=True)
class RateSplit:
    """Counts in the shape of a match-rate API (auto / suggested / unmatched)."""

    total: int
    auto: int
    suggested: int
    #: Of the suggested, those a person accepted (``match_decisions``).
    suggested_accepted: int = 0

    @property
    def unmatched(self) -> int:
        return self.total - self.auto - self.suggested

    @property
    def auto_rate(self) -> Decimal:
        return _rate(self.auto, self.total)

    @property
    def match_rate(self) -> Decimal:
        return _rate(self.auto + self.suggested, self.total)

    def as_dict(self) -> dict[str, object]:
        """The match-rate API shape (autoMatchedCount, ..., matchRate as text)."""
        return {
            "totalCount": self.total,
            "autoMatchedCount": self.auto,
            "suggestedCount": self.suggested,
            "suggestedAcceptedCount": self.suggested_accepted,
            "unmatchedCount": self.unmatched,
            "autoMatchRate": str(self.auto_rate),
            "matchRate": str(self.match_rate),
        }


def _rate(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class MatchKpis:
    #: Header (customer-level): the payment was tied to a customer.
    header: RateSplit
    #: Line (invoice-level): the whole payment was applied to invoices (on account excluded).
    line: RateSplit
    unapplied_count: int
    unapplied_by_currency: dict[str, Decimal]

    def as_dict(self) -> dict[str, object]:
        return {
            "header": self.header.as_dict(),
            "line": self.line.as_dict(),
            "unappliedCount": self.unapplied_count,
            "unappliedByCurrency": {k: str(v) for k, v in self.unapplied_by_currency.items()},
        }


@dataclass(frozen=True)
class CashResult:
    lines: tuple[LineResult, ...]
    rule_version: str
    #: Seconds per tier (load, customer_exact, references, customer_fuzzy, ...).
    timings: dict[str, float] = field(default_factory=dict)
    #: Lines entering the later tiers (after_references, fuzzy_lines, subset_sum_lines).
    counts: dict[str, int] = field(default_factory=dict)
    #: Invoice numbers open more than once; set aside from automatic application.
    duplicate_open_items: tuple[DuplicateOpenItem, ...] = ()

    def proposals(self, status: Status | None = None) -> list[Proposal]:
        return [
            r.proposal
            for r in self.lines
            if r.proposal is not None and (status is None or r.proposal.status == status)
        ]

    def kpis(self, accepted: Collection[str] = frozenset()) -> MatchKpis:
        """Match rates; ``accepted`` proposal ids split out the accepted suggestions."""
        total = len(self.lines)
        h_auto = h_sugg = l_auto = l_sugg = h_acc = l_acc = 0
        unapplied: dict[str, Decimal] = {}
        unapplied_count = 0
        for r in self.lines:
            prop = r.proposal
            if r.customer_id is not None:
                if prop is not None and prop.status == Status.SUGGESTED:
                    h_sugg += 1
                    h_acc += prop.proposal_id in accepted
                else:
                    h_auto += 1
            fully = prop is not None and prop.on_account is None and r.remainder.is_zero()
            if fully and prop is not None:
                if prop.status == Status.AUTO:
                    l_auto += 1
                else:
                    l_sugg += 1
                    l_acc += prop.proposal_id in accepted
            rest = r.remainder
            if not rest.is_zero():
                unapplied_count += 1
                unapplied[rest.currency] = unapplied.get(rest.currency, Decimal(0)) + rest.amount
        return MatchKpis(
            RateSplit(total, h_auto, h_sugg, h_acc),
            RateSplit(total, l_auto, l_sugg, l_acc),
            unapplied_count,
            dict(sorted(unapplied.items())),
        )

    def rule_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.lines:
            key = r.proposal.rule.value if r.proposal else "none"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    def to_exception_candidates(self) -> list[dict[str, Any]]:
        """Exceptions as dicts for the exception store (stable business keys, no row ids)."""
        out: list[dict[str, Any]] = []
        for r in self.lines:
            for exc in r.exceptions:
                details: dict[str, Any] = {
                    "reason": exc.reason,
                    "customer_id": exc.customer_id,
                    "invoice_numbers": list(exc.invoice_numbers),
                    "payment_amount": str(r.line.amount.amount),
                    "payment_date": r.line.date.isoformat(),
                    "payer_name": r.line.payer_name,
                    "rule_version": self.rule_version,
                    "cause": _CAUSES[exc.category],
                    **exc.details,
                }
                if r.proposal is not None:
                    details["proposal_id"] = r.proposal.proposal_id
                    details["match_rule"] = r.proposal.rule.value
                    details["confidence"] = str(r.proposal.confidence)
                out.append(
                    {
                        "recon_type": "cash_application",
                        "category": exc.category.value,
                        "keys": {"line_id": r.line.line_id},
                        "details": details,
                        "amount": exc.amount.amount,
                        "currency": exc.amount.currency,
                        "severity": severity_for(exc.amount.amount),
                    }
                )
        for dup in self.duplicate_open_items:
            amount = Money.from_minor(dup.open_minor, dup.currency).amount
            out.append(
                {
                    "recon_type": "cash_application",
                    "category": Category.DUPLICATE_OPEN_ITEM.value,
                    "keys": {"invoice_number": dup.invoice_number},
                    "details": {
                        "reason": f"invoice {dup.invoice_number} is open {dup.copies} times; "
                        "cash is not applied to it automatically",
                        "customer_ids": list(dup.customer_ids),
                        "copies": dup.copies,
                        "rule_version": self.rule_version,
                    },
                    "amount": amount,
                    "currency": dup.currency,
                    "severity": severity_for(amount),
                }
            )
        return out


def unapplied_reason(result: LineResult) -> str | None:
    """Why (part of) a payment is not applied, for the unapplied queue; None if fully applied."""
    if result.remainder.is_zero():
        return None
    if result.proposal is not None and result.proposal.on_account is not None:
        return "ON_ACCOUNT"
    if result.exceptions:
        rank = {c: i for i, c in enumerate(_SPECIFIC)}
        return min(result.exceptions, key=lambda e: rank.get(e.category, 0)).category.value
    return Category.UNAPPLIED.value if result.party_rule is None else "PARTIAL"


__all__ = [
    "CashResult",
    "MatchKpis",
    "PartyRule",
    "RateSplit",
    "severity_for",
    "unapplied_reason",
]
