"""Zuora v1 datetimes carry no offset: they are tenant-local time (section 4.3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def tenant_datetime(value: str | None, zone: ZoneInfo) -> datetime | None:
    """``"2024-06-13 14:58:07"`` in the tenant zone -> aware UTC; offsets are respected."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def zoql_literal(moment: datetime, zone: ZoneInfo) -> str:
    """A ZOQL datetime literal in tenant time with its explicit offset."""
    local = moment.astimezone(zone).replace(microsecond=0)
    return local.isoformat()


def business_date(value: str | None) -> date | None:
    """Business dates stay calendar dates (never shifted through a zone)."""
    return date.fromisoformat(value[:10]) if value else None
