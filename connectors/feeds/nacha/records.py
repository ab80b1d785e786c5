"""NACHA physical records: 94-character lines read tolerantly, grouped into batches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from billbridge.errors import ParseError
from connectors.feeds.model import FeedWarning

RECORD_LENGTH = 94
_BOM = b"\xef\xbb\xbf"


def digits(text: str) -> bool:
    """ASCII digits only, short enough for int() (str.isdigit accepts superscripts)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Rec:
    text: str  # padded to 94
    line: int
    offset: int

    def f(self, start: int, end: int) -> str:
        """1-based inclusive positions, as NACHA documents them; stripped."""
        return self.text[start - 1 : end].strip()


@dataclass
class Entry:
    rec: Rec
    addenda: list[Rec] = field(default_factory=list)


@dataclass
class Batch:
    header: Rec
    entries: list[Entry] = field(default_factory=list)
    control: Rec | None = None


class Checker:
    def __init__(self, file_name: str, strict: bool) -> None:
        self.file_name, self.strict = file_name, strict
        self.warnings: list[FeedWarning] = []

    def check(self, rec: Rec, what: str, declared: str, actual: int) -> None:
        if digits(declared) and int(declared) == actual:
            return
        message = f"{what}: control says {declared or 'nothing'}, computed {actual}"
        if self.strict:
            raise ParseError(
                message, file=self.file_name, line=rec.line, expected=f"{what} matching the entries"
            )
        self.warnings.append(
            FeedWarning(code="control_total_mismatch", message=message, line=rec.line)
        )


def physical_lines(text: str) -> list[tuple[int, int, str]]:
    """(line number, character offset, text) for each line, whatever the line breaks."""
    parts = re.split(r"(\r\n|\r|\n)", text)
    out: list[tuple[int, int, str]] = []
    pos = 0
    for n in range(0, len(parts), 2):
        out.append((n // 2 + 1, pos, parts[n]))
        pos += len(parts[n]) + (len(parts[n + 1]) if n + 1 < len(parts) else 0)
    return out


def read_records(data: bytes, file_name: str) -> list[Rec]:
    skip = len(_BOM) if data.startswith(_BOM) else 0
    text = data[skip:].decode("latin-1")
    if "\n" in text or "\r" in text:
        pieces = physical_lines(text)
    else:  # one unbroken stream of 94-character records
        pieces = [
            (n, i, text[i : i + RECORD_LENGTH])
            for n, i in enumerate(range(0, len(text), RECORD_LENGTH), start=1)
        ]
    recs: list[Rec] = []
    for line, at, piece in pieces:
        body = piece.rstrip(" \x1a")
        if not body:
            continue
        if len(body) > RECORD_LENGTH:
            raise ParseError(
                f"record of {len(body)} characters",
                file=file_name,
                line=line,
                expected=f"{RECORD_LENGTH}-character records",
            )
        if body[0] not in "156789":
            raise ParseError(
                f"unknown record type {body[0]!r}",
                file=file_name,
                line=line,
                expected="record type 1, 5, 6, 7, 8 or 9",
            )
        if set(body) == {"9"} and len(body) == RECORD_LENGTH:
            continue  # blocking filler
        recs.append(Rec(body.ljust(RECORD_LENGTH), line, skip + at))
    return recs


def yymmdd(value: str) -> date | None:
    if len(value) != 6 or not digits(value):
        return None
    try:
        return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        return None


def settlement(julian: str, effective: date | None) -> date | None:
    if not digits(julian) or effective is None or not 1 <= int(julian) <= 366:
        return None
    day = date(effective.year, 1, 1) + timedelta(days=int(julian) - 1)
    # settlement a few days after an end-of-year effective date falls in the next year
    return (
        date(effective.year + 1, 1, 1) + timedelta(days=int(julian) - 1)
        if (effective - day).days > 180
        else day
    )


def read_cents(rec: Rec, start: int, end: int, file_name: str) -> int:
    text = rec.f(start, end)
    if not digits(text):
        raise ParseError(
            f"amount {text!r} at positions {start}-{end}",
            file=file_name,
            line=rec.line,
            expected="digits (cents)",
        )
    return int(text)


def group_records(recs: list[Rec], file_name: str) -> tuple[Rec | None, list[Batch], Rec | None]:
    header: Rec | None = None
    trailer: Rec | None = None
    batches: list[Batch] = []
    batch: Batch | None = None
    for rec in recs:
        kind = rec.text[0]
        if kind == "1":
            header = rec
        elif kind == "5":
            batch = Batch(rec)
            batches.append(batch)
        elif kind in "67":
            if batch is None or batch.control is not None:
                raise ParseError(
                    f"record type {kind} outside a batch",
                    file=file_name,
                    line=rec.line,
                    expected="a batch header (5) first",
                )
            if kind == "6":
                batch.entries.append(Entry(rec))
            elif not batch.entries:
                raise ParseError(
                    "addenda before any entry",
                    file=file_name,
                    line=rec.line,
                    expected="an entry detail (6) first",
                )
            else:
                batch.entries[-1].addenda.append(rec)
        elif kind == "8":
            if batch is None:
                raise ParseError(
                    "batch control without header",
                    file=file_name,
                    line=rec.line,
                    expected="a batch header (5) first",
                )
            batch.control = rec
        elif kind == "9":
            trailer = rec
    return header, batches, trailer
