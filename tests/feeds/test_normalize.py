"""Normalisation: BOM, encoding fallback (recorded), newline styles, byte offsets, hash."""

from __future__ import annotations

import hashlib
import io

from connectors.feeds.normalize import (
    detect_encoding,
    iter_lines,
    iter_stream_lines,
    normalize,
)


def test_bom_is_stripped_and_hash_covers_original_bytes() -> None:
    data = b"\xef\xbb\xbfline one\r\nline two"
    norm = normalize(data)
    assert norm.text == "line one\nline two"
    assert norm.bom and norm.body_offset == 3
    assert norm.sha256 == hashlib.sha256(data).hexdigest()


def test_encoding_fallback_is_recorded() -> None:
    assert detect_encoding("Müller".encode()) == "utf-8"
    assert detect_encoding("Müller €".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"caf\xe9 \x81") == "latin-1"  # 0x81 is undefined in cp1252
    assert normalize("Grüße".encode("cp1252")).text == "Grüße"


def test_lines_carry_numbers_and_byte_offsets_for_every_newline_style() -> None:
    data = "ä1\r\nb2\rc3\nd4".encode()
    lines = list(iter_lines(data))
    assert [(ln.number, ln.offset, ln.text) for ln in lines] == [
        (1, 0, "ä1"),
        (2, 5, "b2"),
        (3, 8, "c3"),
        (4, 11, "d4"),
    ]
    assert data[lines[3].offset :] == b"d4"


def test_stream_lines_match_whole_buffer_lines() -> None:
    data = b"\xef\xbb\xbf01,A\r\n02,B\n\n03,\xe9\n"
    streamed = list(iter_stream_lines(io.BytesIO(data)))
    whole = list(iter_lines(data, "utf-8"))
    assert [(s.number, s.offset) for s in streamed] == [(w.number, w.offset) for w in whole]
    assert streamed[3].text == "03,é"  # a stray cp1252 byte falls back per line
