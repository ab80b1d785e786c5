"""Vendor shapes -> canonical records, one small pure function per entity.

Transactions arrive as REST record JSON read with ``expandSubResources=true`` (lines in
``item.items[]``, ``apply.items[]``, ``line.items[]``; references as ``{id, refName}``);
customers, items and subsidiaries as SuiteQL rows (lower-cased columns). Numbers must
already be Decimal or text (the transport parses JSON with ``parse_float=Decimal``).

Stop-gap until the mapping engine (``mappings.apply_spec``) ships default NetSuite specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from canonical import (
    Contact,
    Contract,
    ContractLine,
    CreditMemo,
    Customer,
    CustomerStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalLine,
    Money,
    Payment,
    PaymentApplication,
    Product,
    Record,
    normalize_currency,
)
from connectors.base import parse_datetime
from connectors.netsuite.suiteql import MODIFIED, from_account_time

SYSTEM = "netsuite"


@dataclass(frozen=True)
class Context:
    tz: ZoneInfo
    currencies: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=dict)


def _ref_id(value: Any) -> str | None:
    return str(value["id"]) if isinstance(value, Mapping) and value.get("id") else None


def _ref_name(value: Any) -> str | None:
    return str(value["refName"]) if isinstance(value, Mapping) and value.get("refName") else None


def _lines(data: Mapping[str, Any], sublist: str) -> list[Mapping[str, Any]]:
    block = data.get(sublist)
    return list(block.get("items") or []) if isinstance(block, Mapping) else []


def _line_no(line: Mapping[str, Any], position: int) -> int:
    """The sublist's own line number (journal lines start at 0), else the position."""
    value = line.get("line")
    return int(value) if value is not None and value != "" else position


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def currency_of(data: Mapping[str, Any], ctx: Context) -> str:
    ref = data.get("currency")
    cid = _ref_id(ref)
    if cid and cid in ctx.currencies:
        return normalize_currency(ctx.currencies[cid])
    name = _ref_name(ref)
    if name:
        return normalize_currency(str(name))
    raise ValueError(f"currency {cid!r} has no ISO code; add it to settings.currencies")


def crosswalk(external_id: Any, ctx: Context) -> dict[str, str]:
    """``SF-006xx`` -> ``{"salesforce": "006xx"}`` using the configured prefixes."""
    if not external_id:
        return {}
    text = str(external_id)
    for system, prefix in ctx.prefixes.items():
        if text.startswith(prefix):
            return {system: text[len(prefix) :]}
    return {}


def _rest_base(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    modified = data.get("lastModifiedDate")
    return {
        "source_system": SYSTEM,
        "source_id": str(data["id"]),
        "source_version": str(modified) if modified else None,
        "updated_at": parse_datetime(str(modified)) if modified else None,
        "crosswalk": crosswalk(data.get("externalId"), ctx),
    }


def _row_base(row: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    modified = row.get(MODIFIED)
    return {
        "source_system": SYSTEM,
        "source_id": str(row["id"]),
        "source_version": str(modified) if modified else None,
        "updated_at": from_account_time(str(modified), ctx.tz) if modified else None,
        "crosswalk": crosswalk(row.get("externalid"), ctx),
    }


def _invoice_lines(data: Mapping[str, Any], ccy: str) -> tuple[InvoiceLine, ...]:
    lines = []
    for n, line in enumerate(_lines(data, "item"), start=1):
        rate = _dec(line.get("rate"))
        tax = _dec(line.get("taxAmount") if "taxAmount" in line else line.get("tax1Amt"))
        lines.append(
            InvoiceLine(
                line_number=_line_no(line, n),
                amount=Money(_dec(line.get("amount")) or Decimal(0), ccy),
                description=line.get("description"),
                sku=_ref_name(line.get("item")),
                quantity=_dec(line.get("quantity")),
                unit_price=Money(rate, ccy) if rate is not None else None,
                tax_amount=Money(tax, ccy) if tax is not None else None,
            )
        )
    return tuple(lines)


_INVOICE_STATUS = {
    "paid in full": InvoiceStatus.PAID,
    "pending approval": InvoiceStatus.DRAFT,
    "voided": InvoiceStatus.VOID,
    "rejected": InvoiceStatus.VOID,
}


def invoice(data: Mapping[str, Any], ctx: Context) -> Invoice:
    ccy = currency_of(data, ctx)
    total = _dec(data.get("total")) or Decimal(0)
    tax = _dec(data.get("taxTotal")) or Decimal(0)
    subtotal = _dec(data.get("subtotal"))
    remaining = _dec(data.get("amountRemaining"))
    status = _INVOICE_STATUS.get(
        (_ref_name(data.get("status")) or "").lower(), InvoiceStatus.POSTED
    )
    if status == InvoiceStatus.POSTED and remaining is not None and 0 < remaining < total:
        status = InvoiceStatus.PARTIALLY_PAID
    return Invoice(
        **_rest_base(data, ctx),
        number=str(data.get("tranId") or data["id"]),
        customer_id=_ref_id(data.get("entity")) or "",
        issue_date=_day(data.get("tranDate")) or date.min,
        due_date=_day(data.get("dueDate")),
        currency=ccy,
        status=status,
        lines=_invoice_lines(data, ccy),
        subtotal=Money(subtotal if subtotal is not None else total - tax, ccy),
        tax_total=Money(tax, ccy),
        total=Money(total, ccy),
        balance=Money(remaining, ccy) if remaining is not None else None,
        po_number=data.get("otherRefNum"),
        payment_terms=_ref_name(data.get("terms")),
    )


def credit_memo(data: Mapping[str, Any], ctx: Context) -> CreditMemo:
    ccy = currency_of(data, ctx)
    remaining = _dec(data.get("amountRemaining") or data.get("unapplied"))
    tax = _dec(data.get("taxTotal"))
    applied = [a for a in _lines(data, "apply") if a.get("apply")]
    return CreditMemo(
        **_rest_base(data, ctx),
        number=str(data.get("tranId") or data["id"]),
        customer_id=_ref_id(data.get("entity")) or "",
        issue_date=_day(data.get("tranDate")) or date.min,
        currency=ccy,
        total=Money(_dec(data.get("total")) or Decimal(0), ccy),
        tax_total=Money(tax, ccy) if tax is not None else None,
        balance=Money(remaining, ccy) if remaining is not None else None,
        applied_to_invoice=(applied[0].get("refNum") or _ref_name(applied[0].get("doc")))
        if applied
        else _ref_name(data.get("createdFrom")),
        reason=data.get("memo"),
        status=_ref_name(data.get("status")),
        lines=_invoice_lines(data, ccy),
    )


def payment(data: Mapping[str, Any], ctx: Context) -> Payment:
    ccy = currency_of(data, ctx)
    apps = tuple(
        PaymentApplication(
            invoice_number=str(a.get("refNum") or _ref_name(a.get("doc")) or _ref_id(a.get("doc"))),
            amount=Money(_dec(a.get("amount")) or Decimal(0), ccy),
            applied_on=_day(a.get("applyDate")),
        )
        for a in _lines(data, "apply")
        if a.get("apply")
    )
    return Payment(
        **_rest_base(data, ctx),
        number=str(data.get("tranId") or data["id"]),
        customer_id=_ref_id(data.get("customer")),
        received_date=_day(data.get("tranDate")) or date.min,
        currency=ccy,
        amount=Money(_dec(data.get("payment")) or Decimal(0), ccy),
        method=_ref_name(data.get("paymentMethod") or data.get("paymentOption")),
        reference=data.get("memo"),
        applications=apps,
    )


def contract(data: Mapping[str, Any], ctx: Context) -> Contract:
    ccy = currency_of(data, ctx)
    lines = tuple(
        ContractLine(
            line_id=str(_line_no(line, n)),
            sku=_ref_name(line.get("item")) or _ref_id(line.get("item")) or "",
            quantity=_dec(line.get("quantity")) or Decimal(1),
            net_unit_price=Money(_dec(line.get("rate")) or Decimal(0), ccy),
            description=line.get("description"),
        )
        for n, line in enumerate(_lines(data, "item"), start=1)
    )
    start = _day(data.get("startDate")) or _day(data.get("tranDate")) or date.min
    return Contract(
        **_rest_base(data, ctx),
        number=data.get("tranId"),
        customer_id=_ref_id(data.get("entity")) or "",
        currency=ccy,
        start_date=start,
        end_date=_day(data.get("endDate")),
        lines=lines,
    )


def journal_lines(data: Mapping[str, Any], ctx: Context) -> list[JournalLine]:
    ccy = currency_of(data, ctx)
    posted = _day(data.get("tranDate")) or date.min
    base = _rest_base(data, ctx)
    result = []
    for n, line in enumerate(_lines(data, "line"), start=1):
        number = _line_no(line, n)
        amount = (_dec(line.get("debit")) or Decimal(0)) - (_dec(line.get("credit")) or Decimal(0))
        result.append(
            JournalLine(
                **{**base, "source_id": f"{data['id']}:{number}"},
                journal_id=str(data.get("tranId") or data["id"]),
                line_number=number,
                posting_date=posted,
                period=posted.strftime("%Y-%m"),
                account=_ref_name(line.get("account")) or _ref_id(line.get("account")) or "",
                currency=ccy,
                amount=Money(amount, ccy),
                subsidiary=_ref_id(data.get("subsidiary")),
                customer_id=_ref_id(line.get("entity")),
                memo=line.get("memo"),
            )
        )
    return result


def customer(row: Mapping[str, Any], ctx: Context) -> Customer:
    symbol = row.get("currency")  # cur.symbol AS currency
    limit = _dec(row.get("creditlimit"))
    email = row.get("email")
    return Customer(
        **_row_base(row, ctx),
        number=row.get("entityid"),
        name=str(row.get("companyname") or row.get("entityid") or row["id"]),
        status=CustomerStatus.INACTIVE if row.get("isinactive") == "T" else CustomerStatus.ACTIVE,
        currency=symbol or None,
        credit_limit=Money(limit, symbol) if limit is not None and symbol else None,
        bill_to=Contact(email=email, phone=row.get("phone")) if email or row.get("phone") else None,
        parent_id=row.get("parent") or None,
        subsidiary=row.get("subsidiary") or None,
        payment_terms=row.get("terms") or None,
    )


def product(row: Mapping[str, Any], ctx: Context) -> Product:
    return Product(
        **_row_base(row, ctx),
        sku=str(row.get("itemid") or row["id"]),
        name=str(row.get("displayname") or row.get("itemid") or row["id"]),
        active=row.get("isinactive") != "T",
    )


Converter = Callable[[Mapping[str, Any], Context], Record | list[Any]]

CONVERTERS: dict[str, Converter] = {
    "invoice": invoice,
    "credit_memo": credit_memo,
    "payment": payment,
    "contract": contract,
    "journal_line": journal_lines,
    "customer": customer,
    "product": product,
}


def convert(entity: str, data: Mapping[str, Any], ctx: Context) -> list[Record]:
    out = CONVERTERS[entity](data, ctx)
    return list(out) if isinstance(out, list) else [out]
