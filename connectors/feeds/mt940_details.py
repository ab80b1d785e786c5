"""Sub-field parsers for MT940 ``:86:`` information to the account owner.

Conventions handled:

* German (DK/ZKA, also used in AT/CH/PL): ``166?00SEPA-GUTSCHRIFT?20EREF+...?21SVWZ+...
  ?30BIC?31IBAN?32NAME``; the separator may be ``?``, ``~`` or ``>``. Purpose lines
  ``?20``-``?29`` and ``?60``-``?63`` are joined *without* a space (lines wrap anywhere,
  even inside a keyword), then split on the SEPA keys ``EREF+``, ``KREF+``, ``MREF+``,
  ``CRED+``, ``SVWZ+`` ...
* Dutch (ING/Rabobank/ABN): ``/EREF/.../ORDP//NAME/.../REMI/USTD//.../TRTP/.../RTRN/AM04/``.
* Anything else is free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GERMAN = re.compile(r"^\s*(\d{3})?([?~>])(\d\d)")
_SEPA_KEYS = (
    "EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC",
    "COAM", "OAMT", "PURP", "RTRN",
)  # fmt: skip
_SEPA = re.compile(r"(?<![A-Z])(" + "|".join(_SEPA_KEYS) + r")\+")
_DUTCH_KEYS = (
    "EREF", "ORDP", "BENM", "NAME", "REMI", "USTD", "STRD", "TRTP", "RTRN", "IBAN", "BIC",
    "CNTP", "MARF", "CSID", "PREF", "ADDR", "ULTC", "ULTD", "PURP", "ISDT", "CDTRREF",
    "CDTRREFTP", "CD", "SCOR", "ISSR", "ID", "FX", "TRCD",
)  # fmt: skip
_DUTCH = re.compile(r"/(" + "|".join(_DUTCH_KEYS) + r")(?=/)")
SUBFIELD_WIDTH = 27
NOT_PROVIDED = {"NOTPROVIDED", "NONREF", ""}


@dataclass(frozen=True)
class Details:
    style: str  # german | dutch | text
    purpose: str | None = None
    end_to_end_id: str | None = None
    customer_reference: str | None = None
    mandate_id: str | None = None
    creditor_id: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    return_reason: str | None = None
    code: str | None = None  # German GVC (business transaction code)
    booking_text: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def references(self) -> tuple[str, ...]:
        refs = (self.end_to_end_id, self.customer_reference, self.mandate_id)
        return tuple(dict.fromkeys(r for r in refs if r))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split()).strip(" /")
    return None if value.upper() in NOT_PROVIDED else value


def parse_details(text: str | None) -> Details:
    """Pick the convention from the text and parse it; free text when none fits."""
    if not text or not text.strip():
        return Details(style="text")
    m = _GERMAN.match(text)
    if m:
        return _german(text, m.group(2), m.group(1))
    flat = text.replace("\n", "")
    if len(_DUTCH.findall(flat)) >= 2:
        return _dutch(flat)
    return Details(style="text", purpose=_clean(text))


def _german(text: str, sep: str, code: str | None) -> Details:
    flat = text.replace("\n", "")
    parts = re.split(re.escape(sep) + r"(\d\d)", flat)
    sub: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        sub[key] = sub.get(key, "") + value
    purpose_keys = [f"{n}" for n in range(20, 30)] + ["60", "61", "62", "63"]
    purpose = _join_wrapped([sub[k] for k in purpose_keys if k in sub])
    keyed = _sepa_keys(purpose)
    name = "".join(sub.get(k, "") for k in ("32", "33")) or None
    return Details(
        style="german",
        purpose=_clean(keyed.get("SVWZ") or (purpose if not keyed else None)),
        end_to_end_id=_clean(keyed.get("EREF")),
        customer_reference=_clean(keyed.get("KREF")),
        mandate_id=_clean(keyed.get("MREF")),
        creditor_id=_clean(keyed.get("CRED")),
        counterparty_name=_clean(name),
        counterparty_account=_clean(sub.get("31") or keyed.get("IBAN")),
        counterparty_bic=_clean(sub.get("30") or keyed.get("BIC")),
        return_reason=_clean(sub.get("34") or keyed.get("RTRN")),
        code=code,
        booking_text=_clean(sub.get("00")),
        fields={k: v for k, v in keyed.items() if v},
    )


def _join_wrapped(pieces: list[str]) -> str:
    """Purpose lines are 27 characters: a full line was wrapped mid-text, a short one
    ended a phrase (so a space goes between them)."""
    out = ""
    prev: str | None = None
    for piece in pieces:
        if prev is not None and len(prev) < SUBFIELD_WIDTH:
            out += " "
        out += piece
        prev = piece
    return out


def _sepa_keys(purpose: str) -> dict[str, str]:
    matches = list(_SEPA.finditer(purpose))
    found: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(purpose)
        found.setdefault(m.group(1), purpose[m.end() : end])
    return found


def _dutch(flat: str) -> Details:
    matches = list(_DUTCH.finditer(flat))
    found: dict[str, str] = {}
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(flat)
        value = flat[m.end() + 1 : end].strip("/ ")
        if value:
            found.setdefault(m.group(1), value)
    cntp = found.get("CNTP", "").split("/")  # /CNTP/iban/bic/name/city/
    return Details(
        style="dutch",
        purpose=_clean(found.get("USTD") or found.get("REMI") or found.get("STRD")),
        end_to_end_id=_clean(found.get("EREF")),
        mandate_id=_clean(found.get("MARF")),
        creditor_id=_clean(found.get("CSID")),
        counterparty_name=_clean(found.get("NAME") or (cntp[2] if len(cntp) > 2 else None)),
        counterparty_account=_clean(found.get("IBAN") or (cntp[0] if cntp[0] else None)),
        counterparty_bic=_clean(found.get("BIC") or (cntp[1] if len(cntp) > 1 else None)),
        return_reason=_clean(found.get("RTRN")),
        code=_clean(found.get("TRTP")),
        fields=found,
    )
