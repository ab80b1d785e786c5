"""Parsed feed items one at a time, for consumers that must not hold a whole file's records.

BAI2 and camt stream natively (one account block / one entry at a time); the other formats
are parsed whole and their records handed out in order. Errors surface as ParseError while
iterating, so a consumer wraps the iteration in its transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from canonical import BankStatement, BankTransaction, Invoice, Remittance
from connectors.feeds.detect import detect_format
from connectors.feeds.model import Acknowledgement, FeedWarning
from connectors.feeds.normalize import iter_lines, normalize
from connectors.feeds.registry import get_parser

Item = BankStatement | Remittance | Invoice | Acknowledgement
STREAMING = frozenset({"bai2", "camt"})


@dataclass
class FeedStream:
    format: str
    file_name: str
    sha256: str
    encoding: str
    warnings: list[FeedWarning] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    _items: Iterator[Item] | None = None

    def items(self) -> Iterator[Item]:
        if self._items is None:
            return iter(())
        return self._items


def open_feed(data: bytes, *, file_name: str, fmt: str = "auto", **options: Any) -> FeedStream:
    """Detect (unless told) and prepare the items of ``data``; formats that cannot stream
    are parsed here, so their ParseError is raised at once."""
    chosen = detect_format(data, file_name=file_name) if fmt == "auto" else fmt
    parser = get_parser(chosen)  # unknown or unavailable format: ConfigError now
    norm = normalize(data)
    stream = FeedStream(chosen, file_name, norm.sha256, norm.encoding)
    if chosen == "bai2":
        stream._items = _bai2(data, stream, norm.encoding, options)
    elif chosen == "camt":
        stream._items = _camt(data, stream)
    else:
        result = parser.parse(data, file_name=file_name, **options)
        stream.encoding, stream.meta = result.encoding, result.meta
        stream.warnings.extend(result.warnings)
        items: list[Item] = [*result.statements, *result.remittances, *result.invoices]
        items.extend(result.acknowledgements)
        stream._items = iter(items)
    return stream


def _bai2(
    data: bytes, stream: FeedStream, encoding: str, options: dict[str, Any]
) -> Iterator[Item]:
    from connectors.feeds import bai2

    yield from bai2.iter_statements(
        iter_lines(data, encoding),
        file_name=stream.file_name,
        file_sha256=stream.sha256,
        warnings=stream.warnings,
        meta=stream.meta,
        **options,
    )


def _camt(data: bytes, stream: FeedStream) -> Iterator[Item]:
    from connectors.feeds import camt

    pending: list[BankTransaction] = []
    # remittances follow their statement: it may supersede a stored copy (and the
    # remittances that came with it) before they are checked for duplicates
    follow: list[Item] = []
    for item in camt.iter_items(
        io.BytesIO(data),
        file_name=stream.file_name,
        file_sha256=stream.sha256,
        warnings=stream.warnings,
        meta=stream.meta,
    ):
        if isinstance(item, BankTransaction):
            pending.append(item)
        elif isinstance(item, BankStatement):
            yield item.model_copy(update={"transactions": tuple(pending)})
            yield from follow
            pending, follow = [], []
        else:
            follow.append(item)
    yield from follow
