"""Normalisation of invoice references and payer names for cash matching.

Invoice references: ``INV-000123``, ``INV 123`` and ``123`` all reduce to the digit key
``"123"`` (Odoo's rule: keep the digits of a token, here also dropping leading zeros). A
*strong* key keeps letters too (``INV000123``) and only matches the full invoice number.

Payer names: case, accents, punctuation, legal forms (Inc, GmbH, S.A., ...) and noise
words are stripped, so ``"ACME, Inc."`` and ``"Acme Incorporated"`` hash to the same key.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import NamedTuple

_DIGITS = re.compile(r"[0-9]+")
_NON_DIGIT = re.compile(r"[^0-9]+")
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
#: Separators between references in memo text; "/", "-" and "#" stay inside a token.
_TOKEN_SPLIT = re.compile(r"[\s,;:()\[\]{}|+]+")

_LEGAL_FORMS_TEXT = """
    inc incorporated llc llp lp ltd limited corp corporation co company companies plc
    gmbh ag kg kgaa ug mbh ohg ev sa sas sasu sarl se sl sau srl spa snc bv nv vof
    oy oyj ab as asa aps pty pte bhd sdn kk nk lda ltda sac cv sro as ks kft zrt nyrt
    doo ood eood ooo oao zao pjsc jsc ojsc ehf hf
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


class References(NamedTuple):
    """What free text says about invoices (see :func:`reference_tokens`)."""

    #: digit keys of every reference-like token
    digits: set[str]
    #: full keys (letters and digits) of every token, for lettered invoice numbers
    strong: set[str]
    #: digit keys written after an invoice label ("INV 1500", "Invoice #125, #126",
    #: "INV1500"): the only way free text names an all-digit invoice number for sure
    labelled: set[str]
    #: document numbers of X12 820 remittance segments in the text (``RMR*IV*<doc>*..``)
    documents: set[str]
    #: (reference as written, amount) where the text states what one invoice gets:
    #: "INV-000203 990.00; INV-000204 1000.00" or an RMR segment's amount paid
    stated: tuple[tuple[str, Decimal], ...]


#: An amount or a date is not a reference: "AMT 1,124.81" is not invoice 112481 and
#: "01/31/2025" is not invoice 2025.
_AMOUNT = re.compile(
    r"[-+]?[$€£¥]?[0-9]+(?:\.[0-9]{1,2})-?|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?"
)
_DATE = re.compile(
    r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{4}[/.-][0-9]{1,2}[/.-][0-9]{1,2}(?:T\S*)?"
)
_NOT_INVOICE_LABELS_TEXT = """
    amt amount chk check cheque chq ck po ponum purchase trn trace id acct account ac seq
    batch tel phone date dt value val eff effective cust customer co company tax vat ssn ein
    zip bai type order ord so
"""
_INVOICE_LABELS_TEXT = """
    inv invs invoice invoices invno invnbr invnum bill bills doc docs document documents
    rechnung rechnungen rg rech re facture factures factura facturas fattura fatture faktura
    nota
"""
#: Words after which a number is something else: a check, PO, trace, customer or company id.
_NOT_INVOICE_LABELS = frozenset(_NOT_INVOICE_LABELS_TEXT.split())
#: Words after which a number is an invoice number.
_INVOICE_LABELS = frozenset(_INVOICE_LABELS_TEXT.split())
#: Words that may stand between a label and its number ("CHECK NO 1234", "INV # 5").
_CONNECTORS = frozenset(("no", "nr", "nbr", "num", "number", "and", "&", "#", "n°", "nº"))
_ALPHA_PREFIX = re.compile(r"[^\W\d_]+")


def _label(word: str) -> str:
    """A token's leading letters, lower-cased ("INV#1500" -> "inv", "PO-77" -> "po")."""
    m = _ALPHA_PREFIX.match(word.lstrip("#"))
    return m.group().lower() if m else ""


def reference_tokens(text: str, *, min_digits: int = 3) -> References:
    """Invoice references in free text (memo, reference, remittance lines).

    Each token contributes the digits of the whole token ("INV/2024/00042" ->
    "202400042") and each digit run inside it ("1001/1002" -> "1001", "1002"), so both
    composite numbers and lists of numbers are found. Digit keys shorter than
    ``min_digits`` are noise on their own; they are kept only next to letters ("INV-7",
    "INV 7"), where the strong key must then match the invoice number exactly. Amounts,
    dates and numbers labelled as something else (check, PO, trace, customer id) are left
    out.
    """
    stated: list[tuple[str, Decimal]] = []
    documents: set[str] = set()
    for m in _RMR.finditer(text or ""):
        documents.add(m.group(1))
        if m.group(2):
            stated.append((m.group(1), Decimal(m.group(2))))
    refs = References(set(), set(), set(), documents, ())
    if not text:
        return refs
    plain = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), _RMR.sub(" ", text))
    words = [w for w in _TOKEN_SPLIT.split(plain) if w]
    for doc in documents:
        _add_token(refs, doc, "", min_digits=min_digits)
    kind = ""  # "inv" after an invoice label, "not" after another label, else ""
    previous = ""
    last_ref = ""  # the reference token just before, which an amount may belong to
    for token in words:
        label = _label(token)
        bare = label == token.lower().lstrip("#")  # a word without digits
        if bare and label not in _CONNECTORS:
            kind = (
                "inv" if label in _INVOICE_LABELS else "not" if label in _NOT_INVOICE_LABELS else ""
            )
            previous = token
            continue
        if bare:
            continue  # "NO", "#", "and": the label before it still holds
        if label in _NOT_INVOICE_LABELS or (kind == "not" and not label):
            kind = "" if label else kind
            last_ref = ""
            continue  # "PO1500", "CHK 1500": not an invoice
        if _AMOUNT.fullmatch(token):
            if last_ref and (amount := _stated_amount(token)) is not None:
                stated.append((last_ref, amount))
            last_ref = ""
            continue
        if _DATE.fullmatch(token):
            continue
        _add_token(refs, token, previous, min_digits=min_digits)
        last_ref = token
        if label in _INVOICE_LABELS or (kind == "inv" and not label):
            refs.labelled.update(k for k in _keys(token) if k)
        if label:
            kind = "inv" if label in _INVOICE_LABELS else ""
        previous = token
    return refs._replace(stated=tuple(stated))


#: An X12 820 RMR segment as banks pass it on in ACH CTX addenda or memo text:
#: RMR*<qualifier>*<document>*<action code>*<amount paid>
_RMR = re.compile(
    r"RMR\*[A-Z0-9]{0,3}\*([^*~\\\s]+)(?:\*[A-Z0-9]{0,3}\*([-+]?[0-9]+(?:\.[0-9]+)?))?",
    re.IGNORECASE,
)
#: "1,250.00": one amount, not the tokens "1" and "250.00" (commas also separate lists)
_THOUSANDS = re.compile(r"(?<![0-9,])[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{1,2}(?![0-9])")
#: An amount stated after an invoice number: decimals required ("990.00", "1,000.00"),
#: so that a second invoice number is never read as an amount
_STATED = re.compile(r"[$€£¥]?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.([0-9]{2})")


def _stated_amount(token: str) -> Decimal | None:
    m = _STATED.fullmatch(token)
    return Decimal(f"{m.group(1).replace(',', '')}.{m.group(2)}") if m else None


def _keys(token: str) -> list[str]:
    """The token's digit key and the keys of its digit runs ("127/128" -> 127128, 127, 128)."""
    return [ref_key(token), *(run.lstrip("0") for run in _DIGITS.findall(token))]


def _add_token(refs: References, token: str, previous: str, *, min_digits: int) -> None:
    whole = ref_key(token)
    lettered = any(ch.isalpha() for ch in token)
    if whole and (len(whole) >= min_digits or lettered):
        refs.digits.add(whole)
        refs.strong.add(strong_key(token))
    for run in _DIGITS.findall(token):
        key = run.lstrip("0")
        if len(key) >= min_digits:
            refs.digits.add(key)
    # "INV 123": the prefix and the number are separate tokens; join neighbours too.
    if previous.isalpha() and whole:
        refs.strong.add(strong_key(previous + token))
        refs.digits.add(whole)


def normalize_account(account: str | None) -> str:
    """Bank account / IBAN key: upper-case alphanumerics only."""
    return _NON_ALNUM.sub("", account.upper()) if account else ""


#: Letters NFKD does not decompose, as bank transliteration (SEPA) writes them: without
#: this "Ørsted" would lose its first letter and never meet "ORSTED".
_TRANSLIT = str.maketrans(
    {"ø": "o", "æ": "ae", "ł": "l", "ß": "ss", "œ": "oe", "þ": "th", "đ": "d", "ð": "d",
     "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "ng", "ĸ": "k"}
)  # fmt: skip
#: German umlauts as German banks transliterate them ("Müller" -> "MUELLER")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _fold(text: str, *, german: bool = False) -> str:
    if text.isascii():
        return text.lower()
    text = text.lower()
    if german:
        text = text.translate(_GERMAN)
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_DROP_INNER = re.compile(r"[.'`’]")
_PUNCT = re.compile(r"[^0-9a-z]+")
#: "A/S", "S/A", "K/S": a legal form written with a slash is one word
_SLASHED = re.compile(r"\b([a-z])/([a-z])\b")
#: legal forms of more than one word, once the dots are gone ("Sp. z o.o.", "S.A. de C.V.")
_LEGAL_PHRASES = re.compile(r"\b(?:sp z oo|sa de cv|s de rl|sp k|sp j)\b")


def normalize_name(name: str | None, *, german: bool = False) -> str:
    """Company-name key: folded, punctuation-free, without legal forms and noise words.

    When stripping would leave nothing (a company literally called "The Company"), the
    folded name is kept instead so distinct customers do not collapse to ''. ``german``:
    umlauts as ae/oe/ue instead of a/o/u (see :func:`name_keys`).
    """
    if not name:
        return ""
    folded = _fold(name, german=german).replace("&", " and ")
    folded = _SLASHED.sub(r"\1\2", _DROP_INNER.sub("", folded))  # "S.A." -> "sa", "A/S" -> "as"
    tokens = [t for t in _PUNCT.split(_LEGAL_PHRASES.sub(" ", folded)) if t]
    kept = [t for t in tokens if t not in LEGAL_FORMS and t not in NOISE_WORDS]
    return " ".join(kept or [t for t in _PUNCT.split(folded) if t])


def name_keys(name: str | None) -> tuple[str, ...]:
    """Every key a name is known by: as normalised, and with German umlauts spelled out
    when it has any (a bank may write "Müller" as MULLER or as MUELLER)."""
    plain = normalize_name(name)
    german = normalize_name(name, german=True)
    return (plain,) if german == plain else (plain, german)


def block_keys(normalized: str) -> tuple[str, ...]:
    """Cheap blocking keys for fuzzy name matching: the first 3 characters of each of the
    first two words.

    Two words make a typo in one of them survivable and word order irrelevant; later
    words are mostly generic ("systems", "consulting") and would make blocks huge.
    """
    if not normalized:
        return ()
    return tuple(sorted({token[:3] for token in normalized.split()[:2]}))
