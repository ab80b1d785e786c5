"""Open receivables as an Arrow table queried set-based in DuckDB.

A million open invoices never become Python objects: the reference tier is one DuckDB
join of the payments' reference keys against the invoices' digit keys, and only the
invoices of customers that the amount tiers need are fetched into Python.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from reconcile.cash.model import OpenItem

OPEN_ITEM_SCHEMA = pa.schema(
    [
        ("invoice_number", pa.string()),
        ("customer_id", pa.string()),
        ("currency", pa.string()),
        ("open_minor", pa.int64()),
        ("issue_date", pa.date32()),
        ("due_date", pa.date32()),
    ]
)
#: Optional columns: early-payment discount (minor units) if paid on or before the date.
DISCOUNT_FIELDS = (("discount_minor", pa.int64()), ("discount_until", pa.date32()))


@dataclass(frozen=True, slots=True)
class Item:
    """An open invoice inside the engine: amounts in integer minor units. A negative open
    amount is a credit memo: only ever consumed by a payment that names it beside the
    customer's invoices (``tiers.reference_decision``), never a candidate by amount."""

    invoice_number: str
    customer_id: str
    currency: str
    open_minor: int
    issue_date: date
    due_date: date | None
    discount_minor: int = 0
    discount_until: date | None = None

    def discount_on(self, day: date, remaining: int) -> int:
        """Early-payment discount available for a payment on ``day`` (untouched items only)."""
        if self.discount_minor and self.discount_until and day <= self.discount_until:
            return self.discount_minor if remaining == self.open_minor else 0
        return 0

    @property
    def age_key(self) -> tuple[date, date, str]:
        """Oldest first: due date (issue date when none), then issue date, then number."""
        return (self.due_date or self.issue_date, self.issue_date, self.invoice_number)


def open_items_table(items: Iterable[OpenItem]) -> pa.Table:
    """Arrow table of open items (amounts converted to minor units, exactly)."""
    rows = list(items)
    return pa.table(
        {
            "invoice_number": [i.invoice_number for i in rows],
            "customer_id": [i.customer_id for i in rows],
            "currency": [i.open_amount.currency for i in rows],
            "open_minor": [i.open_amount.to_minor() for i in rows],
            "issue_date": [i.issue_date for i in rows],
            "due_date": [i.due_date for i in rows],
            "discount_minor": [i.discount.to_minor() if i.discount else None for i in rows],
            "discount_until": [i.discount_until for i in rows],
        },
        schema=pa.schema([*OPEN_ITEM_SCHEMA, *(pa.field(n, t) for n, t in DISCOUNT_FIELDS)]),
    )


@dataclass(frozen=True, slots=True)
class DuplicateOpenItem:
    """An invoice number open more than once (e.g. synced twice into the ERP): cash is never
    applied to it automatically, because which copy is real needs a person."""

    invoice_number: str
    customer_ids: tuple[str, ...]
    currency: str
    open_minor: int  # the largest open amount among the copies
    copies: int


@functools.cache
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; each index works in its own cursor (connection).

    Opening a database costs tens of milliseconds, a cursor almost nothing; TEMP tables and
    registered Arrow views are private to the cursor, so concurrent indexes do not collide.
    """
    return duckdb.connect()


class OpenItemIndex:
    """DuckDB-backed lookups over the open-item table."""

    def __init__(self, table: pa.Table) -> None:
        self._con = _database().cursor()
        for name, kind in DISCOUNT_FIELDS:
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, kind))
        names = [*OPEN_ITEM_SCHEMA.names, *(n for n, _ in DISCOUNT_FIELDS)]
        self._con.register("inv_src", table.select(names))
        self._con.execute(
            """
            CREATE TEMP TABLE inv AS
            SELECT *, ltrim(regexp_replace(invoice_number, '[^0-9]', '', 'g'), '0') AS rkey
            FROM inv_src WHERE open_minor <> 0
            """
        )
        self._con.unregister("inv_src")
        # the invoice number is the application key: set duplicated numbers aside
        rows = self._con.execute(
            """
            SELECT invoice_number, list(DISTINCT customer_id ORDER BY customer_id),
                   min(currency), max(open_minor), count(*)
            FROM inv GROUP BY 1 HAVING count(*) > 1 ORDER BY 1
            """
        ).fetchall()
        self.duplicates = tuple(
            DuplicateOpenItem(num, tuple(cust), ccy, int(amount), int(n))
            for num, cust, ccy, amount, n in rows
        )
        if self.duplicates:
            self._con.execute(
                "DELETE FROM inv WHERE invoice_number IN "
                "(SELECT invoice_number FROM inv GROUP BY 1 HAVING count(*) > 1)"
            )

    def close(self) -> None:
        self._con.close()

    def reference_hits(
        self, line_idx: list[int], keys: list[str], currencies: list[str]
    ) -> dict[int, list[Item]]:
        """Invoices whose digit key equals a reference key of the line, in any currency
        (a reference to an invoice in another currency must be seen to be reported)."""
        tokens = pa.table({"line_idx": line_idx, "rkey": keys, "currency": currencies})
        self._con.register("tok", tokens)
        try:
            rows = _query(
                self._con,
                """
                SELECT DISTINCT t.line_idx, i.invoice_number, i.customer_id, i.currency,
                       i.open_minor, i.issue_date, i.due_date, i.discount_minor,
                       i.discount_until
                FROM tok t JOIN inv i ON i.rkey = t.rkey
                ORDER BY t.line_idx, i.invoice_number
                """,
            )
        finally:
            self._con.unregister("tok")
        hits: dict[int, list[Item]] = {}
        for idx, item in zip(rows.column("line_idx").to_pylist(), _items(rows), strict=True):
            hits.setdefault(idx, []).append(item)
        return hits

    def items_of(self, customer_ids: Iterable[str]) -> dict[str, list[Item]]:
        """All open items of the given customers, each list oldest first."""
        wanted = pa.table({"customer_id": sorted(set(customer_ids))})
        self._con.register("want", wanted)
        try:
            rows = _query(
                self._con,
                """
                SELECT i.invoice_number, i.customer_id, i.currency, i.open_minor,
                       i.issue_date, i.due_date, i.discount_minor, i.discount_until
                FROM inv i SEMI JOIN want w ON w.customer_id = i.customer_id
                ORDER BY i.customer_id, coalesce(i.due_date, i.issue_date), i.issue_date,
                         i.invoice_number
                """,
            )
        finally:
            self._con.unregister("want")
        grouped: dict[str, list[Item]] = {}
        for item in _items(rows):
            grouped.setdefault(item.customer_id, []).append(item)
        return grouped


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The whole result as Arrow (``to_arrow_table`` in DuckDB >= 1.4, ``arrow`` before)."""
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    table: pa.Table = fetch()
    return table


def _items(rows: pa.Table) -> list[Item]:
    cols = [
        rows.column(name).to_pylist()
        for name in ("invoice_number", "customer_id", "currency", "open_minor")
    ]
    dates = [rows.column(name).to_pylist() for name in ("issue_date", "due_date")]
    disc = rows.column("discount_minor").to_pylist()
    until = rows.column("discount_until").to_pylist()
    return [
        Item(n, c, ccy, int(m), i, d, int(x or 0), u)
        for n, c, ccy, m, i, d, x, u in zip(*cols, *dates, disc, until, strict=True)
    ]
