"""Customer payments in the NetSuite fake: the ``apply`` sublist settles invoices, the
``credit`` sublist uses up credit memos.

Like NetSuite, an applied line must name an open invoice of the payment's customer and may
not exceed its amount remaining, a credit line an open credit memo of that customer within
its credit left, and the applied lines together may not exceed the payment plus the
credits; the documents' ``amountRemaining`` goes down (status B, Paid In Full / Fully
Applied, at zero). Upserting the same payment again first gives back what it applied
before, so a resend settles nothing twice.
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


def _lines(body: dict[str, Any], sublist: str = "apply") -> list[tuple[str, Decimal]]:
    items = (body.get(sublist) or {}).get("items") or []
    return [
        (str(it["doc"]["id"]), _amount(it.get("amount"), "amount"))
        for it in items
        if it.get("apply", True)
    ]


def _give_back(docs: dict[str, dict[str, Any]], lines: list[tuple[str, Decimal]]) -> None:
    for doc, amount in lines:
        docs[doc]["amountRemaining"] = Decimal(docs[doc]["amountRemaining"]) + amount
        docs[doc]["status"] = {"id": "A", "refName": "Open"}


def _take(docs: dict[str, dict[str, Any]], lines: list[tuple[str, Decimal]], done: str) -> None:
    for doc, amount in lines:
        docs[doc]["amountRemaining"] = Decimal(docs[doc]["amountRemaining"]) - amount
        if docs[doc]["amountRemaining"] == 0:
            docs[doc]["status"] = {"id": "B", "refName": done}


def _check(
    docs: dict[str, dict[str, Any]], lines: list[tuple[str, Decimal]], customer: str, what: str
) -> Decimal:
    total = Decimal(0)
    for doc, amount in lines:
        found = docs.get(doc)
        if found is None:
            raise PaymentRefused("INVALID_KEY_OR_REF", f"Invalid doc reference key {doc}.")
        if str((found.get("entity") or {}).get("id")) != customer:
            raise PaymentRefused(
                "INVALID_KEY_OR_REF", f"{what} {doc} does not belong to customer {customer}."
            )
        remaining = Decimal(found.get("amountRemaining") or 0)
        if (found.get("status") or {}).get("id") != "A" or amount > remaining:
            raise PaymentRefused(
                "USER_ERROR",
                f"You cannot apply {amount} of {what.lower()} {doc}: {remaining} left.",
            )
        total += amount
    return total


def settle(
    invoices: dict[str, dict[str, Any]],
    existing: dict[str, Any] | None,
    body: dict[str, Any],
    credit_memos: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Check and apply the payment's lines to ``invoices`` and ``credit_memos`` (by
    internal id), in place."""
    memos = {} if credit_memos is None else credit_memos
    before = _lines(existing) if existing else []
    before_credit = _lines(existing, "credit") if existing else []
    _give_back(invoices, before)  # an update replaces what this payment applied before
    _give_back(memos, before_credit)
    merged = {**(existing or {}), **body}
    customer = str((merged.get("customer") or {}).get("id") or "")
    total = _amount(merged.get("payment"), "payment")
    lines, credits = _lines(merged), _lines(merged, "credit")
    try:
        applied = _check(invoices, lines, customer, "Invoice")
        credited = _check(memos, credits, customer, "Credit memo")
        if applied > total + credited:
            raise PaymentRefused(
                "USER_ERROR", "The applied total exceeds the payment amount and credits."
            )
    except PaymentRefused:
        _take(invoices, before, "Paid In Full")  # nothing changes on a refused request
        _take(memos, before_credit, "Fully Applied")
        raise
    _take(invoices, lines, "Paid In Full")
    _take(memos, credits, "Fully Applied")
