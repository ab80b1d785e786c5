"""Namespace-agnostic lookups on camt elements (``Refs/EndToEndId`` matches any version)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from lxml import etree

from billbridge.errors import ParseError
from connectors.feeds.common import decimal_amount

Element = etree._Element


@lru_cache(maxsize=512)
def _path(path: str) -> str:
    return "/".join(f"{{*}}{part}" for part in path.split("/"))


def find(el: Element | None, path: str) -> Element | None:
    if el is None:
        return None
    return el.find(_path(path))


def findall(el: Element | None, path: str) -> list[Element]:
    if el is None:
        return []
    return list(el.iterfind(_path(path)))


def text(el: Element | None, *paths: str) -> str | None:
    """Stripped text of the first path that has some; None when none has."""
    for path in paths:
        found = find(el, path)
        if found is not None and found.text and found.text.strip():
            return found.text.strip()
    return None


def local(el: Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :]


def line_of(el: Element | None) -> int | None:
    line = el.sourceline if el is not None else None
    return line if isinstance(line, int) else None


def parse_date(value: str | None, *, file: str, line: int | None, field: str) -> date | None:
    """An ``xs:date``; a trailing zone (``2017-04-01+02:00``, ``Z``) is dropped."""
    if not value:
        return None
    core = value.strip()[:10]
    try:
        return date.fromisoformat(core)
    except ValueError:
        raise ParseError(
            f"{field}: {value[:30]!r} is not a date", file=file, line=line, expected="YYYY-MM-DD"
        ) from None


def parse_datetime(value: str, *, file: str, line: int | None, field: str) -> datetime:
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(
            f"{field}: {value[:40]!r} is not a date-time",
            file=file,
            line=line,
            expected="ISO 8601 date-time",
        ) from None
    return parsed


def date_or_datetime(
    el: Element | None, path: str, *, file: str, field: str
) -> tuple[date | None, datetime | None]:
    """``<X><Dt>`` or ``<X><DtTm>`` (either may appear where the other was expected)."""
    holder = find(el, path)
    if holder is None:
        return None, None
    line = line_of(holder)
    dt_text = text(holder, "DtTm")
    if dt_text:
        stamp = parse_datetime(dt_text, file=file, line=line, field=field)
        return stamp.date(), stamp if stamp.tzinfo is not None else None
    d_text = text(holder, "Dt")
    if d_text and "T" in d_text:
        stamp = parse_datetime(d_text, file=file, line=line, field=field)
        return stamp.date(), stamp if stamp.tzinfo is not None else None
    return parse_date(d_text, file=file, line=line, field=field), None


def amount_of(el: Element | None, *, file: str, field: str) -> tuple[str, str] | None:
    """(amount text, currency) of an ``Amt``-like element, checked to be a number."""
    if el is None or el.text is None or not el.text.strip():
        return None
    decimal_amount(el.text, file=file, line=line_of(el), field=field)
    return el.text.strip(), (el.get("Ccy") or "").strip()
