"""Customer (billing account), contacts and addresses."""

from __future__ import annotations

from pydantic import Field

from canonical.base import CurrencyCode, Frozen, Record
from canonical.enums import CustomerStatus
from canonical.money import Money


class Address(Frozen):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2


class Contact(Frozen):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None


class TaxId(Frozen):
    """A tax registration, e.g. ``TaxId(scheme="eu_vat", value="DE136695976")``."""

    scheme: str
    value: str
    country: str | None = None


class Customer(Record):
    number: str | None = None
    name: str
    status: CustomerStatus = CustomerStatus.ACTIVE
    currency: CurrencyCode | None = None
    payment_terms: str | None = None
    tax_ids: tuple[TaxId, ...] = ()
    credit_limit: Money | None = None
    bill_to: Contact | None = None
    sold_to: Contact | None = None
    parent_id: str | None = None
    subsidiary: str | None = None
    #: Payer bank accounts (IBAN or routing/account) used to identify the customer in cash.
    bank_accounts: tuple[str, ...] = Field(default=())
