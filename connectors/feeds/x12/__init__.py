"""ANSI X12 feeds: 820 remittances, 810 invoices (read and write), 997/999 acknowledgements.

Parser contract (see :mod:`connectors.feeds.model`): ``FORMAT``, ``sniff``, ``parse``.
``parse_fragment`` reads a bare ST..SE 820 (ACH CTX addenda); ``render_810`` writes.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import structlog

from canonical import Money, Remittance
from connectors.feeds.model import Acknowledgement, FeedResult, FeedWarning
from connectors.feeds.x12.envelope import TransactionSet, enforce_strict, walk
from connectors.feeds.x12.tokenizer import Separators, tokenize
from connectors.feeds.x12.values import Ctx, default_currency
from connectors.feeds.x12.x810 import extract_810
from connectors.feeds.x12.x810_writer import render_810
from connectors.feeds.x12.x820 import extract_820, short_pay
from connectors.feeds.x12.x997 import acknowledged_groups, extract_ack

FORMAT = "x12"
log = structlog.get_logger(__name__)
#: An ISA with any element separator, or a bare ST..SE set (CTX addenda saved as a file).
_SNIFF = re.compile(rb"\A(\xef\xbb\xbf)?\s*(ISA[^A-Za-z0-9\s]|ST([^A-Za-z0-9\s])\d{3}\3)")


def sniff(head: bytes) -> bool:
    return bool(_SNIFF.match(head[:512]))


def parse(
    data: bytes, *, file_name: str, currency: str = "USD", strict: bool = False, **options: Any
) -> FeedResult:
    """Every supported transaction set in the interchange; others become warnings.

    ``currency`` applies where no CUR segment says otherwise; ``strict`` makes envelope
    count/number mismatches errors (a remittance that does not tie out stays a warning).
    """
    currency = default_currency(currency)
    sha = hashlib.sha256(data).hexdigest()
    tokens = tokenize(data, file_name=file_name)
    sets, warnings = walk(tokens, file_name=file_name)
    ctx = Ctx(file_name, sha, currency)
    remittances, invoices, acks = [], [], []
    for ts in sets:
        if ts.set_id == "820":
            rem, w = extract_820(ts, ctx)
            remittances.append(rem)
            warnings += w
        elif ts.set_id == "810":
            inv, w = extract_810(ts, ctx)
            invoices.append(inv)
            warnings += w
        elif ts.set_id in ("997", "999"):
            acks += extract_ack(ts)
        else:
            st = ts.segments[0]
            warnings.append(
                FeedWarning(
                    code="unsupported_transaction_set",
                    message=f"transaction set {ts.set_id} {ts.control} skipped",
                    line=st.line,
                    segment=st.index,
                )
            )
    enforce_strict(warnings, file_name=file_name, strict=strict)
    # TA1: the partner's interchange-level acknowledgement of an ISA we sent
    ta1 = [
        {"interchange_control": s.el(1), "status": s.el(4), "note_code": s.el(5)}
        for s in tokens.segments
        if s.tag == "TA1"
    ]
    if tokens.segments and not (remittances or invoices or acks or ta1):
        warnings.append(
            FeedWarning(code="no_entries", message="no 810, 820 or 997 transaction set in the file")
        )
    log.info(
        "x12.parsed",
        file=file_name,
        sets=len(sets),
        remittances=len(remittances),
        invoices=len(invoices),
        acknowledgements=len(acks),
        warnings=len(warnings),
    )
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=sha,
        encoding=tokens.encoding,
        remittances=remittances,
        invoices=invoices,
        acknowledgements=acks,
        warnings=warnings,
        meta={
            "transaction_sets": [f"{ts.set_id}:{ts.control}" for ts in sets],
            "separators": _seps_meta(tokens.separators),
            "interchange_acknowledgements": ta1,
        },
    )


def parse_fragment(
    text: str,
    *,
    file_name: str,
    file_sha256: str,
    currency: str = "USD",
    default_total: Money | None = None,
    default_trace: str | None = None,
) -> tuple[list[Remittance], list[FeedWarning]]:
    """820s from a full interchange, a bare ST..SE fragment (NACHA CTX addenda) or bare
    remittance segments such as one ``RMR`` (CCD+ addenda)."""
    tokens = tokenize(text.encode("utf-8"), file_name=file_name)
    if tokens.segments and tokens.segments[0].tag not in ("ISA", "GS", "ST"):
        # CCD+ style: bare remittance segments (RMR, REF, ...) with no ST..SE around them
        sets = [TransactionSet("820", "", list(tokens.segments))]
        warnings: list[FeedWarning] = []
    else:
        sets, warnings = walk(tokens, file_name=file_name)
    ctx = Ctx(file_name, file_sha256, currency)
    out: list[Remittance] = []
    for ts in sets:
        if ts.set_id == "820":
            rem, w = extract_820(ts, ctx, default_total=default_total, default_trace=default_trace)
            out.append(rem)
            warnings += w
    return out, warnings


def _seps_meta(seps: Separators) -> dict[str, str | None]:
    return {
        "element": seps.element,
        "component": seps.component,
        "repetition": seps.repetition,
        "segment": seps.segment,
    }


__all__ = [
    "FORMAT",
    "Acknowledgement",
    "Separators",
    "TransactionSet",
    "acknowledged_groups",
    "parse",
    "parse_fragment",
    "render_810",
    "short_pay",
    "sniff",
]
