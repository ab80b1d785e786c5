"""Closed vocabularies shared by connectors, mappings and reconcilers."""

from __future__ import annotations

from enum import StrEnum


class BillingPeriod(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    SEMI_ANNUAL = "semi_annual"
    ANNUAL = "annual"
    TWO_YEARS = "two_years"
    THREE_YEARS = "three_years"
    ONE_TIME = "one_time"
    USAGE = "usage"

    @property
    def months(self) -> int | None:
        return _PERIOD_MONTHS.get(self)


_PERIOD_MONTHS = {
    BillingPeriod.MONTH: 1,
    BillingPeriod.QUARTER: 3,
    BillingPeriod.SEMI_ANNUAL: 6,
    BillingPeriod.ANNUAL: 12,
    BillingPeriod.TWO_YEARS: 24,
    BillingPeriod.THREE_YEARS: 36,
}


class ChargeType(StrEnum):
    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PROSPECT = "prospect"
    ON_HOLD = "on_hold"
    CLOSED = "closed"


class ContractStatus(StrEnum):
    DRAFT = "draft"
    ACTIVATED = "activated"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class SubscriptionStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    VOID = "void"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    APPLIED = "applied"
    UNAPPLIED = "unapplied"
    VOID = "void"
    REFUNDED = "refunded"


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class EntryStatus(StrEnum):
    BOOKED = "booked"
    PENDING = "pending"
    INFO = "info"
