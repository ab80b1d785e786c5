"""SuiteQL reads: offset paging inside one query, keyset re-anchoring past the ceiling.

``POST query/v1/suiteql?limit=L&offset=N`` with ``Prefer: transient``; columns come back
lower-cased; ``offset`` must be a multiple of ``limit``; one query stops at 100,000 rows
however it is paged, so before the ceiling we start a new query ``WHERE id > :last_id``.
Rows are ordered by id, which keeps offsets stable while records are modified during the
read (a modified row keeps its place; a new row gets a higher id).

Timestamps are rendered and compared explicitly in the account timezone
(``TO_CHAR``/``TO_TIMESTAMP``), never truncated to a date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

TS_FORMAT = "YYYY-MM-DD HH24:MI:SS"
PY_TS_FORMAT = "%Y-%m-%d %H:%M:%S"
MODIFIED = "lastmodified"  # the column name the default mapping specs read
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9_\-. :]*$")


class SuiteQLPoster(Protocol):
    def suiteql_page(self, query: str, *, limit: int, offset: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class QuerySpec:
    """One SuiteQL source: table (with alias), selected columns and fixed filters."""

    table: str
    columns: tuple[str, ...]
    where: tuple[str, ...] = ()
    alias: str = "t"
    joins: tuple[str, ...] = ()
    modified_column: str = "lastmodifieddate"
    extra: dict[str, str] = field(default_factory=dict)

    def col(self, name: str) -> str:
        return f"{self.alias}.{name}"


def literal(value: str) -> str:
    """A quoted SuiteQL string literal; only id-like text is allowed in (no injection)."""
    if not _SAFE_LITERAL.match(value):
        raise ValueError(f"{value!r} is not a safe SuiteQL literal")
    return f"'{value}'"


def to_account_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(PY_TS_FORMAT)


def from_account_time(text: str, tz: ZoneInfo) -> datetime:
    """``2024-05-01 09:30:00`` in the account timezone -> aware UTC."""
    return datetime.strptime(text, PY_TS_FORMAT).replace(tzinfo=tz).astimezone(UTC)


def build_query(
    spec: QuerySpec,
    *,
    modified_from: str | None = None,
    after_id: int | None = None,
    conditions: Sequence[str] = (),
) -> str:
    """``SELECT … WHERE … ORDER BY id``; ``modified_from`` is account-local text."""
    mod = spec.col(spec.modified_column)
    cols = [spec.col("id"), *spec.columns, f"TO_CHAR({mod}, '{TS_FORMAT}') AS {MODIFIED}"]
    where = list(spec.where) + list(conditions)
    if modified_from is not None:
        where.append(f"{mod} >= TO_TIMESTAMP({literal(modified_from)}, '{TS_FORMAT}')")
    if after_id is not None:
        where.append(f"{spec.col('id')} > {int(after_id)}")
    sql = f"SELECT {', '.join(cols)} FROM {spec.table} {spec.alias}"
    if spec.joins:
        sql += " " + " ".join(spec.joins)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + f" ORDER BY {spec.col('id')}"


def iter_rows(
    poster: SuiteQLPoster,
    spec: QuerySpec,
    *,
    modified_from: str | None = None,
    after_id: int | None = None,
    conditions: Sequence[str] = (),
    page_size: int = 1000,
    ceiling: int = 100_000,
) -> Iterator[dict[str, Any]]:
    """Every row of the query, re-anchoring on the last id before the row ceiling."""
    page_size = min(page_size, ceiling)
    anchor = after_id
    while True:
        query = build_query(
            spec, modified_from=modified_from, after_id=anchor, conditions=conditions
        )
        offset = 0
        last_id: int | None = None
        read_in_query = 0
        while True:
            page = poster.suiteql_page(query, limit=page_size, offset=offset)
            items = page.get("items") or []
            for item in items:
                last_id = int(item["id"])
                yield item
            read_in_query += len(items)
            offset += page_size
            reached_ceiling = offset + page_size > ceiling
            # A query cut at the ceiling can still say hasMore=false; totalResults tells.
            truncated = int(page.get("totalResults") or 0) > read_in_query
            cut = reached_ceiling or (truncated and not page.get("hasMore"))
            if cut and last_id is not None and items:
                break  # re-anchor: new query WHERE id > last_id
            if not page.get("hasMore") or not items:
                return
        anchor = last_id
