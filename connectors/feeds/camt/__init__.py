"""ISO 20022 camt.052 / camt.053 / camt.054, versions .02 to .13 (own lxml reader).

``iter_items`` streams transactions, remittances and statements from a file object;
``parse`` assembles them into one :class:`FeedResult`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import IO, Any

from canonical import BankStatement, BankTransaction, Remittance
from connectors.feeds.camt.reader import CamtReader, Item
from connectors.feeds.common import parse_guard
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.normalize import normalize

FORMAT = "camt"
_SIGNATURE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]")
_MESSAGE = re.compile(rb"<(?:\w+:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b")


def sniff(head: bytes) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<"):
        return False
    return bool(_SIGNATURE.search(head) or _MESSAGE.search(head))


def iter_items(
    source: IO[bytes],
    *,
    file_name: str,
    file_sha256: str | None = None,
    warnings: list[FeedWarning] | None = None,
    meta: dict[str, Any] | None = None,
) -> Iterator[Item]:
    reader = CamtReader(file_name=file_name, file_sha256=file_sha256)
    try:
        with parse_guard(file_name, "camt"):
            yield from reader.items(source)
    finally:
        if warnings is not None:
            warnings.extend(reader.warnings)
        if meta is not None:
            meta.update(reader.meta)


def parse(data: bytes, *, file_name: str, **options: Any) -> FeedResult:
    norm = normalize(data)
    warnings: list[FeedWarning] = []
    meta: dict[str, Any] = {}
    statements: list[BankStatement] = []
    remittances: list[Remittance] = []
    pending: list[BankTransaction] = []
    for item in iter_items(
        io.BytesIO(data), file_name=file_name, file_sha256=norm.sha256, warnings=warnings,
        meta=meta,
    ):  # fmt: skip
        if isinstance(item, BankTransaction):
            pending.append(item)
        elif isinstance(item, Remittance):
            remittances.append(item)
        else:
            statements.append(item.model_copy(update={"transactions": tuple(pending)}))
            pending = []
    return FeedResult(
        format=FORMAT,
        file_name=file_name,
        file_sha256=norm.sha256,
        encoding=norm.encoding,
        statements=statements,
        remittances=remittances,
        warnings=warnings,
        meta=meta,
    )
