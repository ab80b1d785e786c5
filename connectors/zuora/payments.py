"""Zuora external payments from canonical cash-application Payments (pure functions).

``POST /v1/payments`` (Invoice Settlement) takes ``accountId`` or ``accountNumber``,
``amount``, ``currency``, ``type: External`` with ``paymentMethodType`` (or a
``paymentMethodId``), an optional ``effectiveDate`` (the bank value date for external
payments), ``referenceId``, ``comment`` and ``invoices: [{invoiceId, amount}]``: invoices
are referenced by id, so each invoice number is first read with
``GET /v1/invoices/{number}`` (which also gives its account, balance, status and currency).
Amounts travel as exact JSON numbers (the client's wire encoder). The part of the payment
not applied stays on it as unapplied amount (an overpayment, on account); a short pay's
deduction is left open on the invoice and named in ``comment``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from canonical import Payment, to_decimal

#: Zuora's limits on the payment's text fields.
COMMENT_MAX = 255
REFERENCE_MAX = 60
DEFAULT_METHOD_TYPE = "Other"
OPEN_STATUS = "Posted"


@dataclass(frozen=True)
class ZuoraInvoice:
    """What a payment needs to know about an invoice (from ``GET /v1/invoices/{key}``)."""

    id: str
    number: str
    account_id: str
    balance: Decimal
    currency: str
    status: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> ZuoraInvoice:
        return cls(
            id=str(body["id"]),
            number=str(body.get("invoiceNumber") or body["id"]),
            account_id=str(body.get("accountId") or ""),
            balance=to_decimal(str(body.get("balance", "0")), field="balance"),
            currency=str(body.get("currency") or "").upper(),
            status=str(body.get("status") or ""),
        )


def invoice_problem(payment: Payment, invoices: Mapping[str, ZuoraInvoice]) -> str | None:
    """Why the payment cannot be applied as planned, or None.

    ``invoices`` maps invoice number -> invoice (numbers Zuora does not know are absent).
    """
    accounts: set[str] = set()
    for app in payment.applications:
        inv = invoices.get(app.invoice_number)
        if inv is None:
            return f"invoice {app.invoice_number} does not exist in Zuora"
        if inv.status != OPEN_STATUS:
            return f"invoice {inv.number} is {inv.status or 'not posted'}, no longer open"
        if inv.balance <= 0:
            return f"invoice {inv.number} is paid (balance {inv.balance}), no longer open"
        if app.amount.amount > inv.balance:
            return (
                f"invoice {inv.number} has {inv.balance} {inv.currency} open; "
                f"the payment would apply {app.amount.amount}"
            )
        if inv.currency and inv.currency != payment.currency:
            return f"invoice {inv.number} is in {inv.currency}, the payment in {payment.currency}"
        accounts.add(inv.account_id)
    if len(accounts) > 1:
        return "the invoices belong to several Zuora accounts; a payment has one"
    return None


def payment_body(
    payment: Payment,
    invoices: Mapping[str, ZuoraInvoice],
    *,
    reference_id: str,
    method_type: str | None = None,
) -> dict[str, Any]:
    """The ``POST /v1/payments`` body; ``invoices`` must pass :func:`invoice_problem`."""
    if len(reference_id) > REFERENCE_MAX:
        raise ValueError(f"reference id {reference_id!r} is longer than {REFERENCE_MAX}")
    applied = [(invoices[a.invoice_number], a.amount.amount) for a in payment.applications]
    body: dict[str, Any] = {}
    if applied:
        body["accountId"] = applied[0][0].account_id
    elif payment.customer_id:
        body["accountNumber"] = payment.customer_id  # nothing to apply: all on account
    else:
        raise ValueError(f"payment {payment.number} names neither invoices nor an account")
    body |= {
        "amount": payment.amount.amount,
        "currency": payment.currency,
        "effectiveDate": payment.received_date.isoformat(),
        "type": "External",
        "paymentMethodType": payment.method or method_type or DEFAULT_METHOD_TYPE,
        "referenceId": reference_id,
        "comment": comment(payment),
    }
    if applied:
        body["invoices"] = [{"invoiceId": inv.id, "amount": amount} for inv, amount in applied]
    return body


def comment(payment: Payment) -> str:
    """The memo planned with the payment (deductions, unapplied remainder, bank reference),
    cut to Zuora's 255 characters."""
    text = str(payment.extra.get("memo") or payment.reference or "")
    return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 1] + "…"


def find_query(reference_id: str) -> str:
    """ZOQL for our payment by its reference id (read-before-retry)."""
    if not reference_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"reference id {reference_id!r} is not safe in ZOQL")
    return f"select Id, PaymentNumber, Status from Payment where ReferenceId = '{reference_id}'"
