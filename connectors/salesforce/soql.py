"""Pure SOQL builders: literals, the keyset incremental query, id lookups, counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

#: Objects read with their lines as a child subquery (child object -> parent).
CHILD_OBJECTS = {
    "Opportunity": "OpportunityLineItem",
    "Order": "OrderItem",
    "SBQQ__Quote__c": "SBQQ__QuoteLine__c",
}


def dt(value: datetime) -> str:
    """SOQL datetime literal (unquoted, UTC): ``2024-01-01T00:00:00Z``."""
    if value.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def select(fields: Sequence[str], sobject: str, child: tuple[str, Sequence[str]] | None) -> str:
    parts = list(fields)
    if child is not None:
        relationship, child_fields = child
        parts.append(f"(SELECT {', '.join(child_fields)} FROM {relationship})")
    return f"SELECT {', '.join(parts)} FROM {sobject}"


def window(wm: datetime | None, last_id: str | None, upper: datetime) -> str:
    """Keyset predicate on (SystemModstamp, Id) with an upper bound fixed at run start."""
    clauses = []
    if wm is not None and last_id:
        clauses.append(
            f"(SystemModstamp > {dt(wm)} OR (SystemModstamp = {dt(wm)} AND Id > {quote(last_id)}))"
        )
    elif wm is not None:
        clauses.append(f"SystemModstamp >= {dt(wm)}")
    clauses.append(f"SystemModstamp <= {dt(upper)}")
    return " AND ".join(clauses)


def incremental(
    fields: Sequence[str],
    sobject: str,
    child: tuple[str, Sequence[str]] | None,
    wm: datetime | None,
    last_id: str | None,
    upper: datetime,
    *,
    ordered: bool = True,
) -> str:
    text = f"{select(fields, sobject, child)} WHERE {window(wm, last_id, upper)}"
    return f"{text} ORDER BY SystemModstamp, Id" if ordered else text


def count(sobject: str, wm: datetime | None, upper: datetime) -> str:
    return f"SELECT COUNT() FROM {sobject} WHERE {window(wm, None, upper)}"


def by_values(
    fields: Sequence[str],
    sobject: str,
    child: tuple[str, Sequence[str]] | None,
    field: str,
    values: Sequence[str],
) -> str:
    listed = ", ".join(quote(v) for v in values)
    return f"{select(fields, sobject, child)} WHERE {field} IN ({listed})"
