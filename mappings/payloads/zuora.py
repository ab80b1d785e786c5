"""Zuora request bodies: ``POST /v1/orders`` (CreateSubscription) and ``POST /v1/accounts``.

Only the parts our specs produce are typed; Zuora custom fields end in ``__c``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from mappings.payloads.base import Payload
from mappings.targets import register_payload

_CUSTOM = r"[A-Za-z][A-Za-z0-9_]*__c"
PeriodType = Literal["Month", "Year", "Day", "Week"]


class TriggerDate(Payload):
    name: Literal["ContractEffective", "ServiceActivation", "CustomerAcceptance"]
    triggerDate: date


class ChargeOverride(Payload):
    productRatePlanChargeId: str
    uniqueToken: str | None = None
    #: e.g. {"recurringPerUnit": {"listPrice": 99.9, "quantity": 25}} or {"oneTimeFlatFee": ...}
    pricing: dict[str, Any] | None = None
    billing: dict[str, Any] | None = None
    startDate: dict[str, Any] | None = None
    endDate: dict[str, Any] | None = None
    customFields: dict[str, Any] | None = None


class RatePlan(Payload):
    productRatePlanId: str
    uniqueToken: str | None = None
    chargeOverrides: list[ChargeOverride] = Field(default_factory=list)
    customFields: dict[str, Any] | None = None


class InitialTerm(Payload):
    termType: Literal["TERMED", "EVERGREEN"]
    period: int | None = None
    periodType: PeriodType | None = None
    startDate: date | None = None


class RenewalTerm(Payload):
    period: int
    periodType: PeriodType


class Terms(Payload):
    initialTerm: InitialTerm
    autoRenew: bool | None = None
    renewalSetting: Literal["RENEW_WITH_SPECIFIC_TERM", "RENEW_TO_EVERGREEN"] | None = None
    renewalTerms: list[RenewalTerm] = Field(default_factory=list)


class CreateSubscription(Payload):
    terms: Terms
    subscribeToRatePlans: list[RatePlan]
    invoiceSeparately: bool | None = None
    notes: str | None = None


class OrderAction(Payload):
    type: Literal[
        "CreateSubscription", "AddProduct", "UpdateProduct", "RemoveProduct",
        "TermsAndConditions", "RenewSubscription", "CancelSubscription", "Suspend", "Resume",
        "OwnerTransfer", "ChangePlan",
    ]  # fmt: skip
    triggerDates: list[TriggerDate]
    createSubscription: CreateSubscription | None = None
    customFields: dict[str, Any] | None = None


class OrderSubscription(Payload):
    subscriptionNumber: str | None = None
    orderActions: list[OrderAction]
    customFields: dict[str, Any] | None = None


class ProcessingOptions(Payload):
    runBilling: bool | None = None
    collectPayment: bool | None = None


class ZuoraOrder(Payload):
    """``POST /v1/orders`` body."""

    orderDate: date
    #: we never create accounts inside an order: the account must exist (and be known)
    existingAccountNumber: str
    orderNumber: str | None = None
    description: str | None = None
    subscriptions: list[OrderSubscription]
    processingOptions: ProcessingOptions | None = None
    customFields: dict[str, Any] | None = None


class ZuoraContact(Payload):
    custom_fields = _CUSTOM
    firstName: str
    lastName: str
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zipCode: str | None = None
    country: str | None = None
    workEmail: str | None = None
    workPhone: str | None = None


class ZuoraAccount(Payload):
    """``POST /v1/accounts`` body (custom fields such as ``BillingEntity__c`` at top level)."""

    custom_fields = _CUSTOM
    name: str
    accountNumber: str | None = None
    currency: str
    billCycleDay: int
    paymentTerm: str | None = None
    crmId: str | None = None
    autoPay: bool = False
    batch: str | None = None
    parentId: str | None = None
    creditLimit: Decimal | None = None
    billToContact: ZuoraContact
    soldToContact: ZuoraContact | None = None


register_payload("zuora/order", ZuoraOrder)
register_payload("zuora/account", ZuoraAccount)
