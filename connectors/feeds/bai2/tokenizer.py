"""Tolerant BAI2 tokenizer: physical lines in, logical records out.

Real files break the textbook layout: several records on one line (``.../ 16,...``),
records wrapped at a fixed physical length or by a stray newline, ``16`` text with commas
and without the closing ``/``, ``/`` inside references, ``03`` summaries continued on
``88`` lines. Fields are assembled first, then split, so the parser never sees a
physical line. A ``16`` is split with its funds type in mind, because the funds type
decides how many fields precede the free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from billbridge.errors import ParseError
from connectors.feeds.normalize import Line

CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_START = re.compile(r"\s*(\d\d),")
# A '/' ends a record mid-line only when a plausible record follows: its code and the
# fields that fix its shape (dates, a 3-digit type code, short trailers closed by '/').
# A bare "/01," or "/16," is common inside references and text ("INVOICES 12/01,12/02",
# "INV 2024/16,2024/17"); an 88 never follows another record on the same line.
_RECORD_AHEAD = (
    r"(?:01,[^,/]*,[^,/]*,\d{6},"
    r"|02,[^,/]*,[^,/]*,\d?,\d{6},"
    r"|03,[^,/]*,[A-Za-z]{0,3}(?:/|,\d{0,3}[,/])"
    r"|16,\d{3},[+-]?\d*,[0-9A-Za-z]?[,/]"
    r"|49,[+-]?\d*,\d*\s*/"
    r"|98,[+-]?\d*,\d*,\d*\s*/"
    r"|99,[+-]?\d*,\d*,\d*\s*/)"
)
_NEXT = r"\s*(?=" + _RECORD_AHEAD + ")"
_TEXT_END = re.compile(r"/" + _NEXT)
_SLASH_ENDS = re.compile(r"\s*$|" + _NEXT)
#: Fields a funds type adds to a 16 (D depends on its count, handled separately).
FUNDS_EXTRA = {"V": 2, "S": 3}
MAX_DISTRIBUTION = 99


@dataclass
class LogicalRecord:
    code: str
    line: int
    offset: int
    fields: list[str] = field(default_factory=list)  # 16: the fields before the text
    text: list[str] = field(default_factory=list)  # 16: text, then one piece per 88
    raw: list[str] = field(default_factory=list)
    continuations: int = 0  # 88 records merged in (they count in control totals)
    body: str = ""
    closed: bool = False
    complete: bool = False  # 16: all fields before the text were seen

    @property
    def raw_text(self) -> str:
        return "\n".join(self.raw)

    @property
    def record_count(self) -> int:
        return 1 + self.continuations


def _strip_text(piece: str) -> str:
    piece = piece.rstrip()
    if piece.endswith("/"):
        piece = piece[:-1]
    return piece.rstrip()


def _needed_16(fields: list[str]) -> int | None:
    """How many fields precede the text of a 16, once enough of it is known."""
    if len(fields) < 3:
        return None
    funds = fields[2].strip().upper()
    if funds == "D":
        if len(fields) < 4:
            return None
        count = fields[3].strip()
        n = int(count) if count.isdigit() else 0
        return 4 + 2 * min(n, MAX_DISTRIBUTION) + 2
    return 3 + FUNDS_EXTRA.get(funds, 0) + 2


def split_16(body: str) -> tuple[list[str], str | None, bool, str | None]:
    """Split a 16 body into (fields before text, text, closed, rest of the line)."""
    fast = _split_16_fast(body)
    if fast is not None:
        return fast
    fields: list[str] = []
    pos = 0
    need: int | None = None
    while True:
        if need is None and len(fields) >= 3:  # known once the funds type (and D count) is
            need = _needed_16(fields)
        if need is not None and len(fields) >= need:
            return _text_tail(fields, body[pos:])
        comma = body.find(",", pos)
        seg = body[pos:] if comma < 0 else body[pos:comma]
        slash = _terminating_slash(body, pos, len(seg))
        if slash is not None:
            fields.append(body[pos:slash])
            rest = body[slash + 1 :].strip()
            return fields, None, True, rest or None
        fields.append(seg)
        if comma < 0:
            return fields, None, False, None
        pos = comma + 1


def _text_tail(fields: list[str], tail: str) -> tuple[list[str], str | None, bool, str | None]:
    m = _TEXT_END.search(tail)
    if m:
        return fields, _strip_text(tail[: m.start()]), True, tail[m.end() :]
    return fields, _strip_text(tail), tail.rstrip().endswith("/"), None


def _split_16_fast(body: str) -> tuple[list[str], str | None, bool, str | None] | None:
    """The common case in one ``str.split``: complete fields, no '/' before the text."""
    head = body.split(",", 3)
    if len(head) < 4:
        return None
    funds = head[2].strip().upper()
    if funds == "D":
        return None
    need = 5 + FUNDS_EXTRA.get(funds, 0)
    parts = body.split(",", need)
    if len(parts) <= need or any("/" in p for p in parts[:need]):
        return None
    return _text_tail(parts[:need], parts[need])


def _terminating_slash(body: str, start: int, length: int) -> int | None:
    """Index of a '/' inside body[start:start+length] that ends the record, if any.

    A '/' is part of a reference unless only blanks or another record follow it.
    """
    idx = body.find("/", start, start + length)
    while idx >= 0:
        if _SLASH_ENDS.match(body, idx + 1):
            return idx
        idx = body.find("/", idx + 1, start + length)
    return None


class Tokenizer:
    """Feed physical lines, get complete logical records."""

    def __init__(self, file_name: str, physical_length: int | None = None) -> None:
        self.file_name = file_name
        self.physical_length = physical_length
        self.cur: LogicalRecord | None = None
        self._last_len = 0

    def records(self, lines: Iterable[Line]) -> Iterator[LogicalRecord]:
        for line in lines:
            yield from self.feed(line)
        if self.cur is not None:
            yield self.cur
            self.cur = None

    def feed(self, line: Line) -> Iterator[LogicalRecord]:
        text = line.text
        if not text.strip():
            return
        m = _START.match(text)
        rest: str | None
        if m and m.group(1) in CODES:
            code = m.group(1)
            content = text[m.end() :]
            if code == "88":
                cur = self._require_current(line, "an 88 continuation needs a record before it")
                cur.raw.append(text)
                cur.continuations += 1
                rest = self._absorb(cur, content, continuation=True)
            else:
                if self.cur is not None:
                    yield self.cur
                rest = self._start(code, content, line, text)
        else:
            cur = self._require_current(line, f"unexpected text {text[:20]!r}")
            if cur.closed and not (cur.code == "16" and cur.complete):
                raise ParseError(
                    f"unexpected text {text[:20]!r} after a complete record",
                    file=self.file_name,
                    line=line.number,
                    offset=line.offset,
                    expected="a record code 01, 02, 03, 16, 49, 88, 98 or 99",
                )
            cur.raw.append(text)
            rest = self._absorb(cur, text, continuation=False)
        self._last_len = len(text)
        self._trim_raw(rest)
        while rest and rest.strip():
            m = _START.match(rest)
            if not m or m.group(1) not in CODES or m.group(1) == "88":
                raise ParseError(
                    f"unexpected text {rest.strip()[:20]!r} after a record terminator",
                    file=self.file_name,
                    line=line.number,
                    offset=line.offset,
                    expected="another record or the end of the line",
                )
            if self.cur is not None:
                yield self.cur
            rest = self._start(m.group(1), rest[m.end() :], line, rest.strip())
            self._trim_raw(rest)

    def _trim_raw(self, rest: str | None) -> None:
        """Keep only this record's own text in ``raw`` when another record follows it."""
        if rest and rest.strip() and self.cur is not None:
            own = self.cur.raw[-1]
            self.cur.raw[-1] = own[: len(own) - len(rest)].rstrip()

    def _require_current(self, line: Line, message: str) -> LogicalRecord:
        if self.cur is None:
            raise ParseError(
                message,
                file=self.file_name,
                line=line.number,
                offset=line.offset,
                expected="a record code 01, 02, 03, 16, 49, 88, 98 or 99",
            )
        return self.cur

    def _start(self, code: str, content: str, line: Line, raw: str) -> str | None:
        self.cur = LogicalRecord(code=code, line=line.number, offset=line.offset, raw=[raw])
        return self._absorb(self.cur, content, continuation=None)

    def _absorb(self, rec: LogicalRecord, content: str, continuation: bool | None) -> str | None:
        """Add ``content`` to ``rec``; return what follows the record on the same line.

        ``continuation`` is None for the first piece, True for an 88, False for a line
        broken without any record code.
        """
        wrapped = self.physical_length is not None and self._last_len >= self.physical_length
        if rec.code != "16":
            idx = content.find("/")
            piece, rest = (content, None) if idx < 0 else (content[:idx], content[idx + 1 :])
            if continuation is None:
                rec.body = piece
            elif continuation and not (not rec.closed and rec.body.endswith(",")):
                rec.body = f"{rec.body},{piece}"
            else:
                rec.body += piece
            rec.fields = rec.body.split(",")
            rec.closed = idx >= 0
            return rest
        if rec.complete:
            m = _TEXT_END.search(content)
            piece, rest = (content, None) if not m else (content[: m.start()], content[m.end() :])
            piece = _strip_text(piece)
            if continuation is False and rec.text:
                rec.text[-1] += piece if wrapped else f" {piece}"
            else:
                rec.text.append(piece)
            rec.closed = rest is not None or content.rstrip().endswith("/")
            return rest
        if continuation is None:
            rec.body = content
        elif continuation and not rec.body.endswith(","):
            rec.body = f"{rec.body},{content}"
        else:
            rec.body += content
        fields, text, closed, rest = split_16(rec.body)
        rec.fields = fields
        need = _needed_16(fields)
        # a closed 16 missing trailing fields has them blank; what follows is its text
        rec.complete = (need is not None and len(fields) >= need) or closed
        rec.closed = closed
        if text is not None:
            rec.text.append(text)
        return rest
