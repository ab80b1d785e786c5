"""Payments, their applications to invoices, and refunds."""

from __future__ import annotations

from datetime import date

from canonical.base import CurrencyCode, Frozen, Record
from canonical.enums import PaymentStatus
from canonical.money import Money, sum_money


class PaymentApplication(Frozen):
    invoice_number: str
    amount: Money
    applied_on: date | None = None


class Payment(Record):
    number: str
    customer_id: str | None = None
    received_date: date
    currency: CurrencyCode
    amount: Money
    method: str | None = None
    reference: str | None = None
    status: PaymentStatus = PaymentStatus.PROCESSED
    applications: tuple[PaymentApplication, ...] = ()

    @property
    def applied_amount(self) -> Money:
        return sum_money([a.amount for a in self.applications], self.currency)

    @property
    def unapplied_amount(self) -> Money:
        return self.amount - self.applied_amount


class Refund(Record):
    number: str
    customer_id: str
    refund_date: date
    currency: CurrencyCode
    amount: Money
    method: str | None = None
    source_payment: str | None = None
    source_credit_memo: str | None = None
