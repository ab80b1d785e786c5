"""SQL text for the UAT queries: exact decimal literals and Python's ``str.strip`` in DuckDB.

Money stays exact: Python Decimals become DECIMAL literals of their own precision (the
engine's ``literal`` casts to DECIMAL(38,10), which would round a finer rounding step).
"""

from __future__ import annotations

from decimal import Decimal

from billbridge.errors import ConfigError
from reconcile.engine.sql import stripped

#: DuckDB's widest exact decimal
MAX_DIGITS = 38


def strip_sql(expr: str) -> str:
    """``expr.strip()`` as SQL (NULL stays NULL): the one trimming rule for codes, shared
    with the engine's translation join so a code is trimmed alike everywhere."""
    return stripped(expr)


def decimal_sql(value: Decimal) -> str:
    """``value`` as an exact DECIMAL literal (its own scale, so no rounding)."""
    if not value.is_finite():
        raise ConfigError(f"not a finite number: {value}")
    text = format(value, "f")
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    scale = max(0, -exponent)
    width = max(len(digits) + max(0, exponent), scale + 1)
    if width > MAX_DIGITS:
        raise ConfigError(f"{value} has more than {MAX_DIGITS} digits")
    return f"CAST('{text}' AS DECIMAL({width},{scale}))"


def fraction_digits_sql(text: str) -> str:
    """Digits after the point of a number's text: the exponent Python's Decimal would keep
    for it (the engine writes plain decimals: "520.4", "-8000")."""
    return f"(CASE WHEN contains({text}, '.') THEN length({text}) - strpos({text}, '.') ELSE 0 END)"


def half_even_sql(num: str, den: str) -> str:
    """num / den for num >= 0, den > 0 (HUGEINT), rounded half to even as
    ``Decimal.quantize`` does (DuckDB divides decimals in DOUBLE)."""
    q, r = f"({num} // {den})", f"({num} % {den})"
    return (
        f"({q} + CASE WHEN {r} > {den} - {r} OR ({r} = {den} - {r} AND {q} % 2 = 1) "
        "THEN 1 ELSE 0 END)"
    )
