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
from typing import Any

import structlog

from billbridge.errors import ParseError
from canonical import BankStatement, Remittance
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.nacha.entries import build_batch
from connectors.feeds.nacha.records import (
    RECORD_LENGTH,
    Checker,
    group_records,
    read_records,
    yymmdd,
)

FORMAT = "nacha"
log = structlog.get_logger(__name__)
_BOM = b"\xef\xbb\xbf"
_SNIFF = re.compile(rb"\A(\xef\xbb\xbf)?1\d\d[ \d]\d{9}[ \d]\d{9}\d{6}")


def sniff(head: bytes) -> bool:
    if not _SNIFF.match(head):
        return False
    first = head.lstrip(_BOM).split(b"\n", 1)[0].rstrip(b"\r")
    return len(first) >= RECORD_LENGTH - 2


def parse(
    data: bytes,
    *,
    file_name: str,
    strict: bool = False,
    originator: bool = False,
    **options: Any,
) -> FeedResult:
    sha = hashlib.sha256(data).hexdigest()
    recs = read_records(data, file_name)
    if not recs:
        raise ParseError(
            "no NACHA records", file=file_name, offset=0, expected="a file header record (1)"
        )
    header, batches, trailer = group_records(recs, file_name)
    if header is None:
        raise ParseError(
            "no file header", file=file_name, line=recs[0].line, expected="a file header record (1)"
        )
    checker = Checker(file_name, strict)
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
            "creation_date": str(yymmdd(header.f(24, 29))),
            "origin_name": header.f(64, 86),
            "destination_name": header.f(41, 63),
        },
    )
