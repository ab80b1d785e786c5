"""Pure value conversions a rule applies: whitespace, case, dates, numbers, booleans.

Every conversion is explicit (a date format, a decimal separator, a time zone); failures
raise :class:`RuleFailure` with a message an analyst understands.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mappings.paths import ABSENT

_SPACES = re.compile(r"\s+")
ISO = "iso8601"


class RuleFailure(ValueError):
    """A value could not be converted as the rule says."""


def is_blank(value: Any) -> bool:
    if value is None or value is ABSENT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def normalise_text(value: Any, *, strip: bool, collapse: bool, case: str | None) -> Any:
    if not isinstance(value, str):
        return value
    if collapse:
        value = _SPACES.sub(" ", value)
    if strip or collapse:
        value = value.strip()
    if case == "upper":
        value = value.upper()
    elif case == "lower":
        value = value.lower()
    elif case == "title":
        value = value.title()
    return value


def to_text(value: Any) -> str:
    """Text form of a scalar; integral numbers lose their ``.0`` (ids read from XLSX)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < Decimal(10) ** 18:
            return str(int(value))
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def parse_decimal(
    value: Any, *, decimal_sep: str = ".", thousands_sep: str | None = None
) -> Decimal:
    """Decimal from text with explicit separators; ints and Decimals pass through.

    Floats (JSON numbers from some vendor SDKs, XLSX cells) are taken by their shortest
    repr, which is the text the number was written as; they are never used as binary.
    Accounting negatives in parentheses ``(1,234.50)`` are accepted.
    """
    if isinstance(value, bool):
        raise RuleFailure(f"{value!r} is a boolean, not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise RuleFailure(f"{value!r} is not a number")
    text = value.strip()
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    if thousands_sep:
        text = text.replace(thousands_sep, "")
    if decimal_sep != ".":
        if "." in text and decimal_sep != "." and thousands_sep != ".":
            raise RuleFailure(f"{value!r}: '.' found but the decimal separator is {decimal_sep!r}")
        text = text.replace(decimal_sep, ".")
    if text.endswith("-"):  # trailing minus (SAP and some bank exports)
        text = "-" + text[:-1]
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise RuleFailure(
            f"{value!r} is not a number with decimal separator {decimal_sep!r}"
            + (f" and thousands separator {thousands_sep!r}" if thousands_sep else "")
        )
    try:
        result = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise RuleFailure(f"{value!r} is not a number") from None
    return -result if negative else result


def parse_integer(value: Any, **seps: Any) -> int:
    number = parse_decimal(value, **seps)
    if number != number.to_integral_value():
        raise RuleFailure(f"{value!r} is not a whole number")
    return int(number)


def _formats(fmt: str | list[str] | None) -> list[str]:
    if fmt is None:
        return [ISO]
    return [fmt] if isinstance(fmt, str) else list(fmt)


def parse_date(value: Any, fmt: str | list[str] | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise RuleFailure(f"{value!r} is not a date")
    text = value.strip()
    for f in _formats(fmt):
        try:
            if f == ISO:
                return (
                    date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
                )
            return datetime.strptime(text, f).date()  # noqa: DTZ007 - business date, no zone
        except ValueError:
            continue
    raise RuleFailure(f"{value!r} does not match date format {' or '.join(_formats(fmt))}")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleFailure(f"unknown time zone {name!r}") from None


def parse_datetime(value: Any, fmt: str | list[str] | None, tz: str | None) -> datetime:
    """Aware datetime. A value without an offset needs ``timezone`` (e.g. a Zuora tenant's)."""
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        for f in _formats(fmt):
            try:
                if f == ISO:
                    iso = text.replace("Z", "+00:00")
                    if len(iso) > 5 and iso[-5] in "+-" and iso[-3] != ":" and "T" in iso:
                        iso = f"{iso[:-2]}:{iso[-2:]}"  # Salesforce +0000
                    parsed = datetime.fromisoformat(iso)
                else:
                    parsed = datetime.strptime(text, f)  # noqa: DTZ007 - zone applied below
                break
            except ValueError:
                continue
        if parsed is None:
            raise RuleFailure(
                f"{value!r} does not match datetime format {' or '.join(_formats(fmt))}"
            )
    else:
        raise RuleFailure(f"{value!r} is not a date-time")
    if parsed.tzinfo is None:
        if tz is None:
            raise RuleFailure(f"{value!r} has no time zone and the rule declares no timezone")
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed


def parse_boolean(value: Any, true_values: list[str], false_values: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = to_text(value).strip().lower()
    if text in {v.lower() for v in true_values}:
        return True
    if text in {v.lower() for v in false_values}:
        return False
    raise RuleFailure(f"{value!r} is neither true ({true_values}) nor false ({false_values})")
