"""Customer payments in the NetSuite fake: the ``apply`` sublist settles invoices.

Like NetSuite, an applied line must name an open invoice of the payment's customer and may
not exceed its amount remaining, and the lines together may not exceed the payment; the
invoices' ``amountRemaining`` goes down (status B, Paid In Full, at zero). Upserting the
same payment again first gives back what it applied before, so a resend settles nothing
twice.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


class PaymentRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def _amount(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PaymentRefused("INVALID_FLD_VALUE", f"Invalid number {value!r} for {what}.") from None


def _lines(body: dict[str, Any]) -> list[tuple[str, Decimal]]:
    items = (body.get("apply") or {}).get("items") or []
    return [
        (str(it["doc"]["id"]), _amount(it.get("amount"), "amount"))
        for it in items
        if it.get("apply", True)
    ]


def settle(
    invoices: dict[str, dict[str, Any]], existing: dict[str, Any] | None, body: dict[str, Any]
) -> None:
    """Check and apply the payment's lines to ``invoices`` (by internal id), in place."""
    before = _lines(existing) if existing else []
    for doc, amount in before:  # an update replaces what this payment applied before
        invoices[doc]["amountRemaining"] = Decimal(invoices[doc]["amountRemaining"]) + amount
        invoices[doc]["status"] = {"id": "A", "refName": "Open"}
    merged = {**(existing or {}), **body}
    customer = str((merged.get("customer") or {}).get("id") or "")
    total = _amount(merged.get("payment"), "payment")
    lines = _lines(merged)
    try:
        applied = Decimal(0)
        for doc, amount in lines:
            inv = invoices.get(doc)
            if inv is None:
                raise PaymentRefused("INVALID_KEY_OR_REF", f"Invalid doc reference key {doc}.")
            if str((inv.get("entity") or {}).get("id")) != customer:
                raise PaymentRefused(
                    "INVALID_KEY_OR_REF", f"Invoice {doc} does not belong to customer {customer}."
                )
            remaining = Decimal(inv.get("amountRemaining") or 0)
            if (inv.get("status") or {}).get("id") != "A" or amount > remaining:
                raise PaymentRefused(
                    "USER_ERROR",
                    f"You cannot apply {amount} to invoice {doc}: {remaining} is due.",
                )
            applied += amount
        if applied > total:
            raise PaymentRefused("USER_ERROR", "The applied total exceeds the payment amount.")
    except PaymentRefused:
        for doc, amount in before:  # nothing changes on a refused request
            invoices[doc]["amountRemaining"] = Decimal(invoices[doc]["amountRemaining"]) - amount
            if invoices[doc]["amountRemaining"] == 0:
                invoices[doc]["status"] = {"id": "B", "refName": "Paid In Full"}
        raise
    for doc, amount in lines:
        inv = invoices[doc]
        inv["amountRemaining"] = Decimal(inv["amountRemaining"]) - amount
        if inv["amountRemaining"] == 0:
            inv["status"] = {"id": "B", "refName": "Paid In Full"}
