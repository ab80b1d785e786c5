"""Contracts (what was sold, from CRM) and subscriptions (what billing holds)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import model_validator

from canonical.base import CurrencyCode, Frozen, Record
from canonical.enums import BillingPeriod, ChargeType, ContractStatus, SubscriptionStatus
from canonical.money import Money


class ContractLine(Frozen):
    line_id: str
    sku: str
    quantity: Decimal
    list_unit_price: Money | None = None
    net_unit_price: Money
    discount_percent: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    billing_period: BillingPeriod = BillingPeriod.MONTH
    charge_type: ChargeType = ChargeType.RECURRING
    description: str | None = None

    @property
    def line_total(self) -> Money:
        return self.net_unit_price * self.quantity


class Contract(Record):
    """A booking: Salesforce Contract/Opportunity/Order with its lines."""

    number: str | None = None
    customer_id: str
    status: ContractStatus = ContractStatus.ACTIVATED
    currency: CurrencyCode
    start_date: date
    end_date: date | None = None
    term_months: int | None = None
    auto_renew: bool = False
    billing_period: BillingPeriod = BillingPeriod.MONTH
    lines: tuple[ContractLine, ...] = ()
    opportunity_id: str | None = None
    close_date: date | None = None
    cancellation_date: date | None = None

    @model_validator(mode="after")
    def _lines_in_contract_currency(self) -> Contract:
        for line in self.lines:
            if line.net_unit_price.currency != self.currency:
                raise ValueError(
                    f"line {line.line_id}: price in {line.net_unit_price.currency}, "
                    f"contract in {self.currency}"
                )
        return self


class SubscriptionCharge(Frozen):
    #: Stable charge number (Zuora ``C-…``), never the version-specific id.
    charge_number: str
    sku: str
    quantity: Decimal
    unit_price: Money
    billing_period: BillingPeriod = BillingPeriod.MONTH
    charge_type: ChargeType = ChargeType.RECURRING
    start_date: date | None = None
    end_date: date | None = None
    contract_line_id: str | None = None

    @property
    def period_amount(self) -> Money:
        return self.unit_price * self.quantity


class Subscription(Record):
    """A billing subscription keyed by its stable number (Zuora ``A-S…``)."""

    subscription_number: str
    customer_id: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    currency: CurrencyCode
    term_start: date
    term_end: date | None = None
    term_months: int | None = None
    auto_renew: bool = False
    charges: tuple[SubscriptionCharge, ...] = ()
    #: The CRM contract or opportunity this subscription provisions.
    contract_ref: str | None = None
    version: int | None = None
