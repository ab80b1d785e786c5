"""Zuora v1 JSON -> canonical records, one small function per entity.

Kept behind one function per entity so the mapping engine (``mappings.apply_spec``) can
replace them once its default specs cover Zuora. Amounts arrive as Decimal: the client
parses JSON numbers with ``parse_float=Decimal``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from canonical import (
    Address,
    BillingPeriod,
    ChargeType,
    Contact,
    CreditMemo,
    Customer,
    CustomerStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Money,
    Payment,
    PaymentStatus,
    Record,
    Subscription,
    SubscriptionCharge,
    SubscriptionStatus,
)
from connectors.zuora.timeutil import business_date, tenant_datetime

SYSTEM = "zuora"
Raw = Mapping[str, Any]

_PERIODS = {
    "month": BillingPeriod.MONTH,
    "quarter": BillingPeriod.QUARTER,
    "semi-annual": BillingPeriod.SEMI_ANNUAL,
    "annual": BillingPeriod.ANNUAL,
    "two years": BillingPeriod.TWO_YEARS,
    "three years": BillingPeriod.THREE_YEARS,
}
_CHARGE_TYPES = {
    "recurring": ChargeType.RECURRING,
    "onetime": ChargeType.ONE_TIME,
    "usage": ChargeType.USAGE,
}
_SUB_STATUS = {
    "draft": SubscriptionStatus.DRAFT,
    "pendingactivation": SubscriptionStatus.PENDING,
    "pendingacceptance": SubscriptionStatus.PENDING,
    "active": SubscriptionStatus.ACTIVE,
    "suspended": SubscriptionStatus.SUSPENDED,
    "cancelled": SubscriptionStatus.CANCELLED,
    "expired": SubscriptionStatus.EXPIRED,
}
_INV_STATUS = {
    "draft": InvoiceStatus.DRAFT,
    "posted": InvoiceStatus.POSTED,
    "canceled": InvoiceStatus.VOID,
    "cancelled": InvoiceStatus.VOID,
}
_PAY_STATUS = {
    "processed": PaymentStatus.PROCESSED,
    "processing": PaymentStatus.PENDING,
    "canceled": PaymentStatus.VOID,
    "voided": PaymentStatus.VOID,
    "refunded": PaymentStatus.REFUNDED,
}


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _money(value: Any, currency: str) -> Money:
    return Money(_dec(value if value is not None else 0), currency)


def _key(value: str | None) -> str:
    return (value or "").replace(" ", "").replace("_", "").lower()


def customer(raw: Raw, zone: ZoneInfo) -> Customer:
    info = raw.get("basicInfo") or {}
    billing = raw.get("billingAndPayment") or {}
    bill_to = raw.get("billToContact") or {}
    number = info["accountNumber"]
    crosswalk = {"salesforce": info["crmId"]} if info.get("crmId") else {}
    status = {"active": CustomerStatus.ACTIVE, "canceled": CustomerStatus.CLOSED}.get(
        _key(info.get("status")), CustomerStatus.INACTIVE
    )
    return Customer(
        source_system=SYSTEM,
        source_id=number,
        updated_at=tenant_datetime(raw.get("updatedDate"), zone),
        crosswalk=crosswalk,
        number=number,
        name=info.get("name") or number,
        status=status,
        currency=billing.get("currency"),
        payment_terms=billing.get("paymentTerm"),
        parent_id=info.get("parentId"),
        bill_to=_contact(bill_to) if bill_to else None,
        extra={k: v for k, v in info.items() if k.endswith("__c")},
    )


def _contact(raw: Raw) -> Contact:
    name = " ".join(p for p in (raw.get("firstName"), raw.get("lastName")) if p) or None
    return Contact(
        name=name,
        email=raw.get("workEmail") or raw.get("personalEmail"),
        phone=raw.get("workPhone"),
        address=Address(
            line1=raw.get("address1"),
            line2=raw.get("address2"),
            city=raw.get("city"),
            region=raw.get("state"),
            postal_code=raw.get("zipCode"),
            country=None,  # Zuora holds country names; ISO codes come from the mapping layer
        ),
    )


def subscription(raw: Raw, zone: ZoneInfo) -> Subscription:
    charges: list[SubscriptionCharge] = []
    currencies: list[str] = []
    for plan in raw.get("ratePlans") or []:
        if plan.get("lastChangeType") == "Remove":
            continue
        for charge in plan.get("ratePlanCharges") or []:
            ccy = str(charge.get("currency") or raw.get("currency") or "")
            currencies.append(ccy)
            charges.append(
                SubscriptionCharge(
                    charge_number=charge["number"],
                    sku=plan.get("productSku") or charge.get("productRatePlanChargeId") or "",
                    quantity=_dec(charge.get("quantity") or 1),
                    unit_price=_money(charge.get("price"), ccy),
                    billing_period=_PERIODS.get(
                        (charge.get("billingPeriod") or "month").lower(), BillingPeriod.MONTH
                    ),
                    charge_type=_CHARGE_TYPES.get(_key(charge.get("type")), ChargeType.RECURRING),
                    start_date=business_date(charge.get("effectiveStartDate")),
                    end_date=business_date(charge.get("effectiveEndDate")),
                )
            )
    currency = raw.get("currency") or (currencies[0] if currencies else None)
    months = raw.get("currentTerm") if raw.get("currentTermPeriodType") == "Month" else None
    return Subscription(
        source_system=SYSTEM,
        source_id=raw["subscriptionNumber"],
        source_version=str(raw.get("version")) if raw.get("version") is not None else None,
        updated_at=tenant_datetime(raw.get("updatedDate"), zone),
        subscription_number=raw["subscriptionNumber"],
        customer_id=raw.get("accountNumber") or raw["accountId"],
        status=_SUB_STATUS.get(_key(raw.get("status")), SubscriptionStatus.ACTIVE),
        currency=currency,
        term_start=business_date(raw.get("termStartDate") or raw.get("subscriptionStartDate")),
        term_end=business_date(raw.get("termEndDate")),
        term_months=int(months) if months is not None else None,
        auto_renew=bool(raw.get("autoRenew")),
        charges=tuple(charges),
        version=int(raw["version"]) if raw.get("version") is not None else None,
        extra={k: v for k, v in raw.items() if k.endswith("__c")},
    )


def invoice(raw: Raw, zone: ZoneInfo) -> Invoice:
    ccy = raw["currency"]
    lines = tuple(
        InvoiceLine(
            line_number=n,
            amount=_money(item.get("chargeAmount"), ccy),
            description=item.get("chargeName") or item.get("chargeDescription"),
            sku=item.get("sku"),
            quantity=_dec(item["quantity"]) if item.get("quantity") is not None else None,
            unit_price=_money(item["unitPrice"], ccy)
            if item.get("unitPrice") is not None
            else None,
            tax_amount=_money(item.get("taxAmount"), ccy),
            service_start=business_date(item.get("serviceStartDate")),
            service_end=business_date(item.get("serviceEndDate")),
            charge_number=item.get("chargeNumber"),
        )
        for n, item in enumerate(raw.get("invoiceItems") or [], start=1)
    )
    subs = {item.get("subscriptionName") for item in raw.get("invoiceItems") or []} - {None}
    return Invoice(
        source_system=SYSTEM,
        source_id=raw["invoiceNumber"],
        updated_at=tenant_datetime(raw.get("updatedDate"), zone),
        number=raw["invoiceNumber"],
        customer_id=raw.get("accountNumber") or raw["accountId"],
        issue_date=business_date(raw["invoiceDate"]),
        due_date=business_date(raw.get("dueDate")),
        currency=ccy,
        status=_INV_STATUS.get(_key(raw.get("status")), InvoiceStatus.POSTED),
        lines=lines,
        subtotal=_money(raw.get("amountWithoutTax"), ccy),
        tax_total=_money(raw.get("taxAmount"), ccy),
        total=_money(raw.get("amount"), ccy),
        balance=_money(raw["balance"], ccy) if raw.get("balance") is not None else None,
        subscription_number=next(iter(subs)) if len(subs) == 1 else None,
    )


def payment(raw: Raw, zone: ZoneInfo) -> Payment:
    ccy = raw["currency"]
    return Payment(
        source_system=SYSTEM,
        source_id=raw["number"],
        updated_at=tenant_datetime(raw.get("updatedDate"), zone),
        number=raw["number"],
        customer_id=raw.get("accountNumber") or raw.get("accountId"),
        received_date=business_date(raw["effectiveDate"]),
        currency=ccy,
        amount=_money(raw["amount"], ccy),
        method=raw.get("type"),
        reference=raw.get("referenceId"),
        status=_PAY_STATUS.get(_key(raw.get("status")), PaymentStatus.PROCESSED),
    )


def credit_memo(raw: Raw, zone: ZoneInfo) -> CreditMemo:
    ccy = raw["currency"]
    return CreditMemo(
        source_system=SYSTEM,
        source_id=raw["number"],
        updated_at=tenant_datetime(raw.get("updatedDate"), zone),
        number=raw["number"],
        customer_id=raw.get("accountNumber") or raw["accountId"],
        issue_date=business_date(raw["creditMemoDate"]),
        currency=ccy,
        total=_money(raw["amount"], ccy),
        tax_total=_money(raw["taxAmount"], ccy) if raw.get("taxAmount") is not None else None,
        balance=_money(raw["balance"], ccy) if raw.get("balance") is not None else None,
        reason=raw.get("reasonCode"),
        status=raw.get("status"),
    )


CONVERTERS: dict[str, Callable[[Raw, ZoneInfo], Record]] = {
    "customer": customer,
    "subscription": subscription,
    "invoice": invoice,
    "payment": payment,
    "credit_memo": credit_memo,
}
