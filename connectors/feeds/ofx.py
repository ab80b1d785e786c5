"""OFX 1.x (SGML) and 2.x (XML) / QFX statements via ``ofxparse``.

``ofxparse`` is tolerant but raises bare library errors (``IndexError`` on OFX 1.0.2 empty
tags, ``ValueError`` on odd dates): empty optional tags are removed first and every
library exception becomes a ParseError. ``TRNAMT`` is signed; ``FITID`` is the bank
reference and, scoped by account, the dedupe key.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ofxparse import OfxParser

from billbridge.errors import ParseError
from canonical import BankStatement, BankTransaction, Money, Provenance, StatementBalance
from connectors.feeds.common import KeyCounter, currency_or_error, parse_guard
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.normalize import normalize

FORMAT = "ofx"
_EMPTY_TAG = re.compile(
    rb"<(MEMO|NAME|CHECKNUM|REFNUM|PAYEEID|SIC|MKTGINFO|BRANCHID|BANKID|DTUSER|DTAVAIL)>"
    rb"[ \t]*(?:</\1>)?[ \t]*(?=\r?\n|\r|<)"
)
_STMTTRN = re.compile(r"<STMTTRN>(.*?)(?:</STMTTRN>|(?=<STMTTRN>)|(?=</BANKTRANLIST>))", re.S)
_FITID = re.compile(r"<FITID>\s*([^<\r\n]+)")
_REFNUM = re.compile(r"<REFNUM>\s*([^<\r\n]+)")
ACCOUNT_TYPES = {1: "bank", 2: "creditcard", 3: "investment"}
_TZ_SUFFIX = re.compile(r"\[[^\]]*\]\s*$")


class _LocalDateParser(OfxParser):
    """ofxparse subtracts the ``[-8:PST]`` offset to give naive UTC, which moves a posting
    at 23:00 PST to the next day; the posting day is the local date the bank wrote."""

    @classmethod
    def parseOfxDateTime(cls, ofxDateTime: str) -> datetime | None:
        return super().parseOfxDateTime(_TZ_SUFFIX.sub("", ofxDateTime.strip()))


def sniff(head: bytes) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    upper = head[:4096].upper()
    return upper.startswith(b"OFXHEADER") or b"<OFX>" in upper or b"<?OFX" in upper


def _strip_empty_tags(data: bytes) -> bytes:
    return _EMPTY_TAG.sub(b"", data)


def _positions(text: str) -> dict[str, tuple[int, str, str | None]]:
    """FITID -> (line number, raw STMTTRN block, REFNUM): provenance for each entry."""
    found: dict[str, tuple[int, str, str | None]] = {}
    for m in _STMTTRN.finditer(text):
        fit = _FITID.search(m.group(1))
        if fit:
            ref = _REFNUM.search(m.group(1))
            line = text.count("\n", 0, m.start()) + 1
            found.setdefault(
                fit.group(1).strip(),
                (line, m.group(0).strip(), ref.group(1).strip() if ref else None),
            )
    return found


def _account_type(account: Any) -> str:
    kind = getattr(account, "type", None)
    return ACCOUNT_TYPES.get(kind, str(kind or "")) if isinstance(kind, int) else str(kind or "")


def _day(value: Any) -> date | None:
    return value.date() if isinstance(value, datetime) else None


def parse(data: bytes, *, file_name: str, **_options: Any) -> FeedResult:
    norm = normalize(data)
    if not sniff(data):
        raise ParseError("not an OFX file", file=file_name, expected="OFXHEADER or <OFX>")
    with parse_guard(file_name, "OFX"), warnings.catch_warnings():
        # OFX 2 is XML read by ofxparse's HTML parser; bs4 says so on every file
        warnings.simplefilter("ignore")
        ofx = _LocalDateParser.parse(io.BytesIO(_strip_empty_tags(data)), fail_fast=True)
    signon = getattr(ofx, "signon", None)
    if signon is not None and getattr(signon, "code", 0) not in (0, None, "0"):
        raise ParseError(
            f"OFX error response: code {signon.code} {getattr(signon, 'message', '')}".strip(),
            file=file_name,
            expected="a successful statement response",
        )
    positions = _positions(norm.text)
    notes: list[FeedWarning] = []
    statements: list[BankStatement] = []
    with parse_guard(file_name, "OFX"):
        for account in getattr(ofx, "accounts", []) or []:
            statements.append(_statement(account, positions, file_name, norm.sha256))
    if not statements:
        raise ParseError(
            "no statement in the OFX response", file=file_name, expected="STMTRS or CCSTMTRS"
        )
    if not any(s.transactions for s in statements):
        notes.append(FeedWarning(code="no_entries", message="no STMTTRN entries in file"))
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=norm.sha256,
        encoding=norm.encoding,
        statements=statements,
        warnings=notes,
        meta={"accounts": len(statements)},
    )


def _statement(
    account: Any, positions: dict[str, tuple[int, str, str | None]], file: str, sha: str
) -> BankStatement:
    stmt = account.statement
    account_id = (account.account_id or "").strip()
    if not account_id:
        raise ParseError("statement without ACCTID", file=file, expected="BANKACCTFROM/ACCTID")
    ccy = getattr(stmt, "currency", None) or getattr(account, "curdef", None) or ""
    currency = currency_or_error(str(ccy), file=file, line=None, field="CURDEF")
    balances: list[StatementBalance] = []
    for kind, amount_attr, date_attr in (
        ("closing_booked", "balance", "balance_date"),
        ("closing_available", "available_balance", "available_balance_date"),
    ):
        value = getattr(stmt, amount_attr, None)
        if isinstance(value, Decimal):
            balances.append(
                StatementBalance(
                    kind=kind,
                    amount=Money(value, currency),
                    as_of=_day(getattr(stmt, date_attr, None)),
                )
            )
    start, end = _day(getattr(stmt, "start_date", None)), _day(getattr(stmt, "end_date", None))
    keys = KeyCounter()
    transactions = []
    for tx in stmt.transactions:
        fitid = (tx.id or "").strip()
        if not fitid:
            raise ParseError("STMTTRN without FITID", file=file, expected="FITID")
        line, raw, refnum = positions.get(fitid, (None, "", None))
        checknum = (getattr(tx, "checknum", "") or "").strip() or None
        refs = tuple(r for r in (checknum, refnum) if r)
        transactions.append(
            BankTransaction(
                source_system="ofx",
                source_id=keys.unique(f"{account_id}:{fitid}"),
                account_id=account_id,
                booking_date=_day(tx.date),
                value_date=_day(getattr(tx, "user_date", None)),
                amount=Money(Decimal(tx.amount), currency),
                type_code=(tx.type or "").upper() or None,
                bank_reference=fitid,
                customer_reference=checknum or refnum,
                counterparty_name=(tx.payee or "").strip() or None,
                remittance_text=(tx.memo or "").strip() or None,
                references=refs,
                statement_id=end.isoformat() if end else None,
                provenance=Provenance(file=file, file_sha256=sha, line=line, raw=raw or None),
                extra={"account_type": _account_type(account)},
            )
        )
    return BankStatement(
        source_system="ofx",
        source_id=f"{account_id}:{end.isoformat() if end else ''}",
        account_id=account_id,
        currency=currency,
        statement_id=end.isoformat() if end else None,
        period_start=start,
        period_end=end,
        balances=tuple(balances),
        transactions=tuple(transactions),
        provenance=Provenance(file=file, file_sha256=sha),
        extra={
            "routing_number": getattr(account, "routing_number", None) or None,
            "account_type": _account_type(account),
        },
    )
