"""NACHA ACH files: entries as bank transactions, CTX/CCD+ addenda as remittances.

Tolerant in the style of carta-ach: CRLF or LF or no line breaks at all, missing padding
lines, short records (zero-entry return files), latin-1 text. Amounts are cents; the sign
comes from the transaction code (receiver's view: 22/32 credit positive, 27/37 debit
negative; ``originator=True`` flips it for files we originated). Controls (counts, entry
hash, debit/credit totals) are verified: warnings, or ParseError with ``strict=True``.
Account and routing numbers are personal data: kept in records, never logged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import structlog

from billbridge.errors import ParseError
from canonical import BankStatement, BankTransaction, EntryStatus, Money, Provenance, Remittance
from connectors.feeds.model import FeedResult, FeedWarning

FORMAT = "nacha"
SOURCE_SYSTEM = "nacha"
RECORD_LENGTH = 94
log = structlog.get_logger(__name__)
_BOM = b"\xef\xbb\xbf"
_SNIFF = re.compile(rb"\A(\xef\xbb\xbf)?1\d\d[ \d]\d{9}[ \d]\d{9}\d{6}")
_PRENOTE_LAST_DIGITS = {"3", "8"}
#: Addenda text that is X12: an interchange, an ST..SE set or bare RMR/REF segments.
_X12_START = re.compile(r"(ISA|ST|RMR|REF|BPR)[*|^~:]")


def sniff(head: bytes) -> bool:
    if not _SNIFF.match(head):
        return False
    first = head.lstrip(_BOM).split(b"\n", 1)[0].rstrip(b"\r")
    return len(first) >= RECORD_LENGTH - 2


def _digits(text: str) -> bool:
    """ASCII digits only, short enough for int() (str.isdigit accepts superscripts)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Rec:
    text: str  # padded to 94
    line: int
    offset: int

    def f(self, start: int, end: int) -> str:
        """1-based inclusive positions, as NACHA documents them; stripped."""
        return self.text[start - 1 : end].strip()


@dataclass
class _Entry:
    rec: Rec
    addenda: list[Rec] = field(default_factory=list)


@dataclass
class _Batch:
    header: Rec
    entries: list[_Entry] = field(default_factory=list)
    control: Rec | None = None


class _Checker:
    def __init__(self, file_name: str, strict: bool) -> None:
        self.file_name, self.strict = file_name, strict
        self.warnings: list[FeedWarning] = []

    def check(self, rec: Rec, what: str, declared: str, actual: int) -> None:
        if _digits(declared) and int(declared) == actual:
            return
        message = f"{what}: control says {declared or 'nothing'}, computed {actual}"
        if self.strict:
            raise ParseError(
                message, file=self.file_name, line=rec.line, expected=f"{what} matching the entries"
            )
        self.warnings.append(
            FeedWarning(code="control_total_mismatch", message=message, line=rec.line)
        )


def _records(data: bytes, file_name: str) -> list[Rec]:
    skip = len(_BOM) if data.startswith(_BOM) else 0
    text = data[skip:].decode("latin-1")
    if "\n" in text or "\r" in text:
        pieces = [(m.start(), m.group()) for m in re.finditer(r"[^\r\n]+", text)]
    else:
        pieces = [(i, text[i : i + RECORD_LENGTH]) for i in range(0, len(text), RECORD_LENGTH)]
    recs: list[Rec] = []
    for at, piece in pieces:
        line = text.count("\n", 0, at) + 1 if "\n" in text else len(recs) + 1
        body = piece.rstrip(" \x1a")
        if not body:
            continue
        if len(body) > RECORD_LENGTH:
            raise ParseError(
                f"record of {len(body)} characters",
                file=file_name,
                line=line,
                expected=f"{RECORD_LENGTH}-character records",
            )
        if body[0] not in "156789":
            raise ParseError(
                f"unknown record type {body[0]!r}",
                file=file_name,
                line=line,
                expected="record type 1, 5, 6, 7, 8 or 9",
            )
        if set(body) == {"9"} and len(body) == RECORD_LENGTH:
            continue  # blocking filler
        recs.append(Rec(body.ljust(RECORD_LENGTH), line, skip + at))
    return recs


def _yymmdd(value: str) -> date | None:
    if len(value) != 6 or not _digits(value):
        return None
    try:
        return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        return None


def _settlement(julian: str, effective: date | None) -> date | None:
    if not _digits(julian) or effective is None or not 1 <= int(julian) <= 366:
        return None
    day = date(effective.year, 1, 1) + timedelta(days=int(julian) - 1)
    # settlement a few days after an end-of-year effective date falls in the next year
    return (
        date(effective.year + 1, 1, 1) + timedelta(days=int(julian) - 1)
        if (effective - day).days > 180
        else day
    )


def _cents(rec: Rec, start: int, end: int, file_name: str) -> int:
    text = rec.f(start, end)
    if not _digits(text):
        raise ParseError(
            f"amount {text!r} at positions {start}-{end}",
            file=file_name,
            line=rec.line,
            expected="digits (cents)",
        )
    return int(text)


def _group(recs: list[Rec], file_name: str) -> tuple[Rec | None, list[_Batch], Rec | None]:
    header: Rec | None = None
    trailer: Rec | None = None
    batches: list[_Batch] = []
    batch: _Batch | None = None
    for rec in recs:
        kind = rec.text[0]
        if kind == "1":
            header = rec
        elif kind == "5":
            batch = _Batch(rec)
            batches.append(batch)
        elif kind in "67":
            if batch is None or batch.control is not None:
                raise ParseError(
                    f"record type {kind} outside a batch",
                    file=file_name,
                    line=rec.line,
                    expected="a batch header (5) first",
                )
            if kind == "6":
                batch.entries.append(_Entry(rec))
            elif not batch.entries:
                raise ParseError(
                    "addenda before any entry",
                    file=file_name,
                    line=rec.line,
                    expected="an entry detail (6) first",
                )
            else:
                batch.entries[-1].addenda.append(rec)
        elif kind == "8":
            if batch is None:
                raise ParseError(
                    "batch control without header",
                    file=file_name,
                    line=rec.line,
                    expected="a batch header (5) first",
                )
            batch.control = rec
        elif kind == "9":
            trailer = rec
    return header, batches, trailer


_CREDIT_DIGITS = set("1234")


def _tx_sign(code: str) -> int:
    return 1 if code[-1:] in _CREDIT_DIGITS else -1


def _entry_fields(sec: str, rec: Rec) -> dict[str, str]:
    if sec == "CTX":
        return {"individual_id": rec.f(40, 54), "name": rec.f(59, 74), "account": rec.f(13, 29)}
    if sec == "IAT":
        return {"individual_id": "", "name": "", "account": rec.f(40, 74)}
    return {"individual_id": rec.f(40, 54), "name": rec.f(55, 76), "account": rec.f(13, 29)}


def _remittances(
    entry: _Entry,
    tx: BankTransaction,
    text: str,
    file_name: str,
    sha: str,
    checker: _Checker,
) -> list[Remittance]:
    from connectors.feeds import x12

    trace = tx.bank_reference or ""
    try:
        rems, warnings = x12.parse_fragment(
            text,
            file_name=file_name,
            file_sha256=sha,
            default_total=abs(tx.amount),
            default_trace=trace,
        )
    except ParseError as exc:
        if checker.strict:
            raise
        checker.warnings.append(
            FeedWarning(
                code="embedded_820_unparsed",
                line=entry.rec.line,
                message=f"entry {trace}: CTX addenda are not a readable 820 ({exc.reason})",
            )
        )
        return []
    checker.warnings += [
        w.model_copy(update={"line": entry.rec.line, "segment": w.segment}) for w in warnings
    ]
    out = []
    for rem in rems:
        if rem.total != abs(tx.amount):
            checker.warnings.append(
                FeedWarning(
                    code="remittance_not_tied",
                    line=entry.rec.line,
                    message=f"entry {trace}: 820 total {rem.total} vs entry {abs(tx.amount)}",
                )
            )
        out.append(
            rem.model_copy(
                update={
                    "source_system": "nacha_ctx",
                    "source_id": trace,
                    "payer_name": rem.payer_name or tx.counterparty_name,
                    "payer_account": rem.payer_account or tx.counterparty_account,
                    "extra": rem.extra | {"ach_trace": trace},
                }
            )
        )
    return out


def _transaction(
    entry: _Entry,
    batch: _Batch,
    file_name: str,
    sha: str,
    originator: bool,
    statement_id: str,
) -> BankTransaction:
    rec, head = entry.rec, batch.header
    sec = head.f(51, 53)
    code = rec.f(2, 3)
    if not _digits(code):
        raise ParseError(
            f"transaction code {code!r}",
            file=file_name,
            line=rec.line,
            expected="a two-digit transaction code",
        )
    sign = _tx_sign(code) * (-1 if originator else 1)
    cents = _cents(rec, 30, 39, file_name)
    fields = _entry_fields(sec, rec)
    routing = rec.f(4, 12)
    extra: dict[str, Any] = {"sec_code": sec, "transaction_code": code}
    status = EntryStatus.BOOKED
    if code[-1] in _PRENOTE_LAST_DIGITS:
        extra["prenote"] = True
        status = EntryStatus.INFO
    info: list[str] = []
    reversal = False
    for add in entry.addenda:
        kind = add.f(2, 3)
        if kind == "05":
            info.append(add.text[3:83])
        elif kind == "99":
            extra |= {"return_code": add.f(4, 6), "original_trace": add.f(7, 21)}
            reversal = True
        elif kind == "98":
            extra |= {
                "noc_code": add.f(4, 6),
                "original_trace": add.f(7, 21),
                "corrected_data": add.f(36, 64),
            }
            status = EntryStatus.INFO
    trace = rec.f(80, 94)
    effective = _yymmdd(head.f(70, 75))
    text = "".join(info).rstrip() or None
    refs = tuple(r for r in (trace, fields["individual_id"]) if r)
    entry_account = f"{routing}/{fields['account']}" if fields["account"] else None
    if originator:  # we sent it: the entry's receiver is the counterparty
        account_id, party, party_account = head.f(41, 50), fields["name"], entry_account
    else:  # we received it: the entry account is ours, the batch company paid or pulled
        account_id, party, party_account = entry_account or head.f(41, 50), head.f(5, 20), None
        if fields["name"]:
            extra["receiver_name"] = fields["name"]
    tx = BankTransaction(
        source_system=SOURCE_SYSTEM,
        source_id=trace or f"{statement_id}/{rec.line}",
        provenance=Provenance(
            file=file_name, file_sha256=sha, line=rec.line, offset=rec.offset, raw=rec.text.rstrip()
        ),
        account_id=account_id,
        booking_date=effective,
        value_date=_settlement(head.f(76, 78), effective),
        amount=Money.from_minor(sign * cents, "USD"),
        status=status,
        reversal=reversal,
        type_code=code,
        bank_reference=trace or None,
        customer_reference=fields["individual_id"] or None,
        counterparty_name=party or None,
        counterparty_account=party_account,
        remittance_text=text,
        references=refs,
        statement_id=statement_id,
        extra=extra,
    )
    return tx


def build_batch(
    batch: _Batch,
    header: Rec,
    file_name: str,
    sha: str,
    originator: bool,
    checker: _Checker,
) -> tuple[BankStatement, list[Remittance], tuple[int, int, int, int]]:
    head = batch.header
    statement_id = f"{header.f(24, 29)}{header.f(34, 34)}/{head.f(88, 94)}"
    txs: list[BankTransaction] = []
    rems: list[Remittance] = []
    entry_hash = debit = credit = 0
    for entry in batch.entries:
        tx = _transaction(entry, batch, file_name, sha, originator, statement_id)
        txs.append(tx)
        routing8 = entry.rec.f(4, 11)
        entry_hash += int(routing8) if _digits(routing8) else 0
        cents = _cents(entry.rec, 30, 39, file_name)
        if _tx_sign(entry.rec.f(2, 3)) > 0:
            credit += cents
        else:
            debit += cents
        if tx.remittance_text and _X12_START.match(tx.remittance_text):
            rems += _remittances(entry, tx, tx.remittance_text, file_name, sha, checker)
    count = len(batch.entries) + sum(len(e.addenda) for e in batch.entries)
    ctl = batch.control
    if ctl is None:
        checker.warnings.append(
            FeedWarning(
                code="missing_trailer",
                line=head.line,
                message=f"batch {head.f(88, 94)} has no control",
            )
        )
    else:
        batch_no = head.f(88, 94)
        checker.check(ctl, f"batch {batch_no} entry/addenda count", ctl.f(5, 10), count)
        checker.check(ctl, f"batch {batch_no} entry hash", ctl.f(11, 20), entry_hash % 10**10)
        checker.check(ctl, f"batch {batch_no} total debits", ctl.f(21, 32), debit)
        checker.check(ctl, f"batch {batch_no} total credits", ctl.f(33, 44), credit)
    effective = _yymmdd(head.f(70, 75))
    statement = BankStatement(
        source_system=SOURCE_SYSTEM,
        source_id=statement_id,
        provenance=Provenance(
            file=file_name,
            file_sha256=sha,
            line=head.line,
            offset=head.offset,
            raw=head.text.rstrip(),
        ),
        account_id=head.f(41, 50),
        currency="USD",
        statement_id=statement_id,
        sequence=head.f(88, 94),
        period_start=effective,
        period_end=effective,
        transactions=tuple(txs),
        extra={
            "company_name": head.f(5, 20),
            "sec_code": head.f(51, 53),
            "entry_description": head.f(54, 63),
            "service_class": head.f(2, 4),
            "odfi": head.f(80, 87),
        },
    )
    return statement, rems, (entry_hash, debit, credit, count)


def parse(
    data: bytes,
    *,
    file_name: str,
    strict: bool = False,
    originator: bool = False,
    **options: Any,
) -> FeedResult:
    sha = hashlib.sha256(data).hexdigest()
    recs = _records(data, file_name)
    if not recs:
        raise ParseError(
            "no NACHA records", file=file_name, offset=0, expected="a file header record (1)"
        )
    header, batches, trailer = _group(recs, file_name)
    if header is None:
        raise ParseError(
            "no file header", file=file_name, line=recs[0].line, expected="a file header record (1)"
        )
    checker = _Checker(file_name, strict)
    statements: list[BankStatement] = []
    remittances: list[Remittance] = []
    hash_total = debit = credit = count = 0
    for batch in batches:
        st, rems, totals = build_batch(batch, header, file_name, sha, originator, checker)
        statements.append(st)
        remittances += rems
        hash_total += totals[0]
        debit += totals[1]
        credit += totals[2]
        count += totals[3]
    if trailer is not None:
        checker.check(trailer, "file batch count", trailer.f(2, 7), len(batches))
        checker.check(trailer, "file entry/addenda count", trailer.f(14, 21), count)
        checker.check(trailer, "file entry hash", trailer.f(22, 31), hash_total % 10**10)
        checker.check(trailer, "file total debits", trailer.f(32, 43), debit)
        checker.check(trailer, "file total credits", trailer.f(44, 55), credit)
    else:
        checker.warnings.append(
            FeedWarning(code="missing_trailer", message="no file control record (9)")
        )
    if not any(st.transactions for st in statements):
        checker.warnings.append(FeedWarning(code="no_entries", message="file has no entries"))
    log.info(
        "nacha.parsed",
        file=file_name,
        batches=len(batches),
        entries=sum(len(st.transactions) for st in statements),
        remittances=len(remittances),
        warnings=len(checker.warnings),
    )
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=sha,
        encoding="latin-1",
        statements=statements,
        remittances=remittances,
        warnings=checker.warnings,
        meta={
            "file_id_modifier": header.f(34, 34),
            "creation_date": str(_yymmdd(header.f(24, 29))),
            "origin_name": header.f(64, 86),
            "destination_name": header.f(41, 63),
        },
    )
