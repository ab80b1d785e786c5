"""UN/EDIFACT tokenizer: UNA service characters, release character, wrapped lines.

pydifact fails on UNG groups and on files wrapped at a fixed width, so we tokenize
ourselves. Line breaks carry no meaning in EDIFACT (unless UNA makes one the terminator),
so they are removed before tokenising; that both unwraps fixed-width files and drops the
CR/LF many senders put after each terminator. Positions map back to original lines.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from billbridge.errors import ParseError

_BOM = b"\xef\xbb\xbf"
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")


@dataclass(frozen=True)
class ServiceChars:
    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str | None = "?"
    segment: str = "'"


@dataclass(frozen=True)
class Segment:
    tag: str
    elements: tuple[tuple[str, ...], ...]  # elements[0] is the first data element
    index: int
    line: int
    offset: int  # byte offset in the original file
    raw: str

    def el(self, pos: int, comp: int = 1) -> str:
        """Data element ``pos`` (1-based), component ``comp`` (1-based); "" when absent."""
        if 1 <= pos <= len(self.elements):
            parts = self.elements[pos - 1]
            if 1 <= comp <= len(parts):
                return parts[comp - 1].strip()
        return ""


@dataclass(frozen=True)
class Tokens:
    chars: ServiceChars
    segments: tuple[Segment, ...]
    encoding: str


def decode(data: bytes) -> tuple[str, str, int]:
    """Text, encoding and the byte length of a stripped BOM."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[skip:].decode("utf-8"), "utf-8", skip
    except UnicodeDecodeError:
        return data[skip:].decode("latin-1"), "latin-1", skip


def _byte_offsets(text: str, encoding: str, bom: int) -> Callable[[int], int]:
    """Character offset -> byte offset in the original file (calls come in order)."""
    if encoding == "latin-1" or text.isascii():
        return lambda pos: pos + bom
    state = [0, bom]  # last char offset, its byte offset

    def convert(pos: int) -> int:
        if pos < state[0]:
            state[0], state[1] = 0, bom
        state[1] += len(text[state[0] : pos].encode(encoding))
        state[0] = pos
        return state[1]

    return convert


def _service_chars(text: str, file_name: str) -> tuple[ServiceChars, int]:
    if not text.startswith("UNA"):
        return ServiceChars(), 0
    if len(text) < 9:
        raise ParseError("truncated UNA", file=file_name, line=1, expected="UNA and 6 characters")
    comp, elem, dec, rel, term = text[3], text[4], text[5], text[6], text[8]
    chars = ServiceChars(comp, elem, dec, None if rel == " " else rel, term)
    if len({comp, elem, term}) != 3 or any(c.isalnum() for c in (comp, elem, term)):
        raise ParseError(
            f"UNA declares unusable separators {text[3:9]!r}",
            file=file_name,
            line=1,
            expected="distinct non-alphanumeric separators",
        )
    return chars, 9


def tokenize(data: bytes, *, file_name: str) -> Tokens:
    text, encoding, bom = decode(data)
    to_bytes = _byte_offsets(text, encoding, bom)
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    chars, skip = _service_chars(stripped, file_name)
    keep_newlines = chars.segment in "\r\n"
    # map positions in the unwrapped text back to original lines/offsets
    newlines = [m.start() for m in re.finditer("\n", text)]
    removed: list[int] = []
    pieces: list[str] = []
    last = lead + skip
    if not keep_newlines:
        for m in re.finditer(r"[\r\n]", text):
            pos = m.start()
            if pos < last:
                continue
            pieces.append(text[last:pos])
            removed.append(pos)
            last = pos + 1
    pieces.append(text[last:])
    body = "".join(pieces)
    origin = lead + skip

    def where(idx: int) -> tuple[int, int]:
        # index in body -> original offset: add the removed characters before it
        offset = origin + idx
        k = 0
        while True:
            nk = bisect.bisect_right(removed, offset)
            if nk == k:
                break
            offset += nk - k
            k = nk
        return bisect.bisect_right(newlines, offset - 1) + 1, to_bytes(offset)

    segments: list[Segment] = []
    rel = chars.release
    pos = 0
    for chunk in _split(body, chars.segment, rel):
        start, pos = pos, pos + len(chunk) + 1
        raw = chunk.strip()
        if not raw:
            continue
        line, offset = where(start + len(chunk) - len(chunk.lstrip()))
        parts = [
            tuple(_unescape(c, rel) for c in _split(el, chars.component, rel))
            for el in _split(raw, chars.element, rel)
        ]
        tag = parts[0][0].strip()
        if not _TAG.fullmatch(tag):
            raise ParseError(
                f"{tag[:10]!r} is not an EDIFACT segment tag",
                file=file_name,
                line=line,
                segment=len(segments) + 1,
                expected="a 3-letter segment tag",
            )
        segments.append(Segment(tag, tuple(parts[1:]), len(segments) + 1, line, offset, raw))
    return Tokens(chars, tuple(segments), encoding)


def _split(text: str, sep: str, rel: str | None) -> list[str]:
    """Split on ``sep`` except where the release character escapes it (left escaped)."""
    if rel is None or rel not in text:
        return text.split(sep)  # the common case, and fast
    parts: list[str] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == rel and i + 1 < n:
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _unescape(text: str, rel: str | None) -> str:
    if rel is None or rel not in text:
        return text
    return re.sub(re.escape(rel) + "(.)", r"\1", text, flags=re.DOTALL)
