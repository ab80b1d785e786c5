"""Severity from amount and age (reconciliation.md §3; Lerian Matcher defaults)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule


def for_currency(rules: Sequence[SeverityRule], currency: str | None) -> Sequence[SeverityRule]:
    """The rules that size an amount in ``currency``: its own when the definition has any
    (written for it, or from ``severity_rates``), else those without a currency."""
    code = (currency or "").strip().upper()
    own = [r for r in rules if r.currency is not None and r.currency == code]
    return own or [r for r in rules if r.currency is None] or rules


def severity(
    amount: Decimal | None,
    age_days: int,
    rules: Sequence[SeverityRule] = DEFAULT_SEVERITY,
    currency: str | None = None,
) -> str:
    """First rule (highest first) whose amount OR age threshold is reached, among the
    rules for the amount's ``currency`` (:func:`for_currency`)."""
    rules = for_currency(rules, currency)
    size = abs(amount) if amount is not None else Decimal(0)
    for rule in rules:
        if rule.min_amount is None and rule.min_age_days is None:
            return rule.level
        if rule.min_amount is not None and size >= rule.min_amount:
            return rule.level
        if rule.min_age_days is not None and age_days >= rule.min_age_days:
            return rule.level
    return rules[-1].level if rules else "LOW"


def severity_sql(
    amount: str, rules: Sequence[SeverityRule] = DEFAULT_SEVERITY, currency: str = "NULL"
) -> str:
    """:func:`severity` at age 0 as a SQL expression over the amount expression ``amount``
    and the currency expression ``currency`` (the engine computes it with the exception rows
    instead of once per row in Python)."""
    from reconcile.engine.sql import literal

    codes = sorted({r.currency for r in rules if r.currency is not None})
    if not codes:
        return _severity_case(amount, rules)
    code = f"upper(trim({currency}))"
    whens = " ".join(
        f"WHEN {code} = {literal(c)} THEN {_severity_case(amount, for_currency(rules, c))}"
        for c in codes
    )
    return f"(CASE {whens} ELSE {_severity_case(amount, for_currency(rules, None))} END)"


def _severity_case(amount: str, rules: Sequence[SeverityRule]) -> str:
    from reconcile.engine.sql import literal

    size = f"coalesce(abs({amount}), 0)"
    whens = []
    for rule in rules:
        if (rule.min_amount is None and rule.min_age_days is None) or (
            rule.min_age_days is not None and rule.min_age_days <= 0
        ):
            whens.append(f"WHEN TRUE THEN {literal(rule.level)}")
            break
        if rule.min_amount is not None:
            whens.append(f"WHEN {size} >= {literal(rule.min_amount)} THEN {literal(rule.level)}")
    fallback = literal(rules[-1].level if rules else "LOW")
    return f"(CASE {' '.join(whens)} ELSE {fallback} END)"
