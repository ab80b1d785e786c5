"""Suppressions: a scope (one exception id, or a pattern), a reason, an owner and an expiry.

Pattern fields (all optional, all must hold): ``category`` (name or list of names),
``key_prefix`` (the exception's key text starts with it), ``min_amount`` / ``max_amount``
(amount band, inclusive), ``currency``. A suppression with a ``recon`` only applies there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from reconcile.exceptions.model import WorkflowError

PATTERN_FIELDS = ("category", "key_prefix", "min_amount", "max_amount", "currency")


@dataclass(frozen=True)
class Suppression:
    id: int
    recon: str | None
    exception_id: str | None
    pattern: dict[str, Any] | None
    reason: str
    owner: str
    expires_at: datetime
    created_at: datetime
    created_by: str

    def active(self, now: datetime) -> bool:
        return now < self.expires_at

    def covers(
        self,
        *,
        recon: str,
        exception_id: str,
        category: str,
        key_text: str,
        amount: Decimal | None,
        currency: str | None,
    ) -> bool:
        if self.recon is not None and self.recon != recon:
            return False
        if self.exception_id is not None:
            return self.exception_id == exception_id
        p = self.pattern or {}
        cats = p.get("category")
        if cats is not None and category not in ([cats] if isinstance(cats, str) else cats):
            return False
        if p.get("key_prefix") is not None and not key_text.startswith(str(p["key_prefix"])):
            return False
        if p.get("currency") is not None and (currency or "") != str(p["currency"]).upper():
            return False
        for bound, inside in (("min_amount", "ge"), ("max_amount", "le")):
            if p.get(bound) is None:
                continue
            if amount is None:
                return False
            limit = Decimal(str(p[bound]))
            if (inside == "ge" and abs(amount) < limit) or (inside == "le" and abs(amount) > limit):
                return False
        return True


def _amount(bound: str, value: Any) -> Decimal:
    """A pattern's amount bound as an exact decimal; a WorkflowError naming it if it is not
    a (finite) amount."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        option = "--" + bound.replace("_", "-")
        raise WorkflowError(f"{option} {value!r} is not an amount (e.g. 1000 or 0.50)")
    return amount


def check_scope(
    exception_id: str | None, pattern: dict[str, Any] | None, recon: str | None
) -> dict[str, Any] | None:
    """Validate a suppression scope; returns the cleaned pattern (amounts as text)."""
    if exception_id is None and not pattern:
        raise WorkflowError("a suppression needs an exception id or a pattern")
    if exception_id is not None and pattern:
        raise WorkflowError("give an exception id or a pattern, not both")
    if not pattern:
        return None
    unknown = set(pattern) - set(PATTERN_FIELDS)
    if unknown:
        raise WorkflowError(f"unknown suppression pattern fields {sorted(unknown)}")
    if recon is None and "category" not in pattern and "key_prefix" not in pattern:
        raise WorkflowError("a pattern suppression needs a recon, a category or a key prefix")
    clean = dict(pattern)
    for bound in ("min_amount", "max_amount"):
        if clean.get(bound) is not None:
            if isinstance(clean[bound], float):
                raise WorkflowError(f"{bound}: give the amount as text, not a float")
            clean[bound] = str(_amount(bound, clean[bound]))
    if clean.get("currency"):
        clean["currency"] = str(clean["currency"]).upper()
    return clean
