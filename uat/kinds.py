"""The entities a migration UAT compares and their canonical columns (pure data).

Each kind names its keys, compared fields (with the engine's field kinds), the field sizing
an exception (``amount_field``), the fields whose gaps count as amount at risk, and the
tax/base pair the "rate change" root cause looks at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EntityKindName = Literal["customer", "ar_open", "subscription", "invoice_line", "gl_balance"]


@dataclass(frozen=True)
class Field:
    name: str
    kind: Literal["amount", "number", "date", "status", "text"] = "text"
    casefold: bool = False


@dataclass(frozen=True)
class EntityKind:
    name: EntityKindName
    title: str
    keys: tuple[str, ...]
    fields: tuple[Field, ...]
    amount_field: str | None = None
    currency_field: str | None = "currency"
    #: amount fields whose |delta| (and missing values) count as amount at risk
    at_risk: tuple[str, ...] = ()
    #: (tax field, base field) for the "tax differs by exactly the rate change" pattern
    tax: tuple[str, str] | None = None
    #: sides are summed per key (trial balance: several old accounts may map to one new)
    aggregate: bool = False
    #: key fields in the order a person reads them (for "by" groupings)
    group: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *(f.name for f in self.fields))

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


KINDS: dict[str, EntityKind] = {
    k.name: k
    for k in (
        EntityKind(
            "customer",
            "Customers",
            keys=("customer_id",),
            fields=(
                Field("name", casefold=True),
                Field("status", "status"),
                Field("currency", casefold=True),
                Field("tax_id"),
                Field("credit_limit", "amount"),
            ),
        ),
        EntityKind(
            "ar_open",
            "Open AR items",
            keys=("document_number",),
            fields=(
                Field("customer_id"),
                Field("currency", casefold=True),
                Field("due_date", "date"),
                Field("amount", "amount"),
                Field("open_amount", "amount"),
            ),
            amount_field="open_amount",
            at_risk=("open_amount",),
        ),
        EntityKind(
            "subscription",
            "Subscriptions",
            keys=("subscription_id", "item_code"),
            fields=(
                Field("customer_id"),
                Field("status", "status"),
                Field("currency", casefold=True),
                Field("quantity", "number"),
                Field("unit_price", "amount"),
                Field("start_date", "date"),
            ),
            amount_field="unit_price",
            at_risk=("unit_price",),
        ),
        EntityKind(
            "invoice_line",
            "Invoice lines",
            keys=("invoice_number", "line_number"),
            fields=(
                Field("customer_id"),
                Field("item_code"),
                Field("currency", casefold=True),
                Field("billing_date", "date"),
                Field("quantity", "number"),
                Field("net_amount", "amount"),
                Field("tax_amount", "amount"),
            ),
            amount_field="net_amount",
            at_risk=("net_amount", "tax_amount"),
            tax=("tax_amount", "net_amount"),
        ),
        EntityKind(
            "gl_balance",
            "GL trial balance",
            keys=("account", "currency"),
            fields=(Field("balance", "amount"),),
            amount_field="balance",
            at_risk=("balance",),
            aggregate=True,
        ),
    )
}
