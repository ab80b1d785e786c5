"""SWIFT MT940 / MT942 statements, built on the ``mt-940`` library.

Our pre-processors handle what the library does not: SWIFT envelopes and bank preambles,
``-XXX`` terminators, ``:28C:`` and other tags wrapped over lines, several statements in
one file (the library keeps one set of balances), control characters, impossible entry
dates and the MT942 ``EC``/``ED`` marks. Each statement block is handed to the library
separately; ``:86:`` is parsed by :mod:`connectors.feeds.mt940_details`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import mt940
import mt940.models
import mt940.tags

from billbridge.errors import ParseError
from canonical import BankStatement, BankTransaction, Money, Provenance, StatementBalance
from canonical.enums import EntryStatus
from connectors.feeds.common import KeyCounter, currency_or_error, entry_key, parse_guard
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.mt940_details import parse_details
from connectors.feeds.mt940_pre import Block, Tag, clean_lines, split_blocks
from connectors.feeds.normalize import iter_lines, normalize

FORMAT = "mt940"
_SNIFF_TAG = re.compile(rb"(?m)^:(?:20|25|28C|60F|61):")
BALANCES = {
    "final_opening_balance": "opening_booked",
    "intermediate_opening_balance": "opening_booked",
    "opening_balance": "opening_booked",
    "final_closing_balance": "closing_booked",
    "intermediate_closing_balance": "closing_booked",
    "closing_balance": "closing_booked",
    "available_balance": "closing_available",
    "forward_available_balance": "forward_available",
}


def sniff(head: bytes) -> bool:
    if b"{1:" in head[:200] and (b"{4:" in head or b":20:" in head):
        return True
    found = {m.group() for m in _SNIFF_TAG.finditer(head.replace(b"\r", b""))}
    return b":20:" in found and len(found) >= 2


class StatementRE(mt940.tags.Statement):
    """``:61:`` accepting the MT942 marks ``EC``/``ED`` as well as ``RC``/``RD``.

    The library derives processor names from the class name: this one must stay
    ``Statement`` + capitals so its slug remains ``statement``.
    """

    # Some Dutch banks put an 18-character IBAN into the 16x reference: allow 34 (the
    # ``//`` bank reference still splits it off), as the library's ASNB variant does.
    pattern: ClassVar[str] = mt940.tags.Statement.pattern.replace(
        "(?P<status>R?[DC])", "(?P<status>[RE]?[DC])"
    ).replace("((?!//)[^\\n]){0,16}", "((?!//)[^\\n]){0,34}")


def _clamp_dates(_t: Any, _tag: Any, tag_dict: dict[str, Any], *_args: Any) -> dict[str, Any]:
    """Banks send 30 February and 31 April: clamp to the month's last day."""
    year = 2000 + int(tag_dict.get("year") or 0)
    for day_key, month_key in (("day", "month"), ("entry_day", "entry_month")):
        day, month = str(tag_dict.get(day_key) or ""), str(tag_dict.get(month_key) or "")
        if day.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
            last = calendar.monthrange(year, int(month))[1]
            if int(day) > last:
                tag_dict[day_key] = f"{last:02d}"
    return tag_dict


@dataclass
class _Context:
    file: str
    sha: str
    strict: bool
    intraday: bool
    warnings: list[FeedWarning] = field(default_factory=list)
    #: one counter for the whole file: a statement sent as several pages (:28C: 42/1, 42/2)
    #: may carry two identical entries on two pages, and both are real
    keys: KeyCounter = field(default_factory=KeyCounter)


def _library_parse(ctx: _Context, block: Block) -> mt940.models.Transactions:
    text = "\n".join(f":{t.tag}:{t.content()}" for t in _entry_tags(block))
    parser = mt940.models.Transactions(
        processors={
            "pre_statement": [_clamp_dates, mt940.processors.date_fixup_pre_processor],
            # our own :86: parser runs on the raw text; the library's would replace it
            "post_transaction_details": [],
        },
        tags={StatementRE.id: StatementRE()},
        options=mt940.Options(merge_keeps_values=True),
    )
    with parse_guard(ctx.file, f"MT940 statement at line {block.tags[0].first.number}"):
        parser.parse(text)
    return parser


def _entry_tags(block: Block) -> list[Tag]:
    """Tags for the library: a :86: after the closing balance is statement information
    (kept by :func:`_statement_info`); the library would glue it to the last entry."""
    out: list[Tag] = []
    closed = False
    for tag in block.tags:
        if tag.tag.startswith(("62", "64", "65")):
            closed = True
        elif tag.tag == "86" and closed:
            continue
        out.append(tag)
    return out


def _statement(ctx: _Context, block: Block) -> BankStatement:
    first = block.tags[0].first
    if block.tags[0].tag != "20":
        raise ParseError(
            f"statement starts with :{block.tags[0].tag}:",
            file=ctx.file,
            line=first.number,
            expected=":20: transaction reference",
        )
    parsed = _library_parse(ctx, block)
    data = parsed.data
    lines_61 = [t for t in block.tags if t.tag == "61"]
    if len(lines_61) != len(parsed.transactions):
        raise ParseError(
            f"{len(lines_61)} :61: lines but {len(parsed.transactions)} parsed",
            file=ctx.file,
            line=first.number,
            expected="one transaction per :61:",
        )
    account = (data.get("account_identification") or "").strip()
    if not account:
        raise ParseError("statement without :25: account", file=ctx.file, line=first.number)
    ccy = parsed.currency
    if not ccy:
        raise ParseError(
            "no currency in any balance or floor limit",
            file=ctx.file,
            line=first.number,
            expected=":60F:/:62F: balance or :34F: floor limit",
        )
    currency = currency_or_error(ccy, file=ctx.file, line=first.number, field="currency")
    number = data.get("statement_number")
    seq = data.get("sequence_number")
    statement_id = (
        f"{number}/{seq}" if number and seq else number or data.get("transaction_reference")
    )
    balances: list[StatementBalance] = []
    for key, kind in BALANCES.items():
        bal = data.get(key)
        if bal is not None and kind not in {b.kind for b in balances}:
            value = Money(Decimal(bal.amount.amount), currency_or_error(
                bal.amount.currency, file=ctx.file, line=first.number, field=key))  # fmt: skip
            balances.append(StatementBalance(kind=kind, amount=value, as_of=_as_date(bal.date)))
    txs = [
        _transaction(ctx, tag, tx.data, account, currency, statement_id, ctx.keys)
        for tag, tx in zip(lines_61, parsed.transactions, strict=True)
    ]
    extra: dict[str, Any] = {"transaction_reference": data.get("transaction_reference")}
    info = _statement_info(block)
    if info:
        extra["info"] = info
    stmt = BankStatement(
        source_system="mt940",
        source_id=f"{account}:{statement_id}",
        account_id=account,
        currency=currency,
        statement_id=statement_id,
        sequence=seq,
        period_start=next((b.as_of for b in balances if b.kind == "opening_booked"), None)
        or min((t.value_date for t in txs if t.value_date), default=None),
        period_end=next((b.as_of for b in balances if b.kind == "closing_booked"), None)
        or max((t.value_date for t in txs if t.value_date), default=None),
        balances=tuple(balances),
        transactions=tuple(txs),
        intraday=ctx.intraday or any(t.tag in ("34F", "13D") for t in block.tags),
        provenance=Provenance(
            file=ctx.file, file_sha256=ctx.sha, line=first.number, offset=first.offset
        ),
        extra=extra,
    )
    _check_continuity(ctx, stmt, first.number)
    _check_closed(ctx, block, stmt)
    return stmt


def _check_closed(ctx: _Context, block: Block, stmt: BankStatement) -> None:
    """An MT940 statement (not an MT942 intraday report, which has none) ends with its
    closing balance :62F: (:62M: on an intermediate page): without one the file was cut
    off, and its entries may be incomplete. Strict (the default) stops, as a BAI2 file
    without its 99 trailer does; lenient warns."""
    if stmt.intraday or any(t.tag.startswith("62") for t in block.tags):
        return
    message = f"statement {stmt.statement_id} ends without a closing balance :62F: (truncated?)"
    line = block.tags[0].first.number
    if ctx.strict:
        raise ParseError(message, file=ctx.file, line=line, expected=":62F:/:62M: closing balance")
    ctx.warnings.append(FeedWarning(code="truncated", message=message, line=line))


def _as_date(value: Any) -> date | None:
    """The library's Date subclass as a plain date (keeps canonical dumps clean)."""
    return None if value is None else date(value.year, value.month, value.day)


def _statement_info(block: Block) -> str | None:
    """:86: before the first :61: or after the closing balance describes the statement."""
    texts: list[str] = []
    seen_entry = seen_closing = False
    for tag in block.tags:
        if tag.tag == "61":
            seen_entry = True
        elif tag.tag.startswith(("62", "64", "65")):
            seen_closing = True
        elif tag.tag == "86" and (seen_closing or not seen_entry):
            texts.append(" ".join(tag.content().split()))
    return " | ".join(texts) or None


def _transaction(
    ctx: _Context, tag: Tag, data: dict[str, Any], account: str, currency: str,
    statement_id: str | None, keys: KeyCounter,
) -> BankTransaction:  # fmt: skip
    status = str(data.get("status") or "")
    mark = status[-1:]
    sign = 1 if mark == "C" else -1
    reversal = status.startswith("R")
    if reversal:
        sign = -sign  # RC, a reversed credit, takes money out
    amount = Money(abs(Decimal(data["amount"].amount)) * sign, currency)
    value_date = _as_date(data.get("date"))
    booking = _as_date(data.get("entry_date")) or value_date
    details_text = data.get("transaction_details")
    details = parse_details(details_text)
    cust = data.get("customer_reference")
    cust = None if not cust or cust.strip().upper() == "NONREF" else cust.strip()
    bank_ref = (data.get("bank_reference") or "").strip() or None
    key = entry_key(bank_ref, value_date, amount.amount) if bank_ref else entry_key(
        value_date, amount.amount, cust, details_text)  # fmt: skip
    extra: dict[str, Any] = {"mark": status, "details_style": details.style}
    if data.get("extra_details"):
        extra["supplementary"] = data["extra_details"]
    for name in ("code", "booking_text", "return_reason", "creditor_id", "mandate_id"):
        if getattr(details, name):
            extra[name] = getattr(details, name)
    refs = [*details.references, *([cust] if cust else [])]
    return BankTransaction(
        source_system="mt940",
        source_id=keys.unique(f"{account}:{key}"),
        account_id=account,
        booking_date=booking,
        value_date=value_date,
        amount=amount,
        status=EntryStatus.PENDING if ctx.intraday else EntryStatus.BOOKED,
        reversal=reversal,
        type_code=data.get("id"),
        bank_reference=bank_ref,
        customer_reference=cust or details.customer_reference,
        end_to_end_id=details.end_to_end_id,
        counterparty_name=details.counterparty_name,
        counterparty_account=details.counterparty_account,
        counterparty_bic=details.counterparty_bic,
        remittance_text=details.purpose
        or (" ".join(details_text.split()) if details_text else None),
        references=tuple(dict.fromkeys(refs)),
        statement_id=statement_id,
        provenance=Provenance(
            file=ctx.file,
            file_sha256=ctx.sha,
            line=tag.first.number,
            offset=tag.first.offset,
            raw=tag.raw() + _details_raw(tag, details_text),
        ),
        extra=extra,
    )


def _details_raw(tag: Tag, details: str | None) -> str:
    return f"\n:86:{details}" if details else ""


def _check_continuity(ctx: _Context, stmt: BankStatement, line: int) -> None:
    opening, closing = stmt.balance("opening_booked"), stmt.balance("closing_booked")
    if opening is None or closing is None:
        return
    moved = sum((t.amount.amount for t in stmt.transactions), Decimal(0))
    if opening.amount + moved != closing.amount:
        ctx.warnings.append(
            FeedWarning(
                code="balance_mismatch",
                message=f"statement {stmt.statement_id}: opening {opening.amount} + entries "
                f"{moved} != closing {closing.amount}",
                line=line,
            )
        )


def _check_chain(ctx: _Context, statements: list[BankStatement]) -> None:
    """Within a file, each statement should open where the previous one closed."""
    last: dict[str, BankStatement] = {}
    for stmt in statements:
        prev = last.get(stmt.account_id)
        opening = stmt.balance("opening_booked")
        closing = prev.balance("closing_booked") if prev else None
        if opening is not None and closing is not None and opening != closing:
            ctx.warnings.append(
                FeedWarning(
                    code="balance_discontinuity",
                    message=f"statement {stmt.statement_id} opens at {opening.amount}, the "
                    f"previous one closed at {closing.amount}",
                    line=stmt.provenance.line if stmt.provenance else None,
                )
            )
        last[stmt.account_id] = stmt


def parse(data: bytes, *, file_name: str, strict: bool = True, **_options: Any) -> FeedResult:
    norm = normalize(data)
    lines, is_942 = clean_lines(list(iter_lines(data, norm.encoding)))
    ctx = _Context(file=file_name, sha=norm.sha256, strict=strict, intraday=is_942)
    blocks, preamble = split_blocks(lines)
    if not blocks:
        raise ParseError("no :20: statement found", file=file_name, expected="MT940 tags")
    with parse_guard(file_name, "MT940"):
        statements = [_statement(ctx, block) for block in blocks]
    _check_chain(ctx, statements)
    if not any(s.transactions for s in statements):
        ctx.warnings.append(FeedWarning(code="no_entries", message="no :61: entries in file"))
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=norm.sha256,
        encoding=norm.encoding,
        statements=statements,
        warnings=ctx.warnings,
        meta={"statements": len(statements), "preamble_lines": preamble, "mt942": is_942},
    )
