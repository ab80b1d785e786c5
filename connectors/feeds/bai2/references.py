"""Key/value conventions inside BAI2 ``16`` text and ``88`` lines.

Banks put matching references into free text: ``OBI:=INVOICE 123456``, ``EREF:...``,
``REMI:...``, ``ORIG CO NAME:...`` (ACH), ``/TRCD/.../``. Each convention is a small
sub-parser; :data:`SUBPARSERS` is the pluggable list a bank profile may extend.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SubParser = Callable[[Sequence[str]], dict[str, str]]

_MULTIWORD = "ORIG CO NAME|ORIG ID|ENTRY DESCR|IND ID|IND NAME|DESCR DATE|SEC CODE"
_COLON_KEY = re.compile(rf"(?:(?<=\s)|^)({_MULTIWORD}|[A-Z][A-Z0-9]{{1,5}}):=?")
_SLASH_KEY = re.compile(r"/([A-Z]{2,5})/")

END_TO_END_KEYS = ("EREF", "E2E", "ENDTOENDID")
NAME_KEYS = ("DBNM", "CRNM", "ORIG CO NAME", "ORIG", "ORG", "BNF", "ORDP", "IND NAME")
ACCOUNT_KEYS = ("CABA", "DBAC", "CRAC", "IBAN")
REFERENCE_KEYS = (
    "OBI", "REMI", "EREF", "TRID", "PY", "TRN", "REF", "IMAD", "OMAD", "KREF", "MREF",
    "INV", "RMT", "TRCD", "SVWZ", "IND ID", "RFB",
)  # fmt: skip


def _collapse(value: str) -> str:
    return " ".join(value.split()).strip(" /")


def colon_keys(segments: Sequence[str]) -> dict[str, str]:
    """``KEY:value`` and ``KEY:=value``, several per segment (``OB:x OB3:y``)."""
    found: dict[str, str] = {}
    for seg in segments:
        matches = list(_COLON_KEY.finditer(seg))
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(seg)
            value = _collapse(seg[m.end() : end])
            if value and m.group(1) not in found:
                found[m.group(1)] = value
    return found


def slash_keys(segments: Sequence[str]) -> dict[str, str]:
    """``/KEY/value/KEY/value/`` (SWIFT-style) spread over one or more segments."""
    text = "".join(segments)
    matches = list(_SLASH_KEY.finditer(text))
    found: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = _collapse(text[m.end() : end])
        if value and m.group(1) not in found:
            found[m.group(1)] = value
    return found


SUBPARSERS: list[SubParser] = [colon_keys, slash_keys]


@dataclass(frozen=True)
class TextReferences:
    keys: dict[str, str] = field(default_factory=dict)
    end_to_end_id: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    references: tuple[str, ...] = ()


def extract(segments: Sequence[str], parsers: Sequence[SubParser] = SUBPARSERS) -> TextReferences:
    keys: dict[str, str] = {}
    for parser in parsers:
        for key, value in parser(segments).items():
            keys.setdefault(key, value)
    refs = tuple(dict.fromkeys(keys[k] for k in REFERENCE_KEYS if k in keys))
    return TextReferences(
        keys=keys,
        end_to_end_id=next((keys[k] for k in END_TO_END_KEYS if k in keys), None),
        counterparty_name=next((keys[k] for k in NAME_KEYS if k in keys), None),
        counterparty_account=next((keys[k] for k in ACCOUNT_KEYS if k in keys), None),
        references=refs,
    )


#: what text without any key/value convention yields
NONE = TextReferences()
