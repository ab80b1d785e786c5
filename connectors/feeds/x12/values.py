"""Typed values out of X12 elements: R (explicit decimal), N2 (implied decimals), dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billbridge.errors import ConfigError, ParseError
from canonical import Money, Provenance, minor_units, normalize_currency
from canonical.currencies import UnknownCurrencyError
from connectors.feeds.x12.tokenizer import Segment

_R = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")
_N = re.compile(r"-?[0-9]{1,18}")


def is_digits(text: str) -> bool:
    """ASCII digits only, short enough for int() (str.isdigit accepts superscripts)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Ctx:
    """What every extractor needs to build records and errors."""

    file_name: str
    file_sha256: str
    currency: str = "USD"

    def fail(self, seg: Segment, message: str, expected: str) -> ParseError:
        return ParseError(
            f"{seg.tag}: {message}",
            file=self.file_name,
            line=seg.line,
            segment=seg.index,
            expected=expected,
        )

    def provenance(self, seg: Segment) -> Provenance:
        return Provenance(
            file=self.file_name,
            file_sha256=self.file_sha256,
            line=seg.line,
            offset=seg.offset,
            segment=seg.index,
            raw=seg.raw,
        )

    def currency_of(self, seg: Segment, code: str) -> str:
        try:
            return normalize_currency(code)
        except UnknownCurrencyError:
            raise self.fail(seg, f"unknown currency {code!r}", "an ISO 4217 code") from None


def r_decimal(ctx: Ctx, seg: Segment, pos: int) -> Decimal:
    """An R-type element taken exactly as written."""
    text = seg.el(pos)
    if not _R.fullmatch(text):
        raise ctx.fail(
            seg,
            f"{seg.tag}{pos:02d} {text[:20]!r} is not a decimal number",
            f"a decimal number in {seg.tag}{pos:02d}",
        )
    return Decimal(text)


def r_money(ctx: Ctx, seg: Segment, pos: int, currency: str) -> Money:
    return Money(r_decimal(ctx, seg, pos), currency)


def opt_r_money(ctx: Ctx, seg: Segment, pos: int, currency: str) -> Money | None:
    return r_money(ctx, seg, pos, currency) if seg.el(pos) else None


def n_money(ctx: Ctx, seg: Segment, pos: int, currency: str) -> Money:
    """An N2-style element: implied decimals from the currency's minor units."""
    text = seg.el(pos)
    if not _N.fullmatch(text):
        raise ctx.fail(
            seg,
            f"{seg.tag}{pos:02d} {text[:20]!r} is not an integer amount",
            f"digits with implied decimals in {seg.tag}{pos:02d}",
        )
    return Money(Decimal(int(text)).scaleb(-minor_units(currency)), currency)


def x12_date(ctx: Ctx, seg: Segment, pos: int) -> date:
    text = seg.el(pos)
    try:
        if len(text) == 8 and is_digits(text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6 and is_digits(text):
            return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        pass
    raise ctx.fail(
        seg, f"{seg.tag}{pos:02d} {text[:20]!r} is not a date", f"CCYYMMDD in {seg.tag}{pos:02d}"
    )


def opt_date(ctx: Ctx, seg: Segment, pos: int) -> date | None:
    return x12_date(ctx, seg, pos) if seg.el(pos) else None


def currency_for(ctx: Ctx, body: list[Segment]) -> str:
    """CUR02 when the set declares one, else the caller's default."""
    for seg in body:
        if seg.tag == "CUR" and seg.el(2):
            return ctx.currency_of(seg, seg.el(2))
    return ctx.currency


def default_currency(code: str) -> str:
    """The caller's default currency, checked once (a bad option is configuration)."""
    try:
        return normalize_currency(code)
    except UnknownCurrencyError:
        raise ConfigError(f"unknown default currency {code!r}") from None
