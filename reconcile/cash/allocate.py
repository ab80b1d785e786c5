"""Turning a chosen set of invoices and a payment amount into a proposal.

Shared by every tier. ``Remaining`` tracks what is still open on each invoice across the
whole run, so no two payments together apply more than an invoice's open amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from canonical import Money, minor_units
from reconcile.cash.ledger import Item
from reconcile.cash.model import Application, CashPolicy


def money(minor: int, currency: str) -> Money:
    """Money from integer minor units (exact)."""
    return Money(Decimal(minor).scaleb(-minor_units(currency)), currency)


@dataclass
class Remaining:
    """Open amount per invoice (minor units) after the applications proposed so far.

    An automatic proposal consumes what it applies; a suggestion only holds it: no later
    proposal applies held money either (the suggestion may be accepted), but a later
    payment's "only one invoice or combination fits" must count the held invoices as
    candidates (``unheld``), or a suggestion nobody accepted would make it automatic."""

    _left: dict[str, int] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)

    def of(self, item: Item) -> int:
        """What a new proposal may apply."""
        return self.unheld(item) - self._held.get(item.invoice_number, 0)

    def unheld(self, item: Item) -> int:
        """Open after automatic proposals, suggestions not counted."""
        return self._left.get(item.invoice_number, item.open_minor)

    def consume(self, item: Item, minor: int, *, hold: bool = False) -> None:
        """Apply ``minor`` (``hold``: reserve it for a suggestion). A credit memo (negative
        open amount) is consumed with a negative ``minor``, at most what it has open."""
        left = self.of(item)
        if minor > max(left, 0) or minor < min(left, 0):  # a programming error, never data
            raise AssertionError(f"over-application of {item.invoice_number}")
        if hold:
            self._held[item.invoice_number] = self._held.get(item.invoice_number, 0) + minor
        else:
            self._left[item.invoice_number] = self.unheld(item) - minor

    def demote(self, invoice_number: str, minor: int) -> None:
        """What an automatic proposal consumed is only held now: it was demoted to a
        suggestion after its tier ran (so it stays a candidate for "only one fits")."""
        self._left[invoice_number] += minor
        self._held[invoice_number] = self._held.get(invoice_number, 0) + minor


def within_tolerance(residual: int, expected: int, currency_exp: int, policy: CashPolicy) -> bool:
    """Short pay small enough to write off: fixed amount or percentage of what was due."""
    fixed_minor = int(policy.short_pay_fixed.scaleb(currency_exp))
    pct_minor = Decimal(expected) * policy.short_pay_percent
    return residual <= fixed_minor or Decimal(residual) <= pct_minor


@dataclass(frozen=True, slots=True)
class Allocation:
    """(item, applied minor units, deducted minor units) per invoice."""

    parts: tuple[tuple[Item, int, int], ...]

    def applications(self, currency: str) -> tuple[Application, ...]:
        return tuple(
            Application(
                item.invoice_number,
                item.customer_id,
                money(applied, currency),
                money(deducted, currency) if deducted else None,
            )
            for item, applied, deducted in self.parts
        )

    @property
    def applied(self) -> int:
        return sum(applied for _, applied, _ in self.parts)


def full(items: list[Item], left: list[int]) -> Allocation:
    """Each invoice paid in full."""
    return Allocation(tuple((it, amt, 0) for it, amt in zip(items, left, strict=True)))


def fifo(items: list[Item], left: list[int], payment: int) -> Allocation:
    """Pay the oldest first until the payment is used up (residuals stay open)."""
    parts: list[tuple[Item, int, int]] = []
    rest = payment
    for item, amount in zip(items, left, strict=True):
        if rest <= 0:
            break
        take = min(rest, amount)
        parts.append((item, take, 0))
        rest -= take
    return Allocation(tuple(parts))


def with_deduction(items: list[Item], left: list[int], payment: int) -> Allocation:
    """Close every invoice; the shortfall is deducted from the largest invoice first (the
    newest of equal ones), where it is the smallest share: deducting it from the newest
    wrote a whole small invoice off as a "deduction" of a 1.5 % short pay."""
    short = sum(left) - payment
    order = sorted(range(len(items)), key=lambda i: (-left[i], -i))
    deducted = [0] * len(items)
    for i in order:
        deducted[i] = min(short, left[i])
        short -= deducted[i]
    return Allocation(
        tuple(
            (item, amount - cut, cut)
            for item, amount, cut in zip(items, left, deducted, strict=True)
            if amount > 0
        )
    )
