"""BAI2 / BTRS balance and transaction reporting (own tolerant tokenizer).

``parse`` returns a whole :class:`FeedResult`; ``iter_statements`` streams one statement
per account block from any iterable of lines (a 100 MB file never sits in memory as
canonical records).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from canonical import BankStatement
from connectors.feeds.bai2.parser import Bai2Parser
from connectors.feeds.common import parse_guard
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.normalize import Line, iter_lines, normalize

FORMAT = "bai2"
_SIGNATURE = re.compile(rb"^\s*01,[^\r\n]*?,2\s*/", re.MULTILINE)
_HEADER = re.compile(rb"\A\s*01,")


def sniff(head: bytes) -> bool:
    """``01,`` header whose version field is 2 (``,2/``), or an ``01,`` followed by 02/03."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    if not _HEADER.match(head):
        return False
    return bool(_SIGNATURE.match(head)) or b"\n02," in head or b"/02," in head


def iter_statements(
    lines: Iterable[Line],
    *,
    file_name: str,
    file_sha256: str | None = None,
    warnings: list[FeedWarning] | None = None,
    meta: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[BankStatement]:
    parser = Bai2Parser(file_name=file_name, file_sha256=file_sha256, **options)
    try:
        with parse_guard(file_name, "BAI2"):
            yield from parser.statements(lines)
    finally:
        if warnings is not None:
            warnings.extend(parser.warnings)
        if meta is not None:
            meta.update(parser.meta)


def parse(data: bytes, *, file_name: str, **options: Any) -> FeedResult:
    norm = normalize(data)
    warnings: list[FeedWarning] = []
    meta: dict[str, Any] = {}
    lines = iter_lines(data, norm.encoding)
    statements = list(
        iter_statements(
            lines, file_name=file_name, file_sha256=norm.sha256, warnings=warnings, meta=meta,
            **options,
        )
    )  # fmt: skip
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=norm.sha256,
        encoding=norm.encoding,
        statements=statements,
        warnings=warnings,
        meta=meta,
    )
