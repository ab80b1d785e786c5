"""Invoices, credit memos and their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import model_validator

from canonical.base import CurrencyCode, Frozen, Record
from canonical.enums import InvoiceStatus
from canonical.money import Money, sum_money


class InvoiceLine(Frozen):
    line_number: int
    amount: Money
    description: str | None = None
    sku: str | None = None
    quantity: Decimal | None = None
    unit_price: Money | None = None
    tax_amount: Money | None = None
    service_start: date | None = None
    service_end: date | None = None
    #: Billing charge this line bills (Zuora charge number) and CRM contract line.
    charge_number: str | None = None
    contract_line_id: str | None = None


class TaxLine(Frozen):
    tax_code: str
    tax_amount: Money
    rate: Decimal | None = None
    taxable_amount: Money | None = None
    jurisdiction: str | None = None


class Invoice(Record):
    number: str
    customer_id: str
    issue_date: date
    due_date: date | None = None
    currency: CurrencyCode
    status: InvoiceStatus = InvoiceStatus.POSTED
    lines: tuple[InvoiceLine, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    subtotal: Money
    tax_total: Money
    total: Money
    #: Amount still open (unpaid) on the invoice.
    balance: Money | None = None
    po_number: str | None = None
    subscription_number: str | None = None
    payment_terms: str | None = None

    @model_validator(mode="after")
    def _one_currency(self) -> Invoice:
        amounts = [self.subtotal, self.tax_total, self.total]
        amounts += [line.amount for line in self.lines]
        amounts += [t.tax_amount for t in self.tax_lines]
        if self.balance is not None:
            amounts.append(self.balance)
        for amount in amounts:
            if amount.currency != self.currency:
                raise ValueError(
                    f"invoice {self.number}: amount in {amount.currency}, "
                    f"invoice in {self.currency}"
                )
        return self

    def lines_subtotal(self) -> Money:
        return sum_money([line.amount for line in self.lines], self.currency)

    def tax_lines_total(self) -> Money:
        return sum_money([t.tax_amount for t in self.tax_lines], self.currency)

    @property
    def open_amount(self) -> Money:
        return self.balance if self.balance is not None else self.total


class CreditMemo(Record):
    number: str
    customer_id: str
    issue_date: date
    currency: CurrencyCode
    total: Money
    tax_total: Money | None = None
    balance: Money | None = None
    applied_to_invoice: str | None = None
    reason: str | None = None
    status: str | None = None
    lines: tuple[InvoiceLine, ...] = ()
