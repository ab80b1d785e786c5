"""NetSuite REST record bodies (``PUT record/v1/customer/eid:{externalId}``).

References are ``{"id": ...}`` objects; custom fields are ``custentity…`` on entities.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from mappings.payloads.base import Payload
from mappings.targets import register_payload


class Ref(Payload):
    id: str | None = None
    refName: str | None = None


class AddressBookAddress(Payload):
    addr1: str | None = None
    addr2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None  # ISO alpha-2, NetSuite accepts it as the country id


class AddressBookEntry(Payload):
    defaultBilling: bool = False
    defaultShipping: bool = False
    addressBookAddress: AddressBookAddress


class AddressBook(Payload):
    items: list[AddressBookEntry] = Field(default_factory=list)


class NetSuiteCustomer(Payload):
    custom_fields = r"custentity[a-z0-9_]+"
    externalId: str
    companyName: str
    entityId: str | None = None
    isPerson: bool = False
    email: str | None = None
    phone: str | None = None
    currency: Ref | None = None
    subsidiary: Ref | None = None
    terms: Ref | None = None
    parent: Ref | None = None
    creditLimit: Decimal | None = None
    vatRegNumber: str | None = None
    isInactive: bool = False
    addressBook: AddressBook | None = None
    customForm: dict[str, Any] | None = None


register_payload("netsuite/customer", NetSuiteCustomer)
