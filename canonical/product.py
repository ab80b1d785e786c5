"""Products and their prices."""

from __future__ import annotations

from datetime import date

from canonical.base import Record
from canonical.enums import BillingPeriod, ChargeType
from canonical.money import Money


class Product(Record):
    #: The join key across systems: Salesforce ProductCode, Zuora SKU, NetSuite item name.
    sku: str
    name: str
    family: str | None = None
    active: bool = True
    unit_of_measure: str | None = None
    charge_type: ChargeType = ChargeType.RECURRING


class Price(Record):
    sku: str
    unit_price: Money
    billing_period: BillingPeriod | None = None
    price_book: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None
