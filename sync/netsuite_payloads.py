"""NetSuite REST bodies: customer and sales-order upserts by external id (pure functions).

A sales order carries the whole contract (every line, closed lines on cancellation), so an
upsert of the latest version is the whole change; ``custcol_bb_line_id`` keeps our line id
on each item line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from canonical import Contract, ContractLine, ContractStatus, Customer


def customer(rec: Customer, ext: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"externalId": ext, "companyName": rec.name}
    if rec.currency:
        payload["currency"] = {"refName": rec.currency}
    if rec.payment_terms:
        payload["terms"] = {"refName": rec.payment_terms}
    if rec.tax_ids:
        payload["vatRegNumber"] = rec.tax_ids[0].value
    if rec.bill_to and rec.bill_to.address:
        a = rec.bill_to.address
        payload["defaultAddress"] = {
            "addr1": a.line1,
            "addr2": a.line2,
            "city": a.city,
            "state": a.region,
            "zip": a.postal_code,
            "country": a.country,
        }
    payload["isInactive"] = rec.status.value in ("inactive", "closed")
    return payload


def _line(line: ContractLine, closed: bool) -> dict[str, Any]:
    return {
        "item": {"externalId": line.sku},
        "custcol_bb_line_id": line.line_id,
        "quantity": str(line.quantity),
        "rate": str(line.net_unit_price.amount),
        "description": line.description,
        "isClosed": closed,
    }


def sales_order(rec: Contract, ext: str, customer_ext: str) -> dict[str, Any]:
    closed = rec.status in (ContractStatus.CANCELLED, ContractStatus.EXPIRED)
    end: date | None = rec.cancellation_date if closed and rec.cancellation_date else rec.end_date
    return {
        "externalId": ext,
        "entity": {"externalId": customer_ext},
        "currency": {"refName": rec.currency},
        "tranDate": rec.start_date.isoformat(),
        "startDate": rec.start_date.isoformat(),
        "endDate": end.isoformat() if end else None,
        "otherRefNum": rec.number,
        "item": {"items": [_line(ln, closed) for ln in rec.lines]},
    }
