"""BAI2 / BTRS type codes: level (status, summary, detail) and direction.

The sign of a BAI2 amount comes from here, never from the amount or its text. The table
(``type_codes.csv``) is derived from the MIT-licensed ``bai2`` package's code list, which
follows the BAI2 2005 specification; codes the table lacks fall back to the ranges the
specification reserves (100-399 credits, 400-699 debits, 900-999 customised).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from billbridge.errors import ConfigError

Direction = Literal["credit", "debit", "none"]
Level = Literal["status", "summary", "detail"]


@dataclass(frozen=True)
class TypeCode:
    code: str
    direction: Direction
    level: Level
    description: str
    known: bool = True  # False when only the range said what it is


@cache
def table() -> dict[str, TypeCode]:
    text = resources.files(__package__).joinpath("type_codes.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    result: dict[str, TypeCode] = {}
    for row in rows:
        direction: Direction = "none"
        if row["direction"] in ("credit", "debit"):
            direction = "credit" if row["direction"] == "credit" else "debit"
        level: Level = "detail"
        if row["level"] in ("status", "summary"):
            level = "status" if row["level"] == "status" else "summary"
        result[row["code"]] = TypeCode(row["code"], direction, level, row["description"])
    return result


def lookup(code: str) -> TypeCode | None:
    """The type code's meaning, from the table or the reserved ranges; None if unknowable."""
    code = code.strip()
    if not (len(code) == 3 and code.isdigit()):
        return None
    found = table().get(code)
    if found is not None:
        return found
    n = int(code)
    if 1 <= n <= 99 or 900 <= n <= 919:
        return TypeCode(code, "none", "status", "custom status" if n >= 900 else "", False)
    if 100 <= n <= 399 or 920 <= n <= 959:
        return TypeCode(code, "credit", "detail", "custom credit" if n >= 900 else "", False)
    if 400 <= n <= 699 or 960 <= n <= 999:
        return TypeCode(code, "debit", "detail", "custom debit" if n >= 900 else "", False)
    return None


def is_custom(code: str) -> bool:
    return code.isdigit() and 900 <= int(code) <= 999


def overrides(mapping: dict[str, str]) -> dict[str, TypeCode]:
    """A bank profile's own codes: ``{"950": "debit"}``; "status" makes a balance code."""
    result: dict[str, TypeCode] = {}
    for code, meaning in mapping.items():
        if meaning == "credit":
            result[code] = TypeCode(code, "credit", "detail", "bank-specific")
        elif meaning == "debit":
            result[code] = TypeCode(code, "debit", "detail", "bank-specific")
        elif meaning == "status":
            result[code] = TypeCode(code, "none", "status", "bank-specific")
        else:
            raise ConfigError(f"type code {code}: meaning must be credit, debit or status")
    return result
