"""Which feed format a file holds, decided by content (never by file extension).

Order matters: specific signatures first (XML namespaces, OFX header, ISA, UNA/UNB, the
BAI2 ``01,`` header or a BAI2 file cut before it), then fixed-width NACHA (``101`` +
94-character lines) before lockbox (record ``1`` + record types 2/5/6), MT940 tags, and
CSV last as the weak guess.
"""

from __future__ import annotations

import re

from billbridge.errors import ParseError

HEAD_BYTES = 64 * 1024
NACHA_LENGTH = 94
_BOM = b"\xef\xbb\xbf"
_ZIP = b"PK\x03\x04"
_X12 = re.compile(rb"\A\s*ISA[^A-Za-z0-9\s]")
_X12_FRAGMENT = re.compile(rb"\A\s*ST[*|^~:]\d{3}[*|^~:]")
# With a UNA service string, UNB is followed by the element separator it declares (its 2nd
# character), which need not be "+"; without one, by the default "+".
_EDIFACT = re.compile(rb"\A\s*(?:UNA.(.).{4}\s*UNB\1|UNB[+:])", re.DOTALL)
_NACHA = re.compile(rb"\A1\d\d[ \d]\d{9}[ \d]\d{9}\d{6}")
_LOCKBOX_TYPES = frozenset(b"1245678 9")
# BAI2 missing its 01 header (starts at a 02 group or 03 account): detected as BAI2 so the
# parser says what is wrong instead of a misleading CSV error. The first record must end
# with "/" and be followed by the record that belongs after it.
_BAI2_HEADLESS = re.compile(rb"\A\s*(?:02,[^\r\n/]*/\s*03,|03,[^\r\n/]*/\s*(?:16|88|49),)")

#: every format name the feed commands accept
FORMATS = ("bai2", "camt", "mt940", "ofx", "lockbox", "x12", "edifact", "nacha", "csv")


def _lines(head: bytes, n: int = 12) -> list[bytes]:
    return [ln.rstrip(b"\r") for ln in head.split(b"\n")[:n] if ln.strip()]


def _is_nacha(head: bytes) -> bool:
    lines = _lines(head)
    return bool(lines and _NACHA.match(lines[0]) and len(lines[0]) >= NACHA_LENGTH - 2)


def _is_lockbox(head: bytes) -> bool:
    lines = _lines(head)
    if len(lines) < 2 or not lines[0].startswith(b"1") or not lines[0][:3].isdigit():
        return False
    kinds = {ln[0] for ln in lines}
    return kinds <= _LOCKBOX_TYPES and bool(kinds & set(b"56"))


def detect(head: bytes) -> str | None:
    """The format of a file from its first bytes, or None when nothing fits."""
    # imported here: importing this module (for FORMATS) must not pull in lxml/ofxparse
    from connectors.feeds import bai2, bank_csv, camt, mt940, ofx

    head = head[:HEAD_BYTES].removeprefix(_BOM)
    if not head.strip():
        return None
    if head.startswith(_ZIP):
        return "zip"
    if camt.sniff(head):
        return "camt"
    if ofx.sniff(head):
        return "ofx"
    if _X12.match(head) or _X12_FRAGMENT.match(head):
        return "x12"
    if _EDIFACT.match(head):
        return "edifact"
    if bai2.sniff(head) or _BAI2_HEADLESS.match(head):
        return "bai2"
    if _is_nacha(head):
        return "nacha"
    if mt940.sniff(head):
        return "mt940"
    if _is_lockbox(head):
        return "lockbox"
    if bank_csv.sniff(head):
        return "csv"
    return None


def detect_format(data: bytes, *, file_name: str) -> str:
    """Like :func:`detect` but a file nobody recognises is a ParseError that says so."""
    found = detect(data)
    if found == "zip":
        raise ParseError(
            "ZIP container: unpack it and import the files inside",
            file=file_name,
            offset=0,
            expected="a single feed file",
        )
    if found is None:
        raise ParseError(
            "unrecognised feed format",
            file=file_name,
            offset=0,
            expected="BAI2, camt.05x, MT940, OFX, lockbox, X12, EDIFACT, NACHA or CSV "
            "(or pass --format)",
        )
    return found
