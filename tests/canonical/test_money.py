from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonical import (
    CurrencyMismatchError,
    Invoice,
    Money,
    UnknownCurrencyError,
    minor_units,
    sum_money,
)


@pytest.mark.parametrize(
    ("code", "digits"),
    [("JPY", 0), ("USD", 2), ("EUR", 2), ("BHD", 3), ("KWD", 3), ("CLF", 4), ("usd", 2)],
)
def test_minor_units_follow_iso_4217(code: str, digits: int) -> None:
    assert Money("1", code).exponent == digits


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError):
        minor_units("ABC")
    with pytest.raises(ValueError, match="ABC"):
        Money("1.00", "ABC")


def test_float_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        Money(0.1, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1,5", "", "abc"])
def test_non_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Money(bad, "USD")


def test_arithmetic_across_currencies_raises() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        Money("1", "USD") < Money("2", "EUR")  # noqa: B015
    with pytest.raises(CurrencyMismatchError):
        sum_money([Money("1", "USD"), Money("1", "GBP")], "USD")


def test_from_minor_uses_the_currency_exponent() -> None:
    assert Money.from_minor(12345, "USD").amount == Decimal("123.45")
    assert Money.from_minor(12345, "JPY").amount == Decimal("12345")
    assert Money.from_minor(12345, "BHD").amount == Decimal("12.345")
    assert Money.from_minor(-5, "USD").amount == Decimal("-0.05")


def test_to_minor_refuses_sub_minor_digits() -> None:
    assert Money("10.50", "USD").to_minor() == 1050
    with pytest.raises(ValueError, match="more decimals"):
        Money("10.505", "USD").to_minor()
    with pytest.raises(ValueError):
        Money("1.5", "JPY").to_minor()


def test_parsing_never_rounds_and_quantize_is_explicit() -> None:
    m = Money("10.00545", "EUR")
    assert m.amount == Decimal("10.00545")
    assert m.quantize().amount == Decimal("10.01")
    assert Money("2.5", "JPY").quantize().amount == Decimal("3")
    assert Money("0.0005", "BHD").quantize().amount == Decimal("0.001")


def test_sum_and_serialisation_keep_exactness() -> None:
    total = sum([Money("0.10", "USD")] * 3)
    assert total == Money("0.30", "USD")
    assert Money("1.10", "USD").model_dump() == {"amount": Decimal("1.10"), "currency": "USD"}
    assert Money("1.10", "USD").model_dump_json() == '{"amount":"1.10","currency":"USD"}'
    assert Money.model_validate_json('{"amount":"1.10","currency":"USD"}') == Money("1.1", "USD")


def test_money_is_immutable() -> None:
    m = Money("1", "USD")
    with pytest.raises(ValueError):
        m.amount = Decimal(2)  # type: ignore[misc]


def test_invoice_refuses_amounts_in_another_currency() -> None:
    with pytest.raises(ValueError, match="EUR"):
        Invoice(
            source_system="zuora",
            source_id="1",
            number="INV-1",
            customer_id="C1",
            issue_date="2026-01-01",
            currency="USD",
            subtotal=Money("1", "USD"),
            tax_total=Money("0", "USD"),
            total=Money("1", "EUR"),
        )


cents = st.integers(min_value=-(10**12), max_value=10**12)


@given(a=cents, b=cents, ccy=st.sampled_from(["USD", "JPY", "BHD"]))
def test_addition_matches_integer_minor_units(a: int, b: int, ccy: str) -> None:
    total = Money.from_minor(a, ccy) + Money.from_minor(b, ccy)
    assert total.to_minor() == a + b
    assert (Money.from_minor(a, ccy) - Money.from_minor(b, ccy)).to_minor() == a - b
