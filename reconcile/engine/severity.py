"""Severity from amount and age (reconciliation.md §3; Lerian Matcher defaults)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule


def severity(
    amount: Decimal | None, age_days: int, rules: Sequence[SeverityRule] = DEFAULT_SEVERITY
) -> str:
    """First rule (highest first) whose amount OR age threshold is reached."""
    size = abs(amount) if amount is not None else Decimal(0)
    for rule in rules:
        if rule.min_amount is None and rule.min_age_days is None:
            return rule.level
        if rule.min_amount is not None and size >= rule.min_amount:
            return rule.level
        if rule.min_age_days is not None and age_days >= rule.min_age_days:
            return rule.level
    return rules[-1].level if rules else "LOW"


def severity_sql(amount: str, rules: Sequence[SeverityRule] = DEFAULT_SEVERITY) -> str:
    """:func:`severity` at age 0 as a SQL expression over the amount expression ``amount``
    (the engine computes it with the exception rows instead of once per row in Python)."""
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
