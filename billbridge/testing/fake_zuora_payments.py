"""``POST /v1/payments`` of the Zuora fake (Invoice Settlement): external payments applied
to invoices by id, with Zuora's checks (account, currency, invoice posted with a balance,
applied amounts within the balance and the payment) and the invoices' balances reduced.
The unapplied rest stays on the payment."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from billbridge.testing.fake_zuora_orders import OrderBook, OrderError
from connectors.common import wire


class PaymentDesk:
    def __init__(
        self,
        book: OrderBook,
        invoices: dict[str, dict[str, Any]],
        payments: dict[str, dict[str, Any]],
        stamp: Callable[[], str],
    ) -> None:
        self.book, self.invoices, self.payments, self.stamp = book, invoices, payments, stamp
        self.seq = 0
        #: referenceId -> payments created with it (a duplicate shows as 2)
        self.created: dict[str, int] = {}

    def create(self, raw: bytes) -> dict[str, Any]:
        body = wire.loads(raw)
        account = self._account(body)
        info = account["basicInfo"]
        currency = account["billingAndPayment"]["currency"]
        if body.get("type") != "External":
            raise OrderError(53100020, "only External payments are supported by this fake")
        if not (body.get("paymentMethodType") or body.get("paymentMethodId")):
            raise OrderError(53100022, "paymentMethodId or paymentMethodType is required")
        amount = _decimal(body.get("amount"), "amount")
        if amount <= 0:
            raise OrderError(53100020, "amount must be positive")
        if body.get("currency") != currency:
            raise OrderError(53100020, f"currency must be the account's {currency}")
        applied: list[tuple[dict[str, Any], Decimal]] = []
        for item in body.get("invoices") or []:
            inv = next(
                (i for i in self.invoices.values() if i["id"] == item.get("invoiceId")), None
            )
            if inv is None:
                raise OrderError(53100040, f"invoice {item.get('invoiceId')} not found")
            part = _decimal(item.get("amount"), "invoices.amount")
            if inv["accountId"] != info["id"]:
                raise OrderError(53100020, f"invoice {inv['invoiceNumber']} is another account's")
            if inv["status"] != "Posted" or inv["balance"] <= 0:
                raise OrderError(53100020, f"invoice {inv['invoiceNumber']} has no open balance")
            if part > inv["balance"]:
                raise OrderError(
                    53100020, f"amount exceeds the balance of invoice {inv['invoiceNumber']}"
                )
            applied.append((inv, part))
        total = sum((p for _, p in applied), Decimal(0))
        if total > amount:
            raise OrderError(53100020, "the applied amount exceeds the payment amount")
        for inv, part in applied:
            inv["balance"] -= part
            inv["updatedDate"] = self.stamp()
        self.seq += 1
        number = f"P-{self.seq:08d}"
        ref = body.get("referenceId")
        payment = {
            "id": uuid.uuid4().hex,
            "number": number,
            "accountId": info["id"],
            "accountNumber": info["accountNumber"],
            "amount": amount,
            "appliedAmount": total,
            "unappliedAmount": amount - total,
            "currency": currency,
            "effectiveDate": body.get("effectiveDate"),
            "status": "Processed",
            "type": "External",
            "paymentMethodType": body.get("paymentMethodType"),
            "referenceId": ref,
            "comment": body.get("comment"),
            "invoices": [
                {"invoiceId": i["id"], "invoiceNumber": i["invoiceNumber"], "appliedAmount": p}
                for i, p in applied
            ],
            "updatedDate": self.stamp(),
        }
        self.payments[number] = payment
        if ref:
            self.created[ref] = self.created.get(ref, 0) + 1
        return {"success": True, **payment}

    def _account(self, body: dict[str, Any]) -> dict[str, Any]:
        key = body.get("accountId") or body.get("accountNumber")
        if not key:
            raise OrderError(53100022, "accountId or accountNumber is required")
        found = self.book.accounts.get(key) or next(
            (a for a in self.book.accounts.values() if a["basicInfo"]["id"] == key), None
        )
        if found is None:
            raise OrderError(53100040, f"account {key} not found")
        return found


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, Decimal | int):
        return Decimal(value)
    raise OrderError(53100020, f"{field} must be a number")
