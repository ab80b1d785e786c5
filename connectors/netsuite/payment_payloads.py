"""NetSuite ``customerPayment`` bodies from canonical cash-application Payments (pure).

The record is upserted by our external id (``PUT record/v1/customerPayment/eid:{id}``)
with ``customer``, ``tranDate``, ``payment`` (the whole receipt), ``currency``, ``memo``,
an optional deposit ``account`` and the ``apply`` sublist
``{"items": [{"doc": {"id": <invoice internal id>}, "apply": true, "amount": ...}]}``.
The sublist takes internal ids, so invoice numbers (``tranId``) are resolved first with
one SuiteQL query (:func:`invoice_query`), which also says whom each invoice belongs to,
its currency, status and amount remaining. The unapplied part of the payment stays on it
(on account); a short pay's deduction stays open on the invoice and is named in ``memo``.

A credit memo the customer netted (a negative application: paid 800 for a 1,000 invoice
and a 200 credit memo) goes in the payment's ``credit`` sublist (``CustomerPaymentCredit``:
``doc``, ``apply``, ``amount``), so invoice, credit and cash settle in one record. Credit
memos are resolved by a query of their own: NetSuite numbers each transaction type apart,
so an invoice and a credit memo may share a ``tranId``.

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
#: ``transaction.status`` of an invoice that can still take a payment (A Open), and of a
#: credit memo that still has credit to apply (A Open; B is Fully Applied)
OPEN_STATUS = "A"
INVOICE, CREDIT_MEMO = "CustInvc", "CustCred"


@dataclass(frozen=True)
class NetSuiteInvoice:
    id: str
    tran_id: str
    customer_id: str
    currency: str
    currency_id: str
    remaining: Decimal
    status: str
    #: ``CustInvc`` or ``CustCred`` (a credit memo: ``remaining`` is its unapplied credit)
    type: str = INVOICE

    @property
    def label(self) -> str:
        return f"{'credit memo' if self.type == CREDIT_MEMO else 'invoice'} {self.tran_id}"

    @classmethod
    def from_row(cls, row: Mapping[str, Any], type_code: str = INVOICE) -> NetSuiteInvoice:
        remaining = to_decimal(str(row.get("amountremaining") or "0"), field="amountremaining")
        return cls(
            id=str(row["id"]),
            tran_id=str(row.get("tranid") or ""),
            customer_id=str(row.get("entity") or ""),
            currency=str(row.get("currency") or "").upper(),
            currency_id=str(row.get("currencyid") or ""),
            # a credit memo's amounts are negative in the transaction table: its credit left
            remaining=abs(remaining) if type_code == CREDIT_MEMO else remaining,
            status=str(row.get("status") or ""),
            type=type_code,
        )


def sql_text(value: str) -> str:
    """A SuiteQL string literal: quotes doubled; control characters refused."""
    if any(ord(ch) < 32 for ch in value):
        raise ValueError(f"{value!r} has control characters")
    return "'" + value.replace("'", "''") + "'"


def invoice_query(numbers: Iterable[str], type_code: str = INVOICE) -> str:
    """SuiteQL for the invoices (or credit memos) with these document numbers (columns as
    the builders read)."""
    literals = ", ".join(sql_text(n) for n in sorted(set(numbers)))
    return (
        "SELECT t.id, t.tranid, t.entity, t.currency AS currencyid, cur.symbol AS currency, "
        "t.status, t.foreignamountremaining AS amountremaining "
        "FROM transaction t LEFT JOIN currency cur ON cur.id = t.currency "
        f"WHERE t.type = {sql_text(type_code)} AND t.tranid IN ({literals})"
    )


def split(payment: Payment) -> tuple[list[str], list[str]]:
    """The invoice numbers the payment pays and the credit memo numbers it nets."""
    paid = [a.invoice_number for a in payment.applications if a.amount.amount >= 0]
    netted = [a.invoice_number for a in payment.applications if a.amount.amount < 0]
    return paid, netted


def invoice_problem(
    payment: Payment,
    invoices: Mapping[str, NetSuiteInvoice],
    credits: Mapping[str, NetSuiteInvoice] | None = None,
) -> str | None:
    """Why the payment cannot be applied as planned, or None (``invoices`` and the netted
    credit memos ``credits`` by tranId)."""
    customers: set[str] = set()
    for app in payment.applications:
        netted = app.amount.amount < 0
        inv = (
            (credits or {}).get(app.invoice_number) if netted else invoices.get(app.invoice_number)
        )
        if inv is None:
            what = "credit memo" if netted else "invoice"
            return f"{what} {app.invoice_number} does not exist in NetSuite"
        if inv.status != OPEN_STATUS or inv.remaining <= 0:
            return f"{inv.label} is not open (status {inv.status or '?'})"
        if abs(app.amount.amount) > inv.remaining:
            return (
                f"{inv.label} has {inv.remaining} {inv.currency} remaining; "
                f"the payment would apply {abs(app.amount.amount)}"
            )
        if inv.currency and inv.currency != payment.currency:
            return f"{inv.label} is in {inv.currency}, the payment in {payment.currency}"
        customers.add(inv.customer_id)
    if len(customers) > 1:
        return "the invoices belong to several NetSuite customers; a payment has one"
    if customers and not split(payment)[0]:
        return f"payment {payment.number} nets credit memos but pays no invoice"
    if not customers:
        return f"payment {payment.number} applies to no invoice (nothing to find its customer by)"
    return None


def customer_payment(
    payment: Payment,
    invoices: Mapping[str, NetSuiteInvoice],
    *,
    external_id: str,
    account_id: str | None = None,
    credits: Mapping[str, NetSuiteInvoice] | None = None,
) -> dict[str, Any]:
    """The upsert body; ``invoices`` and ``credits`` must pass :func:`invoice_problem`."""
    applied = [
        (invoices[a.invoice_number], a.amount.amount)
        for a in payment.applications
        if a.amount.amount >= 0
    ]
    netted = [
        ((credits or {})[a.invoice_number], -a.amount.amount)
        for a in payment.applications
        if a.amount.amount < 0
    ]
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
    if netted:  # the credits and the cash together pay the applied invoices
        body["credit"] = {
            "items": [
                {"doc": {"id": memo.id}, "apply": True, "amount": str(amount)}
                for memo, amount in netted
            ]
        }
    if first.currency_id:
        body["currency"] = {"id": first.currency_id}
    if account:
        body["account"] = {"id": str(account)}
    return body


def memo(payment: Payment) -> str:
    text = str(payment.extra.get("memo") or payment.reference or "")
    return text if len(text) <= MEMO_MAX else text[: MEMO_MAX - 1] + "…"
