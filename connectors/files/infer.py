"""Guess a column's type from its values (for ``describe`` and the spec editor)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_INT = re.compile(r"^[-+]?\d{1,3}(,\d{3})*$|^[-+]?\d+$")
_NUMBER = re.compile(r"^\(?[-+]?(\d{1,3}([,.\s]\d{3})*|\d+)([.,]\d+)?\)?-?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")
_BOOL = {"true", "false", "yes", "no", "t", "f"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, Decimal | float):
        return "number"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    text = str(value).strip()
    if text.lower() in _BOOL:
        return "boolean"
    if _INT.match(text):
        return "integer"
    if _NUMBER.match(text):
        return "number"
    if _DATE.match(text):
        return "date"
    if _DATETIME.match(text):
        return "datetime"
    return "string"


def infer_type(values: Iterable[Any]) -> str:
    """The narrowest type every non-blank value fits (integer widens to number)."""
    kinds = {_kind(v) for v in values if v is not None and str(v).strip() != ""}
    if not kinds:
        return "string"
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else "string"
