"""NACHA entries into bank transactions, and CTX/CCD+ addenda into remittances."""

from __future__ import annotations

import re
from typing import Any

from billbridge.errors import ParseError
from canonical import BankStatement, BankTransaction, EntryStatus, Money, Provenance, Remittance
from connectors.feeds.model import FeedWarning
from connectors.feeds.nacha.records import (
    Batch,
    Checker,
    Entry,
    Rec,
    digits,
    read_cents,
    settlement,
    yymmdd,
)

SOURCE_SYSTEM = "nacha"
_PRENOTE_LAST_DIGITS = {"3", "8"}
#: Addenda text that is X12: an interchange, an ST..SE set or bare RMR/REF segments.
_X12_START = re.compile(r"(ISA|ST|RMR|REF|BPR)[*|^~:]")
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
    entry: Entry,
    tx: BankTransaction,
    text: str,
    file_name: str,
    sha: str,
    checker: Checker,
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
    entry: Entry,
    batch: Batch,
    file_name: str,
    sha: str,
    originator: bool,
    statement_id: str,
) -> BankTransaction:
    rec, head = entry.rec, batch.header
    sec = head.f(51, 53)
    code = rec.f(2, 3)
    if not digits(code):
        raise ParseError(
            f"transaction code {code!r}",
            file=file_name,
            line=rec.line,
            expected="a two-digit transaction code",
        )
    sign = _tx_sign(code) * (-1 if originator else 1)
    cents = read_cents(rec, 30, 39, file_name)
    fields = _entry_fields(sec, rec)
    routing = rec.f(4, 12)
    extra: dict[str, Any] = {"sec_code": sec, "transaction_code": code}
    status = EntryStatus.BOOKED
    if code[-1] in _PRENOTE_LAST_DIGITS:
        extra["prenote"] = True
        status = EntryStatus.INFO
    info: list[str] = []
    reversal = False
    company = head.f(5, 20)
    for add in entry.addenda:
        kind = add.f(2, 3)
        if kind in ("05", "17"):  # payment related information (17: IAT)
            info.append(add.text[3:83])
        elif kind == "10" and sec == "IAT":  # IAT receiver name
            fields["name"] = add.f(47, 81)
        elif kind == "11" and sec == "IAT":  # IAT originator name
            company = add.f(4, 38)
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
    effective = yymmdd(head.f(70, 75))
    text = "".join(info).rstrip() or None
    refs = tuple(r for r in (trace, fields["individual_id"]) if r)
    entry_account = f"{routing}/{fields['account']}" if fields["account"] else None
    if originator:  # we sent it: the entry's receiver is the counterparty
        account_id, party, party_account = head.f(41, 50), fields["name"], entry_account
    else:  # we received it: the entry account is ours, the batch company paid or pulled
        account_id, party, party_account = entry_account or head.f(41, 50), company, None
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
        value_date=settlement(head.f(76, 78), effective),
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
    batch: Batch,
    header: Rec,
    file_name: str,
    sha: str,
    originator: bool,
    checker: Checker,
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
        entry_hash += int(routing8) if digits(routing8) else 0
        cents = read_cents(entry.rec, 30, 39, file_name)
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
    effective = yymmdd(head.f(70, 75))
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
