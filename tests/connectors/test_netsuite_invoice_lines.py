"""NetSuite invoice REST bodies with non-posting item lines and without ``taxTotal``."""

from __future__ import annotations

import json
from typing import Any

import responses

from canonical import Invoice, Money
from tests.connectors.netsuite_fixtures.helpers import (
    BASE,
    SUITEQL,
    TOKEN_URL,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    fixture_text,
    m2m_settings,
    page,
    token_response,
)

ROW = {
    "links": [],
    "id": "8938",
    "tranid": "INV-1001",
    "externalid": "ZUORA-INV00001234",
    "lastmodified": "2024-05-02 07:03:11",
}


def body() -> dict[str, Any]:
    # the fixture's two billed lines: 1000.00 + 10.50, tax 200.00, total 1210.50
    return json.loads(fixture_text("invoice_8938.json"))


def add_lines(data: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    items = data["item"]["items"]
    for line in lines:
        items.append({"links": [], "line": len(items) + 1, **line})
    data["item"]["count"] = data["item"]["totalResults"] = len(items)
    return data


def read(data: dict[str, Any]) -> tuple[list[Invoice], list[Exception]]:
    from connectors.netsuite import connect

    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.post(SUITEQL, json=page([ROW], offset=0, total=1, has_more=False))
        rsps.get(BASE + "record/v1/invoice/8938", json=data)
        stream = conn.read("invoice")
        found = list(stream)
    assert all(isinstance(r, Invoice) for r in found)
    return found, list(stream.errors)  # type: ignore[return-value]


def test_description_and_subtotal_lines_are_not_billed() -> None:
    """A Description line has no amount (the invoice was rejected: lines.amount required);
    a Subtotal line repeats the lines above it and must not be counted twice."""
    data = add_lines(
        body(),
        {
            "item": {"links": [], "id": "-3", "refName": "Description"},
            "description": "Thank you for your business",
        },
        {
            "item": {"links": [], "id": "412", "refName": "Subtotal"},
            "itemType": {"id": "Subtotal", "refName": "Subtotal"},
            "amount": 1010.5,
        },
        {
            "item": {"links": [], "id": "77", "refName": "Notes"},
            "itemType": "Description",  # the plain-text form of the select
            "description": "Support included",
        },
    )
    [invoice], errors = read(data)
    assert not errors
    assert [line.sku for line in invoice.lines] == ["SKU-PLATFORM", "SKU-OVERAGE"]
    assert invoice.lines_subtotal() == invoice.subtotal == Money("1010.50", "USD")


def test_absent_tax_total_is_zero_only_when_nothing_carries_tax() -> None:
    """REST leaves empty fields out: an account without a tax engine sends no taxTotal."""
    data = body()
    del data["taxTotal"]
    for line in data["item"]["items"]:
        line.pop("taxAmount")
    data["total"] = data["amountRemaining"] = data["subtotal"]
    [invoice], errors = read(data)
    assert not errors
    assert invoice.tax_total == Money("0", "USD") and invoice.total == Money("1010.50", "USD")


def test_absent_tax_total_with_tax_in_the_total_still_rejects_the_invoice() -> None:
    """Total 1210.50 over a subtotal of 1010.50: 200 of tax went missing, it is not zero."""
    data = body()
    del data["taxTotal"]
    [], errors = read(data)
    [error] = errors
    assert "netsuite invoice 8938" in str(error) and "tax_total" in str(error)
