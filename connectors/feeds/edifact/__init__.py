"""UN/EDIFACT feeds: REMADV remittances and INVOIC invoices (EANCOM subsets).

Parser contract (see :mod:`connectors.feeds.model`): ``FORMAT``, ``sniff``, ``parse``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import structlog

from canonical import Invoice, Remittance
from connectors.feeds.edifact.invoic import extract_invoic
from connectors.feeds.edifact.remadv import extract_remadv
from connectors.feeds.edifact.tokenizer import ServiceChars, tokenize
from connectors.feeds.edifact.values import Ctx, messages
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.x12.envelope import enforce_strict
from connectors.feeds.x12.values import default_currency

FORMAT = "edifact"
log = structlog.get_logger(__name__)
_SNIFF = re.compile(rb"\A(\xef\xbb\xbf)?\s*(UNA.{6}\s*)?UNB.", re.DOTALL)


def sniff(head: bytes) -> bool:
    return bool(_SNIFF.match(head[:1024]))


def parse(
    data: bytes, *, file_name: str, currency: str = "EUR", strict: bool = False, **options: Any
) -> FeedResult:
    """REMADV and INVOIC messages; other messages become warnings.

    ``currency`` applies where no CUX says otherwise; ``strict`` makes UNT/UNE/UNZ count
    and reference mismatches errors (a remittance that does not tie out stays a warning).
    """
    currency = default_currency(currency)
    sha = hashlib.sha256(data).hexdigest()
    tokens = tokenize(data, file_name=file_name)
    msgs, warnings = messages(tokens.segments, file_name)
    ctx = Ctx(file_name, sha, tokens.chars.decimal, currency)
    remittances: list[Remittance] = []
    invoices: list[Invoice] = []
    for msg in msgs:
        if msg.msg_type == "REMADV":
            rem, w = extract_remadv(msg, ctx)
            remittances.append(rem)
            warnings += w
        elif msg.msg_type == "INVOIC":
            inv, w = extract_invoic(msg, ctx)
            invoices.append(inv)
            warnings += w
        else:
            unh = msg.segments[0]
            warnings.append(
                FeedWarning(
                    code="unsupported_message",
                    line=unh.line,
                    segment=unh.index,
                    message=f"{msg.msg_type} {msg.reference} skipped",
                )
            )
    enforce_strict(warnings, file_name=file_name, strict=strict)
    if tokens.segments and not (remittances or invoices):
        warnings.append(FeedWarning(code="no_entries", message="no REMADV or INVOIC message"))
    log.info(
        "edifact.parsed",
        file=file_name,
        messages=len(msgs),
        remittances=len(remittances),
        invoices=len(invoices),
        warnings=len(warnings),
    )
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=sha,
        encoding=tokens.encoding,
        remittances=remittances,
        invoices=invoices,
        warnings=warnings,
        meta={
            "messages": [f"{m.msg_type}:{m.reference}" for m in msgs],
            "service_chars": _chars_meta(tokens.chars),
        },
    )


def _chars_meta(chars: ServiceChars) -> dict[str, str | None]:
    return {
        "component": chars.component,
        "element": chars.element,
        "decimal": chars.decimal,
        "release": chars.release,
        "segment": chars.segment,
    }


__all__ = ["FORMAT", "parse", "sniff", "tokenize"]
