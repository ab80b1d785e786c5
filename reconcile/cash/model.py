"""Inputs, policy and results of cash application.

Inputs are deliberately light (slotted dataclasses, amounts as :class:`Money`) because a
run holds 10^5 bank lines; open invoices at 10^6 scale travel as an Arrow table instead
(see :mod:`reconcile.cash.ledger`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from canonical import Money


@dataclass(frozen=True, slots=True)
class CashLine:
    """One incoming payment: a bank credit with whatever remittance came with it."""

    line_id: str
    date: date
    amount: Money
    payer_name: str | None = None
    payer_account: str | None = None
    #: Reference and memo text joined; invoice numbers are parsed from it.
    text: str = ""
    #: Invoice numbers from structured remittance (820 RMR02, REMADV DOC, camt RfrdDocInf).
    doc_refs: tuple[str, ...] = ()
    #: Deduction reason from the remittance (820 ADX, REMADV AJT), for short pays.
    deduction_reason: str | None = None
    #: What the remittance says is paid per document (820 RMR04, camt RmtdAmt), in the
    #: payment's currency: applied as stated when it adds up to the payment.
    doc_amounts: tuple[tuple[str, Decimal], ...] = ()
    #: The discount the remittance says was taken per document (820 RMR06, camt
    #: DscntApldAmt, REMADV), in the payment's currency: a deduction, not a short pay.
    doc_discounts: tuple[tuple[str, Decimal], ...] = ()
    #: Line id of a debit in the same bank files that returns this credit (see
    #: ``inputs.returned_credits``): the credit is then never applied automatically.
    returned_by: str | None = None


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An open receivable (invoice) that a payment may be applied to."""

    invoice_number: str
    customer_id: str
    open_amount: Money
    issue_date: date
    due_date: date | None = None
    #: Early-payment discount allowed when paid on or before ``discount_until``.
    discount: Money | None = None
    discount_until: date | None = None


@dataclass(frozen=True, slots=True)
class CustomerRef:
    customer_id: str
    name: str
    bank_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CashPolicy:
    """Tolerances and bounds; versioned so every result can name the rules it used."""

    #: Short pay written off as a deduction when the residual is at most this amount...
    short_pay_fixed: Decimal = Decimal("0")
    #: ...or at most this fraction of the amount referenced.
    short_pay_percent: Decimal = Decimal("0.03")
    #: Amount tiers only look at invoices issued within this many days before the payment.
    lookback_days: int = 365
    #: ...and at most this many days after it (invoice dated after a prepayment).
    lookahead_days: int = 5
    fuzzy_cutoff: float = 88.0
    #: Top two fuzzy candidates closer than this are a tie: the name does not decide (a
    #: point or two of token_sort_ratio is one letter in a long name).
    fuzzy_tie_margin: float = 3.0
    fuzzy_scorer: str = "token_sort_ratio"
    subset_max_items: int = 20
    #: Reachable sums per half before subset-sum gives up (keeps each payment bounded).
    subset_max_states: int = 200_000
    min_ref_digits: int = 3
    rule_version: str = "cash-2026.3"


class Status(StrEnum):
    AUTO = "auto"
    SUGGESTED = "suggested"


class Rule(StrEnum):
    REFERENCE = "reference"
    REFERENCE_SUBSET = "reference_subset"
    REFERENCE_DISCOUNT = "reference_discount"
    REFERENCE_SHORT_TOLERANCE = "reference_short_tolerance"
    #: the amounts the remittance states per invoice, adding up to the payment
    REFERENCE_REMITTANCE = "reference_remittance"
    #: the referenced invoices less the credit memos the payment also names, exactly
    REFERENCE_CREDIT = "reference_credit"
    REFERENCE_SHORT = "reference_short"
    REFERENCE_OVER = "reference_over"
    UNIQUE_AMOUNT = "unique_amount"
    SUBSET_SUM = "subset_sum"


class PartyRule(StrEnum):
    REFERENCE = "reference"
    ACCOUNT = "account"
    ALIAS = "alias"
    NAME = "name"
    FUZZY = "fuzzy"


class Category(StrEnum):
    UNAPPLIED = "UNAPPLIED"
    UNIDENTIFIED_INVOICE = "UNIDENTIFIED_INVOICE"
    SHORT_PAY = "SHORT_PAY"
    OVERPAY = "OVERPAY"
    AMBIGUOUS = "AMBIGUOUS"
    DUPLICATE_OPEN_ITEM = "DUPLICATE_OPEN_ITEM"
    #: the remittance names invoices in another currency than the payment's
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    #: the invoices the line names have nothing left open: an earlier line of the run is
    #: applied or suggested to them (a duplicate payment?)
    ALREADY_APPLIED = "ALREADY_APPLIED"
    #: a debit in the same bank files returns this credit (a SEPA return, a bounced item)
    RETURNED = "RETURNED"


@dataclass(frozen=True, slots=True)
class Application:
    invoice_number: str
    customer_id: str
    amount: Money
    #: Residual written off on this invoice (short pay within tolerance).
    deduction: Money | None = None


@dataclass(frozen=True, slots=True)
class Flags:
    reference_match: bool
    party_match: bool
    amount_match: bool


@dataclass(frozen=True)
class Proposal:
    """One payment applied to one or more invoices: a single match group."""

    line_id: str
    customer_id: str
    applications: tuple[Application, ...]
    status: Status
    rule: Rule
    confidence: Decimal
    flags: Flags
    #: The payment remainder put on account (overpayment).
    on_account: Money | None = None
    #: Why the deducted residual was written off (remittance reason code or the rule).
    deduction_reason: str | None = None

    @property
    def proposal_id(self) -> str:
        return proposal_id(self.line_id, self.applications)

    @property
    def applied(self) -> Decimal:
        return sum((a.amount.amount for a in self.applications), Decimal(0))


def proposal_id(line_id: str, applications: tuple[Application, ...]) -> str:
    """Stable id of a proposal: the line and exactly what it applies where."""
    applied = sorted(f"{a.invoice_number}={a.amount.amount}" for a in applications)
    parts = ["cash", line_id, *applied]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class CashException:
    line_id: str
    category: Category
    amount: Money
    reason: str
    customer_id: str | None = None
    invoice_numbers: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LineResult:
    line: CashLine
    customer_id: str | None
    party_rule: PartyRule | None
    proposal: Proposal | None
    exceptions: tuple[CashException, ...] = ()

    @property
    def remainder(self) -> Money:
        """Payment amount not applied by the proposal (on account or unapplied)."""
        applied = self.proposal.applied if self.proposal else Decimal(0)
        return Money(self.line.amount.amount - applied, self.line.amount.currency)
