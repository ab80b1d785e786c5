"""Small definitions and rows shared by the reconcile tests."""

from __future__ import annotations

from typing import Any

from reconcile.definitions import ReconDefinition, parse_definitions

INVOICES_YAML = """
name: invoices
a: {label: billing}
b: {label: erp}
keys: [{name: number, normalize: [trim, casefold]}]
compare:
  - {name: total, kind: amount, abs: 0.01}
  - {name: issued, kind: date, days: 1}
  - {name: status, kind: status, casefold: true}
amount_field: total
currency_field: currency
context: [{name: currency}]
"""


def invoices() -> ReconDefinition:
    return parse_definitions(INVOICES_YAML, "invoices.yaml")[0]


def row(
    number: str,
    total: str = "100.00",
    issued: str = "2024-03-01",
    status: str = "posted",
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "number": number,
        "total": total,
        "issued": issued,
        "status": status,
        "currency": currency,
    }
