"""Which NetSuite source feeds each entity: SuiteQL table and filters, REST record type,
and whether bodies come from the record API (transactions, for their lines) or straight
from SuiteQL rows (lists)."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.netsuite.suiteql import QuerySpec


@dataclass(frozen=True)
class Source:
    record_type: str  # REST / SOAP record type
    query: QuerySpec
    #: read bodies with GET record/v1/{type}/{id}?expandSubResources=true
    rest_bodies: bool
    #: canonical entity (None: raw only)
    entity: str | None


def _transaction(record_type: str, code: str, entity: str) -> Source:
    query = QuerySpec("transaction", ("t.tranid", "t.externalid"), (f"t.type = '{code}'",))
    return Source(record_type, query, True, entity)


#: Columns as the default spec ``netsuite/suiteql/customer_to_customer`` reads them.
CUSTOMER_QUERY = QuerySpec(
    "customer",
    (
        "c.entityid",
        "c.companyname",
        "c.email",
        "c.phone",
        "cur.symbol AS currency",
        "BUILTIN.DISPLAY(c.terms) AS terms",
        "BUILTIN.DISPLAY(c.subsidiary) AS subsidiary",
        "c.parent",
        "c.creditlimit",
        "c.isinactive",
        "c.externalid",
    ),
    alias="c",
    joins=("LEFT JOIN currency cur ON cur.id = c.currency",),
)
ITEM_QUERY = QuerySpec(
    "item",
    ("i.itemid", "i.displayname", "i.description", "i.itemtype", "i.isinactive", "i.externalid"),
    alias="i",
)
SUBSIDIARY_QUERY = QuerySpec(
    "subsidiary",
    ("s.name", "s.country", "s.currency", "s.isinactive", "s.externalid"),
    alias="s",
)

SOURCES: dict[str, Source] = {
    "customer": Source("customer", CUSTOMER_QUERY, False, "customer"),
    "product": Source("serviceSaleItem", ITEM_QUERY, False, "product"),
    "invoice": _transaction("invoice", "CustInvc", "invoice"),
    "credit_memo": _transaction("creditMemo", "CustCred", "credit_memo"),
    "payment": _transaction("customerPayment", "CustPymt", "payment"),
    "contract": _transaction("salesOrder", "SalesOrd", "contract"),
    "journal_line": _transaction("journalEntry", "Journal", "journal_line"),
    "subsidiary": Source("subsidiary", SUBSIDIARY_QUERY, False, None),
}
#: NetSuite record names accepted as aliases (``read_raw("salesOrder")``).
ALIASES = {
    "creditMemo": "credit_memo",
    "customerPayment": "payment",
    "salesOrder": "contract",
    "journalEntry": "journal_line",
    "item": "product",
}


def source_for(entity: str, *, item_record_type: str = "serviceSaleItem") -> Source:
    name = ALIASES.get(entity, entity)
    if name not in SOURCES:
        known = ", ".join(sorted(SOURCES))
        raise KeyError(f"NetSuite connector has no entity {entity!r} (known: {known})")
    source = SOURCES[name]
    if name == "product" and item_record_type != source.record_type:
        return Source(item_record_type, source.query, False, "product")
    return source
