"""ZOQL conditions and the describe XML of the Zuora fake."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

ZOQL = re.compile(
    r"select\s+(?P<fields>.+?)\s+from\s+(?P<obj>\w+)(?:\s+where\s+(?P<where>.+))?$", re.I | re.S
)
COND = re.compile(r"(\w+)\s*(>=|<=|=|>|<)\s*'((?:[^'\\]|\\.)*)'")


def holds(row: dict[str, Any], cond: tuple[str, str, str]) -> bool:
    field, op, literal = cond
    value = row.get(field)
    if value is None:
        return False
    if field.endswith("Date"):
        left, right = datetime.fromisoformat(str(value)), datetime.fromisoformat(literal)
        if left.tzinfo is None or right.tzinfo is None:
            left, right = left.replace(tzinfo=None), right.replace(tzinfo=None)
        return {
            "=": left == right,
            ">=": left >= right,
            "<=": left <= right,
            ">": left > right,
            "<": left < right,
        }[op]
    literal = literal.replace("\\'", "'")
    return {
        "=": str(value) == literal,
        ">=": str(value) >= literal,
        "<=": str(value) <= literal,
        ">": str(value) > literal,
        "<": str(value) < literal,
    }[op]


def describe_xml(obj: str) -> str:
    fields = {
        "Account": [
            "Id",
            "AccountNumber",
            "Name",
            "Currency",
            "Status",
            "UpdatedDate",
            "BillBridgeId__c",
        ],
        "Subscription": [
            "Id",
            "Name",
            "Status",
            "Version",
            "TermStartDate",
            "UpdatedDate",
            "BillBridgeId__c",
        ],
    }.get(obj, ["Id", "UpdatedDate"])
    body = "".join(_field_xml(f) for f in fields)
    head = "<?xml version='1.0' encoding='UTF-8'?>"
    return f"{head}<object><name>{obj}</name><fields>{body}</fields></object>"


def _field_xml(name: str) -> str:
    kind = "datetime" if name.endswith("Date") else "text"
    required = "true" if name == "Id" else "false"
    custom = "true" if name.endswith("__c") else "false"
    updateable = "false" if name in {"Id", "UpdatedDate"} else "true"
    return (
        f"<field><name>{name}</name><label>{name}</label><type>{kind}</type>"
        f"<required>{required}</required><custom>{custom}</custom>"
        f"<updateable>{updateable}</updateable></field>"
    )
