"""Walk ISA/GS/ST envelopes into transaction sets and check their control counts.

Count or control-number disagreements are warnings (the content is still usable); a
transaction set cut off before its ``SE`` is an error, since half a set must not be posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from billbridge.errors import ParseError
from connectors.feeds.model import FeedWarning
from connectors.feeds.x12.tokenizer import Segment, Tokens
from connectors.feeds.x12.values import is_digits

_ENVELOPE = {"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"}
#: Warnings about the envelope itself; ``strict`` turns them into errors.
STRUCTURAL = frozenset({"control_count_mismatch", "control_number_mismatch", "missing_trailer"})


@dataclass
class TransactionSet:
    set_id: str  # ST01: 810, 820, 997...
    control: str  # ST02, stripped
    segments: list[Segment] = field(default_factory=list)  # ST..SE inclusive
    functional_id: str | None = None  # GS01
    group_control: str | None = None  # GS06
    version: str | None = None  # GS08
    interchange_control: str | None = None  # ISA13
    sender_id: str | None = None  # ISA06
    receiver_id: str | None = None  # ISA08

    @property
    def body(self) -> list[Segment]:
        """Segments between ST and SE."""
        return [s for s in self.segments if s.tag not in ("ST", "SE")]


@dataclass
class _Group:
    functional_id: str
    control: str
    version: str
    sets: int = 0


def _same_control(a: str, b: str) -> bool:
    """Control numbers compare after padding and leading zeros are removed."""
    a, b = a.strip(), b.strip()
    if is_digits(a) and is_digits(b):
        return int(a) == int(b)
    return a == b


def _warn(code: str, message: str, seg: Segment) -> FeedWarning:
    return FeedWarning(code=code, message=message, line=seg.line, segment=seg.index)


def _check_count(
    warnings: list[FeedWarning], seg: Segment, pos: int, actual: int, what: str
) -> None:
    declared = seg.el(pos)
    if not is_digits(declared) or int(declared) != actual:
        warnings.append(
            _warn(
                "control_count_mismatch",
                f"{seg.tag}{pos:02d} says {declared or 'nothing'}, counted {actual} {what}",
                seg,
            )
        )


def walk(tokens: Tokens, *, file_name: str) -> tuple[list[TransactionSet], list[FeedWarning]]:
    sets: list[TransactionSet] = []
    warnings: list[FeedWarning] = []
    isa: Segment | None = None
    groups_in_isa = 0
    group: _Group | None = None
    current: TransactionSet | None = None
    for seg in tokens.segments:
        tag = seg.tag
        if current is not None:
            current.segments.append(seg)
            if tag == "SE":
                _check_count(warnings, seg, 1, len(current.segments), "segments ST..SE")
                if not _same_control(seg.el(2), current.control):
                    warnings.append(
                        _warn(
                            "control_number_mismatch",
                            f"SE02 {seg.el(2)!r} vs ST02 {current.control!r}",
                            seg,
                        )
                    )
                sets.append(current)
                current = None
            elif tag in ("ST", "GS", "GE", "ISA", "IEA"):
                raise ParseError(
                    f"{tag} inside transaction set {current.control}",
                    file=file_name,
                    line=seg.line,
                    segment=seg.index,
                    expected="SE closing the transaction set",
                )
            continue
        if tag == "ISA":
            isa, groups_in_isa = seg, 0
        elif tag == "IEA":
            _check_count(warnings, seg, 1, groups_in_isa, "functional groups")
            if isa is not None and not _same_control(seg.el(2), isa.el(13)):
                warnings.append(
                    _warn(
                        "control_number_mismatch",
                        f"IEA02 {seg.el(2)!r} vs ISA13 {isa.el(13)!r}",
                        seg,
                    )
                )
            isa = None
        elif tag == "GS":
            group = _Group(seg.el(1), seg.el(6), seg.el(8))
            groups_in_isa += 1
        elif tag == "GE":
            if group is not None:
                _check_count(warnings, seg, 1, group.sets, "transaction sets")
                if not _same_control(seg.el(2), group.control):
                    warnings.append(
                        _warn(
                            "control_number_mismatch",
                            f"GE02 {seg.el(2)!r} vs GS06 {group.control!r}",
                            seg,
                        )
                    )
            group = None
        elif tag == "ST":
            current = TransactionSet(
                set_id=seg.el(1),
                control=seg.el(2),
                segments=[seg],
                functional_id=group.functional_id if group else None,
                group_control=group.control if group else None,
                version=group.version if group else None,
                interchange_control=isa.el(13) if isa else None,
                sender_id=isa.el(6) if isa else None,
                receiver_id=isa.el(8) if isa else None,
            )
            if group is not None:
                group.sets += 1
        elif tag not in _ENVELOPE:
            warnings.append(_warn("unexpected_segment", f"{tag} outside a transaction set", seg))
    if current is not None:
        last = current.segments[-1]
        raise ParseError(
            f"transaction set {current.set_id} {current.control} has no SE",
            file=file_name,
            line=last.line,
            segment=last.index,
            expected="SE closing the transaction set",
        )
    if tokens.segments and tokens.has_isa and (group is not None or isa is not None):
        last = tokens.segments[-1]
        warnings.append(_warn("missing_trailer", "interchange ends without GE/IEA", last))
    return sets, warnings


def enforce_strict(warnings: list[FeedWarning], *, file_name: str, strict: bool) -> None:
    """With ``strict``, the first envelope warning becomes a ParseError (never tie-outs)."""
    bad = next((w for w in warnings if w.code in STRUCTURAL), None) if strict else None
    if bad is not None:
        raise ParseError(
            bad.message,
            file=file_name,
            line=bad.line,
            segment=bad.segment,
            expected="control counts and numbers that agree",
        )
