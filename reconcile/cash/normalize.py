"""Normalisation of invoice references and payer names for cash matching.

Invoice references: ``INV-000123``, ``INV 123`` and ``123`` all reduce to the digit key
``"123"`` (Odoo's rule: keep the digits of a token, here also dropping leading zeros). A
*strong* key keeps letters too (``INV000123``) and only matches the full invoice number.

Payer names: case, accents, punctuation, legal forms (Inc, GmbH, S.A., ...) and noise
words are stripped, so ``"ACME, Inc."`` and ``"Acme Incorporated"`` hash to the same key.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

_DIGITS = re.compile(r"[0-9]+")
_NON_DIGIT = re.compile(r"[^0-9]+")
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
#: Separators between references in memo text; "/", "-" and "#" stay inside a token.
_TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]{}|+]+")

_LEGAL_FORMS_TEXT = """
    inc incorporated llc llp lp ltd limited corp corporation co company companies plc
    gmbh ag kg kgaa ug mbh ohg ev sa sas sasu sarl se sl sau srl spa snc bv nv vof
    oy oyj ab as asa aps pty pte bhd sdn kk nk lda ltda sac cv
"""
_NOISE_TEXT = """
    the and und et of de der die das la le les el y group holding holdings
    payment pymt pmt ach wire transfer trf remit remittance
"""
LEGAL_FORMS = frozenset(_LEGAL_FORMS_TEXT.split())
NOISE_WORDS = frozenset(_NOISE_TEXT.split())


def ref_key(text: str) -> str:
    """Digit key of a reference: digits only, leading zeros dropped ('' when none)."""
    return _NON_DIGIT.sub("", text).lstrip("0")


def strong_key(text: str) -> str:
    """Full reference key: letters and digits, separators and leading zeros dropped.

    ``INV-000123``, ``inv 123`` (once joined) and ``INV123`` are the same key.
    """
    unpadded = _DIGITS.sub(lambda m: m.group().lstrip("0") or "0", text.upper())
    return _NON_ALNUM.sub("", unpadded)


def reference_tokens(text: str, *, min_digits: int = 3) -> tuple[set[str], set[str]]:
    """(digit keys, strong keys) found in free text.

    Each whitespace token contributes the digits of the whole token ("INV/2024/00042" ->
    "202400042") and each digit run inside it ("1001/1002" -> "1001", "1002"), so both
    composite numbers and lists of numbers are found. Digit keys shorter than
    ``min_digits`` are noise on their own; they are kept only next to letters ("INV-7",
    "INV 7"), where the strong key must then match the invoice number exactly.
    """
    digit_keys: set[str] = set()
    strong: set[str] = set()
    if not text:
        return digit_keys, strong
    for token in _TOKEN_SPLIT.split(text):
        if not token:
            continue
        whole = ref_key(token)
        lettered = any(ch.isalpha() for ch in token)
        if whole and (len(whole) >= min_digits or lettered):
            digit_keys.add(whole)
            strong.add(strong_key(token))
        for run in _DIGITS.findall(token):
            key = run.lstrip("0")
            if len(key) >= min_digits:
                digit_keys.add(key)
    # "INV 123": the prefix and the number are separate tokens; join neighbours too.
    words = [w for w in _TOKEN_SPLIT.split(text) if w]
    for first, second in itertools.pairwise(words):
        if first.isalpha() and ref_key(second):
            strong.add(strong_key(first + second))
            digit_keys.add(ref_key(second))
    return digit_keys, strong


def normalize_account(account: str | None) -> str:
    """Bank account / IBAN key: upper-case alphanumerics only."""
    return _NON_ALNUM.sub("", account.upper()) if account else ""


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


_DROP_INNER = re.compile(r"[.'`’]")
_PUNCT = re.compile(r"[^0-9a-z]+")


def normalize_name(name: str | None) -> str:
    """Company-name key: folded, punctuation-free, without legal forms and noise words.

    When stripping would leave nothing (a company literally called "The Company"), the
    folded name is kept instead so distinct customers do not collapse to ''.
    """
    if not name:
        return ""
    folded = _fold(name).replace("&", " and ")
    folded = _DROP_INNER.sub("", folded)  # "S.A." -> "sa", "O'Neil" -> "oneil"
    tokens = [t for t in _PUNCT.split(folded) if t]
    kept = [t for t in tokens if t not in LEGAL_FORMS and t not in NOISE_WORDS]
    return " ".join(kept or tokens)


def block_keys(normalized: str) -> tuple[str, ...]:
    """Cheap blocking keys for fuzzy name matching: the first 3 characters of each of the
    first two words.

    Two words make a typo in one of them survivable and word order irrelevant; later
    words are mostly generic ("systems", "consulting") and would make blocks huge.
    """
    if not normalized:
        return ()
    return tuple(sorted({token[:3] for token in normalized.split()[:2]}))
