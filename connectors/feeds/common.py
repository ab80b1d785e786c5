"""Small helpers every statement parser shares: entry keys, the ParseError guard."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation

from billbridge.errors import ParseError
from canonical import Money
from canonical.currencies import UnknownCurrencyError, normalize_currency


def entry_key(*parts: object) -> str:
    """A short stable key from the parts that identify an entry (dedupe across files)."""
    text = "|".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class KeyCounter:
    """Makes keys unique within its scope (a statement; for MT940 the whole file, whose
    statements may run over several pages): the second identical key gets ``#2``.

    Two genuinely identical entries in one statement stay two records, while the same
    entry repeated by an overlapping download in another file keeps the same key.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def unique(self, key: str) -> str:
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        return key if n == 1 else f"{key}#{n}"


@contextmanager
def parse_guard(file_name: str, what: str) -> Iterator[None]:
    """Turn any unexpected library or model error into a ParseError naming the file.

    The parser contract promises callers only ParseError; a third-party parser (mt-940,
    ofxparse, lxml) or a model validator can raise anything on hostile input.
    """
    try:
        yield
    except ParseError:
        raise
    except RecursionError as exc:
        raise ParseError(f"{what}: input nests too deeply", file=file_name) from exc
    except Exception as exc:  # the contract allows only ParseError out
        raise ParseError(f"{what}: {type(exc).__name__}: {str(exc)[:200]}", file=file_name) from exc


def currency_or_error(code: str, *, file: str, line: int | None, field: str) -> str:
    try:
        return normalize_currency(code)
    except UnknownCurrencyError:
        raise ParseError(
            f"{field}: unknown currency {code.strip()[:10]!r}",
            file=file,
            line=line,
            expected="an ISO 4217 currency code",
        ) from None


def decimal_amount(text: str, *, file: str, line: int | None, field: str) -> Decimal:
    """An explicit-decimal amount as written (``1.234,5`` is not accepted here)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ParseError(
            f"{field}: {text.strip()[:30]!r} is not a number",
            file=file,
            line=line,
            expected="a decimal amount",
        ) from None
    if not value.is_finite():
        raise ParseError(f"{field}: {text!r} is not finite", file=file, line=line)
    return value


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency)
