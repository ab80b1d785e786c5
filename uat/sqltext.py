"""SQL text for the UAT queries: exact decimal literals and Python's ``str.strip`` in DuckDB.

Money stays exact: Python Decimals become DECIMAL literals of their own precision (the
engine's ``literal`` casts to DECIMAL(38,10), which would round a finer rounding step).
"""

from __future__ import annotations

from decimal import Decimal

from billbridge.errors import ConfigError
from reconcile.engine.sql import literal

#: every character ``str.isspace`` accepts: ``strip_sql`` trims what ``str.strip()`` trims
#: (DuckDB's ``trim`` alone removes spaces only)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: DuckDB's widest exact decimal
MAX_DIGITS = 38


_EDGE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"
#: RE2 pattern: whitespace at either end
_EDGE_SPACE = literal(f"^{_EDGE}|{_EDGE}$")


def strip_sql(expr: str) -> str:
    """``expr.strip()`` as SQL (NULL stays NULL). ``trim`` with a character list costs
    ~2 µs a value, so only values with whitespace at an end (a regex test) are trimmed."""
    return (
        f"(CASE WHEN regexp_matches({expr}, {_EDGE_SPACE}) "
        f"THEN trim({expr}, {literal(PY_WHITESPACE)}) ELSE {expr} END)"
    )


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
