"""Salesforce REST records (with ``attributes``) -> canonical records, one function per entity.

Kept behind one function per entity so the mapping engine (``mappings.apply_spec``) can
replace them once its default specs cover Salesforce. Numbers arrive as Decimal (the client
parses JSON with ``parse_float=Decimal``); timestamps are UTC with ``+0000`` offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from canonical import (
    Address,
    Contact,
    Contract,
    ContractLine,
    ContractStatus,
    Customer,
    Money,
    Price,
    Product,
    Record,
)
from canonical.currencies import minor_units
from connectors.base import parse_datetime

SYSTEM = "salesforce"
Raw = Mapping[str, Any]


class Context:
    """Org facts a conversion needs: the org currency and where crosswalk ids live."""

    def __init__(
        self, currency: str | Callable[[], str], crosswalk_fields: Mapping[str, str]
    ) -> None:
        # a callable is asked only when a record has no CurrencyIsoCode of its own
        self._currency = currency
        self.crosswalk_fields = crosswalk_fields

    @property
    def currency(self) -> str:
        return self._currency if isinstance(self._currency, str) else self._currency()

    def ccy(self, raw: Raw) -> str:
        return str(raw.get("CurrencyIsoCode") or self.currency)


def _base(raw: Raw, ctx: Context) -> dict[str, Any]:
    crosswalk = {system: str(raw[f]) for system, f in ctx.crosswalk_fields.items() if raw.get(f)}
    extra: dict[str, Any] = {k: v for k, v in raw.items() if k.endswith("__c")}
    if raw.get("IsDeleted"):
        extra["is_deleted"] = True
    return {
        "source_system": SYSTEM,
        "source_id": raw["Id"],
        "source_version": raw.get("SystemModstamp"),
        "updated_at": parse_datetime(raw.get("SystemModstamp")),
        "crosswalk": crosswalk,
        "extra": extra,
    }


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def net_unit_price(item: Raw, currency: str) -> Decimal | None:
    """An OpportunityLineItem's sales price after its ``Discount`` (a percent of UnitPrice):
    Salesforce computes TotalPrice = UnitPrice × Quantity × (1 − Discount/100).

    When TotalPrice / Quantity is exact and agrees with that to within rounding, it is used,
    so the canonical line total equals TotalPrice (what Opportunity.Amount sums); otherwise
    the exact discounted price. A TotalPrice off by more than rounding is refused.
    """
    if item.get("UnitPrice") is None:
        return None
    unit = _dec(item["UnitPrice"])
    if item.get("Discount"):
        unit = unit * (1 - _dec(item["Discount"]) / 100)
    total, quantity = item.get("TotalPrice"), item.get("Quantity")
    if total is None or not quantity:
        return unit
    total, quantity = _dec(total), _dec(quantity)
    # TotalPrice is stored rounded to the currency's minor unit
    tolerance = Decimal(5).scaleb(-minor_units(currency) - 1)
    if abs(unit * quantity - total) > tolerance:
        raise ValueError(
            f"OpportunityLineItem {item.get('Id')}: TotalPrice {total} disagrees with "
            f"UnitPrice {item['UnitPrice']} × Quantity {quantity} × "
            f"(1 − Discount {item.get('Discount') or 0}%) = {unit * quantity}"
        )
    exact = total / quantity
    return exact if exact * quantity == total else unit


def customer(raw: Raw, ctx: Context) -> Customer:
    address = Address(
        line1=raw.get("BillingStreet"),
        city=raw.get("BillingCity"),
        region=raw.get("BillingStateCode") or raw.get("BillingState"),
        postal_code=raw.get("BillingPostalCode"),
        country=raw.get("BillingCountryCode"),
    )
    return Customer(
        **_base(raw, ctx),
        name=raw.get("Name") or raw["Id"],
        currency=raw.get("CurrencyIsoCode") or ctx.currency,
        parent_id=raw.get("ParentId"),
        bill_to=Contact(name=raw.get("Name"), phone=raw.get("Phone"), address=address),
    )


def contract(raw: Raw, ctx: Context) -> Contract:
    """An Opportunity with its OpportunityLineItems (child subquery) as a booking."""
    ccy = ctx.ccy(raw)
    items = (raw.get("OpportunityLineItems") or {}).get("records") or []
    lines = []
    for item in items:
        unit = net_unit_price(item, ccy) or Decimal(0)
        lines.append(
            ContractLine(
                line_id=item["Id"],
                sku=item.get("ProductCode") or item.get("Product2Id") or "",
                quantity=_dec(item.get("Quantity") or 1),
                list_unit_price=Money(_dec(item["ListPrice"]), ccy)
                if item.get("ListPrice") is not None
                else None,
                net_unit_price=Money(unit, ccy),
                discount_percent=_dec(item["Discount"])
                if item.get("Discount") is not None
                else None,
                start_date=_day(item.get("ServiceDate")),
                description=item.get("Description"),
            )
        )
    starts = [line.start_date for line in lines if line.start_date]
    if raw.get("IsWon"):
        status = ContractStatus.ACTIVATED
    elif raw.get("IsClosed"):
        status = ContractStatus.CANCELLED
    else:
        status = ContractStatus.DRAFT
    close = _day(raw.get("CloseDate"))
    start = min(starts) if starts else close
    if start is None:
        raise ValueError(f"Opportunity {raw['Id']}: no CloseDate and no line ServiceDate")
    return Contract(
        **_base(raw, ctx),
        number=raw.get("Name"),
        customer_id=raw["AccountId"],
        status=status,
        currency=ccy,
        start_date=start,
        lines=tuple(lines),
        opportunity_id=raw["Id"],
        close_date=close,
    )


def product(raw: Raw, ctx: Context) -> Product:
    return Product(
        **_base(raw, ctx),
        sku=raw.get("ProductCode") or raw["Id"],
        name=raw.get("Name") or raw["Id"],
        family=raw.get("Family"),
        active=bool(raw.get("IsActive", True)),
    )


def price(raw: Raw, ctx: Context) -> Price:
    return Price(
        **_base(raw, ctx),
        sku=raw.get("ProductCode") or raw.get("Product2Id") or raw["Id"],
        unit_price=Money(_dec(raw["UnitPrice"]), ctx.ccy(raw)),
        price_book=raw.get("Pricebook2Id"),
    )


CONVERTERS: dict[str, Callable[[Raw, Context], Record]] = {
    "customer": customer,
    "contract": contract,
    "product": product,
    "price": price,
}
