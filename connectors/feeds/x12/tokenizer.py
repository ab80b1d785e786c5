"""A tolerant ANSI X12 tokenizer: separators from the ISA, segments with their positions.

Real senders pretty-print, use CRLF or newline-only terminators, pad with spaces, drop the
final terminator and prepend a BOM; pyx12 and ansi-x12 reject most of that, so we read it
ourselves. A bare ``ST``...``SE`` fragment (ACH CTX addenda) has no ISA: its separators
are guessed from the first segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billbridge.errors import ParseError

_BOM = b"\xef\xbb\xbf"
_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_NEWLINE = "\n"
#: Terminators seen in fragments, most specific first.
_FRAGMENT_TERMINATORS = ("~", "\\", "'", "\n", "\r")


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    component: str = ">"
    repetition: str | None = None
    segment: str = "~"  # "\n" means newline-terminated segments

    def all(self) -> set[str]:
        seps = {self.element, self.component, self.segment}
        if self.repetition:
            seps.add(self.repetition)
        return seps


@dataclass(frozen=True)
class Segment:
    tag: str
    elements: tuple[str, ...]  # without the tag: elements[0] is XX01
    index: int  # 1-based position in the file
    line: int  # 1-based line of the segment's first character
    offset: int  # byte offset in the original file
    raw: str

    def el(self, pos: int) -> str:
        """Element ``pos`` (1-based, as in ``BPR02``), stripped; "" when absent."""
        if 1 <= pos <= len(self.elements):
            return self.elements[pos - 1].strip()
        return ""


@dataclass(frozen=True)
class Tokens:
    separators: Separators
    segments: tuple[Segment, ...]
    encoding: str
    has_isa: bool


def decode(data: bytes) -> tuple[str, str, int]:
    """Text, encoding and the byte length of a stripped BOM."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    body = data[skip:]
    try:
        return body.decode("utf-8"), "utf-8", skip
    except UnicodeDecodeError:
        return body.decode("latin-1"), "latin-1", skip


def _fail(file_name: str, message: str, *, offset: int, expected: str) -> ParseError:
    return ParseError(message, file=file_name, offset=offset, expected=expected)


def _isa_separators(text: str, start: int, file_name: str) -> Separators:
    """Separators from the ISA, found by counting element separators (not fixed offsets)."""
    if len(text) < start + 4:
        raise _fail(file_name, "truncated ISA", offset=start, expected="ISA segment")
    element = text[start + 3]
    if element.isalnum() or element.isspace():
        raise _fail(
            file_name,
            f"invalid element separator {element!r}",
            offset=start + 3,
            expected="a non-alphanumeric character at ISA position 4",
        )
    pos = start + 3
    for _ in range(15):
        pos = text.find(element, pos + 1)
        if pos < 0:
            raise _fail(file_name, "truncated ISA", offset=start, expected="16 ISA elements")
    fields = text[start + 4 : pos].split(element)
    if pos + 1 >= len(text):
        raise _fail(file_name, "truncated ISA", offset=pos, expected="ISA16 and a terminator")
    component = text[pos + 1]
    term_at = pos + 2
    terminator = text[term_at] if term_at < len(text) else _NEWLINE
    if terminator == " ":
        # space-padded terminator: the real boundary is the following newline
        rest = text[term_at:].lstrip(" ")
        if not rest or rest[0] not in "\r\n":
            raise _fail(
                file_name,
                "invalid segment terminator ' '",
                offset=term_at,
                expected="a terminator after ISA16",
            )
        terminator = _NEWLINE
    if terminator in "\r\n":
        terminator = _NEWLINE
    if terminator.isalnum() or terminator in (element, component):
        raise _fail(
            file_name,
            f"invalid segment terminator {terminator!r}",
            offset=term_at,
            expected="a terminator distinct from the element and component separators",
        )
    isa11 = fields[10] if len(fields) > 10 else ""
    repetition = None
    if len(isa11) == 1 and not isa11.isalnum() and isa11 not in (element, component, terminator):
        repetition = isa11
    return Separators(element, component, repetition, terminator)


def _fragment_separators(text: str, start: int, file_name: str) -> Separators:
    tag = _TAG.match(text, start)
    end = tag.end() if tag else start + 2
    element = text[end] if len(text) > end else ""
    if not element or element.isalnum() or element.isspace():
        raise _fail(
            file_name,
            "no X12 element separator after the first segment id",
            offset=start,
            expected="ISA or ST followed by a separator",
        )
    found = [(text.find(t, start), t) for t in _FRAGMENT_TERMINATORS]
    hits = sorted((pos, t) for pos, t in found if pos >= 0 and t != element)
    terminator = hits[0][1] if hits else _NEWLINE
    if terminator == "\r":
        terminator = _NEWLINE
    return Separators(element, ">", None, terminator)


def _split(text: str, seps: Separators) -> list[tuple[int, str]]:
    """(char offset, chunk) pairs, one per segment candidate."""
    if seps.segment == _NEWLINE:
        return [(m.start(), m.group()) for m in re.finditer(r"[^\r\n]+", text)]
    chunks: list[tuple[int, str]] = []
    pos = 0
    for part in text.split(seps.segment):
        chunks.append((pos, part))
        pos += len(part) + 1
    return chunks


def tokenize(data: bytes, *, file_name: str) -> Tokens:
    text, encoding, bom = decode(data)
    start = len(text) - len(text.lstrip())
    if start >= len(text):
        raise _fail(file_name, "empty X12 input", offset=0, expected="ISA or ST segment")
    has_isa = text.startswith("ISA", start)
    if has_isa:
        seps = _isa_separators(text, start, file_name)
    elif _TAG.match(text, start):
        seps = _fragment_separators(text, start, file_name)
    else:
        raise _fail(
            file_name, "not X12: no ISA or segment id at start", offset=start, expected="ISA"
        )
    ascii_only = encoding == "latin-1" or text.isascii()
    segments: list[Segment] = []
    line = 1
    byte_pos = bom
    char_pos = 0
    for at, chunk in _split(text, seps):
        # advance line/byte counters to the chunk start
        gap = text[char_pos:at]
        line += gap.count("\n")
        byte_pos += len(gap) if ascii_only else len(gap.encode("utf-8"))
        char_pos = at
        lead = len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        if "\n" in body or "\r" in body:
            # wrapped at a fixed width (some VANs): line breaks inside a segment are not data
            body = body.replace("\r", "").replace("\n", "")
        if body:
            seg_line = line + chunk[:lead].count("\n")
            lead_bytes = lead if ascii_only else len(chunk[:lead].encode("utf-8"))
            parts = body.split(seps.element)
            tag = parts[0].strip()
            if not _TAG.fullmatch(tag):
                raise ParseError(
                    f"{tag[:10]!r} is not an X12 segment id",
                    file=file_name,
                    line=seg_line,
                    segment=len(segments) + 1,
                    expected="a 2-3 character segment id",
                )
            segments.append(
                Segment(
                    tag, tuple(parts[1:]), len(segments) + 1, seg_line, byte_pos + lead_bytes, body
                )
            )
    return Tokens(seps, tuple(segments), encoding, has_isa)
