from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonical.numbers import parse_amount_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1,234,567", "1234567"),
        ("$1,234.56", "1234.56"),
        ("1,234.56 €", "1234.56"),
        ("(12.50)", "-12.50"),
        ("12.50-", "-12.50"),
        (" -3 ", "-3"),
        # NetSuite and US banks: the symbol inside the sign or the brackets
        ("($1,234.56)", "-1234.56"),
        ("-$1,234.56", "-1234.56"),
        ("$-1,234.56", "-1234.56"),
        ("(1,234.56 €)", "-1234.56"),
        ("1.00 $-", "-1.00"),
    ],
)
def test_exported_amounts_are_read_exactly(text: str, expected: str) -> None:
    assert parse_amount_text(text) == Decimal(expected)
    assert str(parse_amount_text(text)) == expected


@pytest.mark.parametrize(
    "text", ["1,5", "1.234,56", "12,34,567", "abc", "", "1,2345", "1$234", "$$1", "($1"]
)
def test_ambiguous_or_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount_text(text)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_grouped_formatting_round_trips(value: Decimal) -> None:
    assert parse_amount_text(f"{value:,}") == value
