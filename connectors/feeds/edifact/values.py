"""EDIFACT values: decimals with the declared (or either) decimal mark, dates, envelopes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billbridge.errors import ParseError
from canonical import Money, Provenance, normalize_currency
from canonical.currencies import UnknownCurrencyError
from connectors.feeds.edifact.tokenizer import Segment
from connectors.feeds.model import FeedWarning

_NUMBER = re.compile(r"-?([0-9]+[.,]?[0-9]*|[.,][0-9]+)")


def is_digits(text: str) -> bool:
    """ASCII digits only, short enough for int() (str.isdigit accepts superscripts)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Ctx:
    file_name: str
    file_sha256: str
    decimal_mark: str = "."
    currency: str = "EUR"

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

    def decimal(self, seg: Segment, text: str, what: str) -> Decimal:
        """Both marks are legal in EDIFACT; there are no thousands separators."""
        if not _NUMBER.fullmatch(text):
            raise self.fail(
                seg,
                f"{what} {text[:20]!r} is not a number",
                f"a number with decimal mark {self.decimal_mark!r}",
            )
        return Decimal(text.replace(",", "."))

    def currency_of(self, seg: Segment, code: str) -> str:
        try:
            return normalize_currency(code)
        except UnknownCurrencyError:
            raise self.fail(seg, f"unknown currency {code!r}", "an ISO 4217 code") from None


def currency_for(ctx: Ctx, body: list[Segment]) -> str:
    """CUX+2 (reference currency) when the message declares one, else the default."""
    for seg in body:
        if seg.tag == "CUX" and seg.el(1, 2):
            return ctx.currency_of(seg, seg.el(1, 2))
    return ctx.currency


def moa(ctx: Ctx, seg: Segment, currency: str) -> tuple[str, Money]:
    """MOA+qualifier:amount[:currency] -> (qualifier, Money)."""
    ccy = ctx.currency_of(seg, seg.el(1, 3)) if seg.el(1, 3) else currency
    if ccy != currency:
        raise ctx.fail(
            seg,
            f"amount in {ccy} in a message in {currency}",
            f"MOA amounts in the message currency {currency}",
        )
    return seg.el(1, 1), Money(ctx.decimal(seg, seg.el(1, 2), "MOA amount"), ccy)


def dtm(ctx: Ctx, seg: Segment) -> tuple[str, date | None]:
    """DTM+qualifier:value:format -> (qualifier, date); formats 102, 203, 204, 101."""
    qual, value, fmt = seg.el(1, 1), seg.el(1, 2), seg.el(1, 3) or "102"
    try:
        if fmt in ("102", "203", "204", "205") and len(value) >= 8 and is_digits(value[:8]):
            return qual, date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if fmt == "101" and len(value) == 6 and is_digits(value):
            return qual, date(2000 + int(value[:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        pass
    if fmt in ("102", "203", "204", "205", "101"):
        raise ctx.fail(
            seg, f"date {value[:20]!r} does not match format {fmt}", f"a date in format {fmt}"
        )
    return qual, None


@dataclass
class Message:
    """One UNH..UNT message with its interchange context."""

    msg_type: str
    reference: str
    segments: list[Segment] = field(default_factory=list)
    interchange_ref: str | None = None
    group_ref: str | None = None

    @property
    def body(self) -> list[Segment]:
        return [s for s in self.segments if s.tag not in ("UNH", "UNT")]


def _warn(code: str, message: str, seg: Segment) -> FeedWarning:
    return FeedWarning(code=code, message=message, line=seg.line, segment=seg.index)


def _count(
    warnings: list[FeedWarning], seg: Segment, declared: str, actual: int, what: str
) -> None:
    if not is_digits(declared) or int(declared) != actual:
        warnings.append(
            _warn(
                "control_count_mismatch",
                f"{seg.tag} says {declared or 'nothing'}, counted {actual} {what}",
                seg,
            )
        )


def messages(
    segments: tuple[Segment, ...], file_name: str
) -> tuple[list[Message], list[FeedWarning]]:
    """Split into messages and check UNT/UNE/UNZ counts and references (warnings)."""
    out: list[Message] = []
    warnings: list[FeedWarning] = []
    unb: Segment | None = None
    ung: Segment | None = None
    in_unb = in_ung = 0  # messages/groups counted for UNZ and UNE
    groups = 0
    current: Message | None = None
    for seg in segments:
        tag = seg.tag
        if current is not None:
            current.segments.append(seg)
            if tag == "UNT":
                _count(warnings, seg, seg.el(1), len(current.segments), "segments UNH..UNT")
                if seg.el(2) != current.reference:
                    warnings.append(
                        _warn(
                            "control_number_mismatch",
                            f"UNT {seg.el(2)!r} vs UNH {current.reference!r}",
                            seg,
                        )
                    )
                out.append(current)
                current = None
            elif tag in ("UNH", "UNB", "UNZ", "UNG", "UNE"):
                raise ParseError(
                    f"{tag} inside message {current.reference}",
                    file=file_name,
                    line=seg.line,
                    segment=seg.index,
                    expected="UNT closing the message",
                )
            continue
        if tag == "UNB":
            unb, in_unb, groups = seg, 0, 0
        elif tag == "UNG":
            ung, in_ung = seg, 0
            groups += 1
        elif tag == "UNE":
            _count(warnings, seg, seg.el(1), in_ung, "messages in group")
            ung = None
        elif tag == "UNZ":
            _count(warnings, seg, seg.el(1), groups or in_unb, "messages or groups")
            if unb is not None and seg.el(2) != unb.el(5):
                warnings.append(
                    _warn("control_number_mismatch", f"UNZ {seg.el(2)!r} vs UNB {unb.el(5)!r}", seg)
                )
            unb = None
        elif tag == "UNH":
            current = Message(
                seg.el(2, 1),
                seg.el(1),
                [seg],
                unb.el(5) if unb else None,
                ung.el(5) if ung else None,
            )
            in_unb += 1
            in_ung += 1
        else:
            warnings.append(_warn("unexpected_segment", f"{tag} outside a message", seg))
    if current is not None:
        last = current.segments[-1]
        raise ParseError(
            f"message {current.reference} has no UNT",
            file=file_name,
            line=last.line,
            segment=last.index,
            expected="UNT closing the message",
        )
    return out, warnings
