"""Normalise feed bytes before tokenising: BOM, encoding, newlines, hash.

The original bytes are never changed (the importer keeps them for audit); parsers work on
lines that carry their 1-based number and their *byte* offset in the original file, so
provenance points at the exact place even for cp1252 or multibyte UTF-8 input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

UTF8_BOM = b"\xef\xbb\xbf"
_LINE_RE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based physical line number
    offset: int  # byte offset of the line start in the original file
    text: str  # decoded, without the line break


@dataclass(frozen=True)
class Normalized:
    text: str  # decoded, BOM removed, every line break turned into "\n"
    encoding: str  # "utf-8", "cp1252" or "latin-1"
    sha256: str
    bom: bool
    body_offset: int  # bytes skipped at the start (3 with a BOM)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def strip_bom(data: bytes) -> tuple[bytes, bool]:
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :], True
    return data, False


def detect_encoding(data: bytes) -> str:
    """UTF-8 when the bytes decode as UTF-8, else cp1252, else latin-1 (never fails)."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; latin-1 maps every byte.
        return "latin-1"


def unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalize(data: bytes) -> Normalized:
    body, bom = strip_bom(data)
    encoding = detect_encoding(body)
    text = unify_newlines(body.decode(encoding))
    return Normalized(text, encoding, sha256_hex(data), bom, len(data) - len(body))


def iter_lines(data: bytes, encoding: str | None = None) -> Iterator[Line]:
    """Physical lines of ``data`` (CRLF, CR and LF all end a line), with byte offsets."""
    body, _ = strip_bom(data)
    start = len(data) - len(body)
    enc = encoding or detect_encoding(body)
    for number, match in enumerate(_LINE_RE.finditer(body), start=1):
        raw = match.group().rstrip(b"\r\n")
        yield Line(number, start + match.start(), raw.decode(enc, errors="replace"))


def iter_stream_lines(chunks: Iterable[bytes], encoding: str | None = None) -> Iterator[Line]:
    """Like :func:`iter_lines` over a binary file read line by line (bounded memory).

    Without a declared encoding each line is decoded as UTF-8 and falls back to cp1252,
    so one stray byte does not force decoding the whole file twice.
    """
    offset = 0
    number = 0
    for chunk_no, chunk in enumerate(chunks):
        piece = chunk
        if chunk_no == 0 and piece.startswith(UTF8_BOM):
            piece = piece[len(UTF8_BOM) :]
            offset += len(UTF8_BOM)
        for match in _LINE_RE.finditer(piece):
            raw = match.group().rstrip(b"\r\n")
            number += 1
            yield Line(number, offset + match.start(), _decode_line(raw, encoding))
        offset += len(piece)


def _decode_line(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")
