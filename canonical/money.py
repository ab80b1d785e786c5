"""Money: an exact Decimal amount in one ISO 4217 currency.

Rules: floats are refused (they cannot represent cents); arithmetic across currencies raises;
parsing never rounds (camt files carry up to 5 decimals) and rounding to the currency's
minor unit is explicit via :meth:`Money.quantize`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from canonical.currencies import minor_units, normalize_currency


class CurrencyMismatchError(ValueError):
    """Arithmetic or comparison between amounts in different currencies."""


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Convert text, int or Decimal to a finite Decimal. Floats are refused."""
    if isinstance(value, bool | float):
        raise TypeError(f"{field}: float is not allowed for money, pass a str or Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise TypeError(f"{field}: cannot make a decimal from {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    return result


class Money(BaseModel):
    """An amount and its currency. Immutable; ``Money("10.00", "USD")`` is the short form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal
    currency: str

    def __init__(self, amount: Any = None, currency: Any = None, /, **data: Any) -> None:
        if amount is not None:
            data["amount"] = amount
        if currency is not None:
            data["currency"] = currency
        super().__init__(**data)

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_amount(cls, value: object) -> Decimal:
        return to_decimal(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _iso_currency(cls, value: object) -> str:
        if not isinstance(value, str):
            raise TypeError("currency must be an ISO 4217 code")
        return normalize_currency(value)

    @field_serializer("amount", when_used="json")
    def _amount_as_text(self, amount: Decimal) -> str:
        return str(amount)

    # construction helpers -------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Self:
        """Build from integer minor units (cents): ``from_minor(12345, "USD")`` is 123.45."""
        exp = minor_units(normalize_currency(currency))
        return cls(Decimal(units).scaleb(-exp), currency)

    # properties ----------------------------------------------------------
    @property
    def exponent(self) -> int:
        return minor_units(self.currency)

    def to_minor(self) -> int:
        """Integer minor units; raises when the amount has sub-minor digits."""
        scaled = self.amount.scaleb(self.exponent)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{self} has more decimals than {self.currency} allows")
        return int(scaled)

    def is_whole_minor(self) -> bool:
        scaled = self.amount.scaleb(self.exponent)
        return scaled == scaled.to_integral_value()

    def quantize(self, rounding: str = ROUND_HALF_UP) -> Money:
        """Round to the currency's minor unit (half-up unless told otherwise)."""
        quantum = Decimal(1).scaleb(-self.exponent)
        return Money(self.amount.quantize(quantum, rounding=rounding), self.currency)

    # arithmetic ----------------------------------------------------------
    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __radd__(self, other: object) -> Money:
        # sum() starts from int 0
        if other == 0 and not isinstance(other, Money):
            return self
        return self.__add__(other)

    def __sub__(self, other: object) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor, field="factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: object) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: object) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: object) -> bool:
        return self.amount >= self._same(other).amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"


def sum_money(items: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """Sum amounts that must all be in ``currency`` (an empty list sums to zero)."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total
