"""BAI lockbox files: fixed-width records read through a per-bank YAML layout profile.

Every bank customises the 1971 BAI lockbox layout, so offsets live in
``lockbox_profiles/*.yaml`` (1-based inclusive positions, as bank specifications print
them). Checks (record 6) become a BankTransaction each and a Remittance each (trace number
= check number, payer account = MICR routing/account); overflow records (4) carry the
invoice numbers and amounts that become remittance lines. Batch (7), lockbox (8) and file
(9) totals are verified: warnings, or ParseError with ``strict=True``. MICR numbers are
personal data: kept in records for matching, never logged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import structlog

from billbridge.errors import ParseError
from canonical import (
    BankStatement,
    BankTransaction,
    Money,
    Provenance,
    Remittance,
    RemittanceLine,
    minor_units,
    sum_money,
)
from connectors.feeds.lockbox_profiles import FieldSpec, Profile, RecordSpec, load_profile
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.nacha.records import physical_lines

FORMAT = "lockbox"
SOURCE_SYSTEM = "lockbox"
log = structlog.get_logger(__name__)
_PERSONAL = re.compile(r"account|routing|micr", re.IGNORECASE)


@dataclass(frozen=True)
class Rec:
    text: str
    line: int
    offset: int


@dataclass
class _Check:
    rec: Rec
    values: dict[str, Any]
    lockbox: dict[str, Any]
    invoices: list[tuple[Rec, str, Money | None]] = field(default_factory=list)


class _Reader:
    def __init__(self, profile: Profile, file_name: str, sha: str, strict: bool) -> None:
        self.profile, self.file_name, self.sha, self.strict = profile, file_name, sha, strict
        self.currency = profile.currency
        self.warnings: list[FeedWarning] = []

    def value(self, rec: Rec, name: str, spec: FieldSpec) -> Any:
        start, end = spec.span()
        text = rec.text[start:end].strip()
        if spec.type == "text":
            return text
        if not text or (spec.type == "date" and set(text) == {"0"}):
            return None
        # bank account data must not reach error messages (they end up in logs and reports)
        shown = "(redacted)" if _PERSONAL.search(name) else repr(text)
        if spec.type in ("int", "amount"):
            if not re.fullmatch(r"-?[0-9]{1,18}", text):
                raise self.error(rec, f"{name} {shown} at {spec.pos}", "digits")
            if spec.type == "int":
                return int(text)
            exp = spec.decimals if spec.decimals is not None else minor_units(self.currency)
            return Money(Decimal(int(text)).scaleb(-exp), self.currency)
        try:
            return datetime.strptime(text, spec.format or "%y%m%d").date()  # noqa: DTZ007
        except ValueError:
            raise self.error(
                rec, f"{name} {shown} at {spec.pos}", f"a date as {spec.format or '%y%m%d'}"
            ) from None

    def values(self, rec: Rec, fields: dict[str, FieldSpec]) -> dict[str, Any]:
        return {name: self.value(rec, name, spec) for name, spec in fields.items()}

    def error(self, rec: Rec, message: str, expected: str) -> ParseError:
        return ParseError(message, file=self.file_name, line=rec.line, expected=expected)

    def check_total(self, rec: Rec, what: str, declared: Any, actual: Any) -> None:
        if declared is None or declared == actual:
            return
        message = f"{what}: record says {declared}, computed {actual}"
        if self.strict:
            raise self.error(rec, message, f"{what} matching the checks")
        self.warnings.append(
            FeedWarning(code="control_total_mismatch", message=message, line=rec.line)
        )

    def warn(self, rec: Rec | None, code: str, message: str) -> None:
        self.warnings.append(
            FeedWarning(code=code, message=message, line=rec.line if rec else None)
        )

    def provenance(self, rec: Rec) -> Provenance:
        return Provenance(
            file=self.file_name,
            file_sha256=self.sha,
            line=rec.line,
            offset=rec.offset,
            raw=rec.text,
        )


def _records(data: bytes) -> tuple[list[Rec], str]:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text, encoding = body.decode("ascii"), "ascii"
    except UnicodeDecodeError:
        text, encoding = body.decode("latin-1"), "latin-1"
    skip = len(data) - len(body)
    recs: list[Rec] = []
    for line, at, content in physical_lines(text):
        if content.strip():
            recs.append(Rec(content.rstrip(), line, skip + at))
    return recs, encoding


def _check_records(reader: _Reader, chk: _Check) -> tuple[BankTransaction, Remittance]:
    v, box = chk.values, chk.lockbox
    amount: Money | None = v.get("amount")
    if amount is None:
        raise reader.error(chk.rec, "check without amount", "a check amount")
    check_no = str(v.get("check_number") or "").lstrip("0") or None
    routing, account = v.get("routing_number") or "", v.get("account_number") or ""
    micr = f"{routing}/{account}" if routing or account else None
    deposit: date | None = box.get("deposit_date")
    key = (
        "/".join(
            str(x)
            for x in (
                box.get("lockbox_number"),
                deposit,
                v.get("batch_number"),
                v.get("item_number"),
            )
            if x
        )
        or f"line{chk.rec.line}"
    )
    lines = _lines(reader, chk, amount)
    refs = tuple(r for r in (check_no, *(ln.document_number or "" for ln in lines)) if r)
    extra = {
        k: str(val)
        for k, val in (
            ("check_date", v.get("check_date")),
            ("processing_date", box.get("processing_date")),
        )
        if val
    }
    tx = BankTransaction(
        source_system=SOURCE_SYSTEM,
        source_id=key,
        provenance=reader.provenance(chk.rec),
        account_id=str(box.get("lockbox_number") or ""),
        booking_date=deposit,
        value_date=deposit,
        amount=amount,
        type_code="lockbox_check",
        bank_reference=key,
        customer_reference=check_no,
        counterparty_name=v.get("remitter_name") or None,
        counterparty_account=micr,
        references=refs,
        statement_id=box.get("statement_id"),
        extra=extra,
    )
    rem = Remittance(
        source_system=SOURCE_SYSTEM,
        source_id=key,
        provenance=reader.provenance(chk.rec),
        trace_number=check_no,
        payer_name=v.get("remitter_name") or None,
        payer_account=micr,
        payee_name=v.get("payee_name") or None,
        payment_date=deposit,
        total=amount,
        method="CHK",
        lines=lines,
        extra=extra,
    )
    return tx, rem


def _lines(reader: _Reader, chk: _Check, amount: Money) -> tuple[RemittanceLine, ...]:
    invs = chk.invoices
    out = []
    for rec, number, given in invs:
        paid = given
        if paid is None:
            if len(invs) == 1:
                paid = amount  # one reference, no amount: the whole check applies
            else:
                reader.warn(rec, "invoice_amount_missing", f"invoice {number} has no amount")
                paid = Money.zero(amount.currency)
        out.append(
            RemittanceLine(
                document_type="IV",
                document_number=number,
                paid=paid,
                provenance=reader.provenance(rec),
            )
        )
    if out and all(p is not None for _, _, p in invs):
        applied = sum_money([ln.paid for ln in out], amount.currency)
        if applied != amount:
            reader.warn(
                chk.rec,
                "remittance_not_tied",
                f"check {chk.values.get('check_number')}: {amount} but invoices sum to {applied}",
            )
    return tuple(out)


def _overflow(reader: _Reader, rec: Rec, spec: RecordSpec, checks: list[_Check]) -> None:
    v = reader.values(rec, spec.fields)
    target = next(
        (
            c
            for c in reversed(checks)
            if (c.values.get("batch_number"), c.values.get("item_number"))
            == (v.get("batch_number"), v.get("item_number"))
        ),
        checks[-1] if checks else None,
    )
    if target is None:
        raise reader.error(rec, "overflow record before any check", "a check record (6) first")
    for slot in spec.invoices.get(str(v.get("overflow_type", "")), []):
        number = reader.value(rec, "invoice number", slot["number"]) if "number" in slot else ""
        paid = reader.value(rec, "invoice amount", slot["amount"]) if "amount" in slot else None
        if number:
            target.invoices.append((rec, number, paid))


def build(reader: _Reader, recs: list[Rec]) -> tuple[list[BankStatement], list[Remittance]]:
    specs = reader.profile.records
    header: dict[str, Any] = {}
    box: dict[str, Any] = {}
    boxes: list[tuple[dict[str, Any], list[_Check]]] = []
    checks: list[_Check] = []
    batch: list[_Check] = []
    closed = False  # the open box has had its 8 (lockbox total) record
    for rec in recs:
        spec = specs.get(rec.text[0])
        if spec is None:
            reader.warn(rec, "unknown_record_type", f"record type {rec.text[0]!r} skipped")
            continue
        if spec.kind == "file_header":
            header = reader.values(rec, spec.fields)
        elif spec.kind == "lockbox_header" or (spec.kind == "check" and not boxes):
            values = reader.values(rec, spec.fields) if spec.kind == "lockbox_header" else {}
            dep = values.get("deposit_date")
            statement_id = f"{values.get('lockbox_number') or ''}/{dep or ''}"
            if boxes and not closed and statement_id == box["statement_id"]:
                batch = []  # a 5 record heads each batch: the next batch of the same box
            else:
                box = {**values, "processing_date": header.get("processing_date"), "rec": rec}
                box["statement_id"] = statement_id
                checks, batch, closed = [], [], False
                boxes.append((box, checks))
        if spec.kind == "check":
            chk = _Check(rec, reader.values(rec, spec.fields), box)
            checks.append(chk)
            batch.append(chk)
        elif spec.kind == "overflow":
            _overflow(reader, rec, spec, checks)
        elif spec.kind in ("batch_total", "lockbox_total"):
            v = reader.values(rec, spec.fields)
            group = batch if spec.kind == "batch_total" else checks
            what = "batch" if spec.kind == "batch_total" else "lockbox"
            reader.check_total(rec, f"{what} item count", v.get("item_count"), len(group))
            total = sum_money(
                [c.values["amount"] for c in group if c.values.get("amount")], reader.currency
            )
            reader.check_total(rec, f"{what} amount", v.get("amount"), total)
            batch = []
            closed = closed or spec.kind == "lockbox_total"
        elif spec.kind == "file_trailer":
            count = reader.values(rec, spec.fields).get("record_count")
            reader.check_total(rec, "file record count", count, len(recs))
    statements: list[BankStatement] = []
    remittances: list[Remittance] = []
    for box, box_checks in boxes:
        built = [_check_records(reader, c) for c in box_checks]
        remittances += [rem for _, rem in built]
        anchor: Rec = box["rec"]
        statements.append(
            BankStatement(
                source_system=SOURCE_SYSTEM,
                source_id=box["statement_id"],
                provenance=reader.provenance(anchor),
                account_id=str(box.get("lockbox_number") or ""),
                currency=reader.currency,
                statement_id=box["statement_id"],
                period_start=box.get("deposit_date"),
                period_end=box.get("deposit_date"),
                transactions=tuple(tx for tx, _ in built),
                extra={"destination": header.get("destination"), "origin": header.get("origin")},
            )
        )
    if not remittances:
        reader.warn(None, "no_entries", "lockbox file has no checks")
    return statements, remittances


def sniff(head: bytes) -> bool:
    """Record types 1/2/5/6 in fixed width, and not a 94-character NACHA file."""
    from connectors.feeds import nacha

    if nacha.sniff(head):
        return False
    # the last line of a head may be cut off mid-record: judge the complete ones
    lines = [ln for ln in head.splitlines()[:-1] or head.splitlines() if ln.strip()]
    if not lines or not lines[0].lstrip(b"\xef\xbb\xbf").startswith(b"1"):
        return False
    if any(sep in lines[0] for sep in (b",", b";", b"\t")):
        return False  # delimited text (CSV), not fixed width
    kinds = {ln.lstrip(b"\xef\xbb\xbf")[:1] for ln in lines}
    allowed = {bytes([c]) for c in b"12456789"}
    return kinds <= allowed and (b"6" in kinds or b"5" in kinds)


def parse(
    data: bytes,
    *,
    file_name: str,
    profile: str | Profile = "bai_default",
    strict: bool = False,
    **options: Any,
) -> FeedResult:
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    sha = hashlib.sha256(data).hexdigest()
    recs, encoding = _records(data)
    if not recs:
        raise ParseError(
            "empty lockbox file", file=file_name, offset=0, expected="a header record (1)"
        )
    reader = _Reader(prof, file_name, sha, strict)
    statements, remittances = build(reader, recs)
    log.info(
        "lockbox.parsed",
        file=file_name,
        profile=prof.name,
        lockboxes=len(statements),
        checks=len(remittances),
        warnings=len(reader.warnings),
    )
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=sha,
        encoding=encoding,
        statements=statements,
        remittances=remittances,
        warnings=reader.warnings,
        meta={"profile": prof.name},
    )


__all__ = ["FORMAT", "Profile", "load_profile", "parse", "sniff"]
