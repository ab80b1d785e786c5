"""NetSuite ``customerPayment`` bodies from canonical cash-application Payments (pure).

The record is upserted by our external id (``PUT record/v1/customerPayment/eid:{id}``)
with ``customer``, ``tranDate``, ``payment`` (the whole receipt), ``currency``, ``memo``,
an optional deposit ``account`` and the ``apply`` sublist
``{"items": [{"doc": {"id": <invoice internal id>}, "apply": true, "amount": ...}]}``.
The sublist takes internal ids, so invoice numbers (``tranId``) are resolved first with
one SuiteQL query (:func:`invoice_query`), which also says whom each invoice belongs to,
its currency, status and amount remaining. The unapplied part of the payment stays on it
(on account); a short pay's deduction stays open on the invoice and is named in ``memo``.

Amounts are decimal text, as the other NetSuite bodies send them: the REST transport
encodes bodies with the standard JSON encoder, which cannot write an exact Decimal number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from canonical import Payment, to_decimal

MEMO_MAX = 999
#: ``transaction.status`` of an invoice that can still take a payment (A Open).
OPEN_STATUS = "A"


@dataclass(frozen=True)
class NetSuiteInvoice:
    id: str
    tran_id: str
    customer_id: str
    currency: str
    currency_id: str
    remaining: Decimal
    status: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> NetSuiteInvoice:
        return cls(
            id=str(row["id"]),
            tran_id=str(row.get("tranid") or ""),
            customer_id=str(row.get("entity") or ""),
            currency=str(row.get("currency") or "").upper(),
            currency_id=str(row.get("currencyid") or ""),
            remaining=to_decimal(str(row.get("amountremaining") or "0"), field="amountremaining"),
            status=str(row.get("status") or ""),
        )


def sql_text(value: str) -> str:
    """A SuiteQL string literal: quotes doubled; control characters refused."""
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(f"{value!r} has control characters")
    return "'" + value.replace("'", "''") + "'"


def invoice_query(numbers: Iterable[str]) -> str:
    """SuiteQL for the invoices with these document numbers (columns as the builders read)."""
    literals = ", ".join(sql_text(n) for n in sorted(set(numbers)))
    return (
        "SELECT t.id, t.tranid, t.entity, t.currency AS currencyid, cur.symbol AS currency, "
        "t.status, t.foreignamountremaining AS amountremaining "
        "FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency "
        f"WHERE t.type = 'CustInvc' AND t.tranid IN ({literals})"
    )


def invoice_problem(payment: Payment, invoices: Mapping[str, NetSuiteInvoice]) -> str | None:
    """Why the payment cannot be applied as planned, or None (``invoices`` by tranId)."""
    customers: set[str] = set()
    for app in payment.applications:
        inv = invoices.get(app.invoice_number)
        if inv is None:
            return f"invoice {app.invoice_number} does not exist in NetSuite"
        if inv.status != OPEN_STATUS or inv.remaining <= 0:
            return f"invoice {inv.tran_id} is not open (status {inv.status or '?'})"
        if app.amount.amount > inv.remaining:
            return (
                f"invoice {inv.tran_id} has {inv.remaining} {inv.currency} remaining; "
                f"the payment would apply {app.amount.amount}"
            )
        if inv.currency and inv.currency != payment.currency:
            return f"invoice {inv.tran_id} is in {inv.currency}, the payment in {payment.currency}"
        customers.add(inv.customer_id)
    if len(customers) > 1:
        return "the invoices belong to several NetSuite customers; a payment has one"
    if not customers:
        return f"payment {payment.number} applies to no invoice (nothing to find its customer by)"
    return None


def customer_payment(
    payment: Payment,
    invoices: Mapping[str, NetSuiteInvoice],
    *,
    external_id: str,
    account_id: str | None = None,
) -> dict[str, Any]:
    """The upsert body; ``invoices`` must pass :func:`invoice_problem`."""
    applied = [(invoices[a.invoice_number], a.amount.amount) for a in payment.applications]
    first = applied[0][0]
    target = payment.extra.get("target") or {}
    account = account_id or target.get("deposit_account")
    body: dict[str, Any] = {
        "externalId": external_id,
        "customer": {"id": first.customer_id},
        "tranDate": payment.received_date.isoformat(),
        "payment": str(payment.amount.amount),
        "memo": memo(payment),
        "apply": {
            "items": [
                {"doc": {"id": inv.id}, "apply": True, "amount": str(amount)}
                for inv, amount in applied
            ]
        },
    }
    if first.currency_id:
        body["currency"] = {"id": first.currency_id}
    if account:
        body["account"] = {"id": str(account)}
    return body


def memo(payment: Payment) -> str:
    text = str(payment.extra.get("memo") or payment.reference or "")
    return text if len(text) <= MEMO_MAX else text[: MEMO_MAX - 1] + "…"
