"""JSON on the wire with exact decimals: numbers parse to Decimal and Decimals go out as
JSON numbers (never through float). The stdlib encoder cannot emit a raw number, so
Decimals travel as marked strings that are unquoted after encoding."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_MARK = "\u0001dec:"
_MARKED = re.compile(r'"\\u0001dec:(-?[0-9][0-9.E+-]*)"')


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite number {value}")
        return f"{_MARK}{value}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(obj: Any) -> str:
    return _MARKED.sub(r"\1", json.dumps(obj, default=_default))


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)
