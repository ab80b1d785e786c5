"""Seed a FakeNetSuite with records in the REST record shapes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from billbridge.testing.fake_netsuite import FakeNetSuite
from tests.connectors.netsuite_fixtures.helpers import fixture_json

T0 = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)

INVOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"title": "Internal ID", "type": "string", "readOnly": True},
        "tranId": {"title": "Invoice #", "type": "string"},
        "tranDate": {"title": "Date", "type": "string", "format": "date"},
        "entity": {
            "title": "Customer",
            "type": "object",
            "properties": {"id": {"type": "string"}, "refName": {"type": "string"}},
        },
        "total": {"title": "Total", "type": "number", "readOnly": True},
        "custbody_zuora_invoice": {
            "title": "Zuora Invoice",
            "type": "string",
            "x-ns-custom-field": True,
        },
    },
    "required": ["entity"],
}


def invoice_body(n: int) -> dict[str, Any]:
    body = copy.deepcopy(fixture_json("invoice_8938.json"))
    body.update(
        {"id": str(9000 + n), "tranId": f"INV-{2000 + n}", "externalId": f"ZUORA-INV{n:08d}"}
    )
    return body


def customer_body(n: int) -> dict[str, Any]:
    return {
        "id": str(100 + n),
        "entityId": f"C-{n:04d}",
        "companyName": f"Customer {n}",
        "externalId": f"SF-001{n:05d}",
        "isInactive": False,
        "email": f"ap{n}@example.com",
        "currency": {"id": "1", "refName": "USD"},
        "subsidiary": {"id": "1", "refName": "HQ"},
        "terms": {"id": "2", "refName": "Net 30"},
        "creditLimit": 5000,
    }


def seed(fake: FakeNetSuite, *, invoices: int = 3, customers: int = 0) -> None:
    for n in range(1, invoices + 1):
        fake.add("invoice", invoice_body(n), modified=T0 + timedelta(minutes=n))
    for n in range(1, customers + 1):
        fake.add("customer", customer_body(n), modified=T0 + timedelta(minutes=n))
    fake.schemas["invoice"] = INVOICE_SCHEMA
