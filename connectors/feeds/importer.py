"""Import feed files into the state store: each file whole or not at all.

One database transaction per file writes ``feed_files``, ``feed_statements`` and
``feed_records``. A file seen before (same sha256) is skipped. A statement whose opening
balance differs from the previous closing balance of the account becomes a
``BALANCE_DISCONTINUITY`` reconciliation exception, not a failure. A re-sent statement
supersedes the stored one; a final statement supersedes the intraday one.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from billbridge.state.schema import (
    FeedFileRow,
    FeedRecordRow,
    FeedStatementRow,
)
from canonical import BankStatement
from connectors.feeds.continuity import Audit, check_predecessor, check_successor
from connectors.feeds.model import FeedResult, FeedWarning
from connectors.feeds.normalize import sha256_hex
from connectors.feeds.registry import parse_bytes

log = structlog.get_logger(__name__)
KEY_LIMIT = 200
IN_CHUNK = 500
ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBER_BYTES = 1 << 30  # a member claiming more is refused (zip bomb guard)
#: stored in each entry record's ``extra``: which statement row it belongs to
STATEMENT_KEY = "feed_statement_key"
Status = Literal["imported", "duplicate", "failed"]


@dataclass(frozen=True)
class ImportOutcome:
    path: str
    status: Status
    sha256: str
    format: str | None = None
    statements: int = 0
    transactions: int = 0
    remittances: int = 0
    invoices: int = 0
    exceptions: tuple[str, ...] = ()  # exception ids raised for continuity breaks
    warnings: tuple[FeedWarning, ...] = ()
    message: str = ""
    superseded: tuple[str, ...] = field(default_factory=tuple)
    duplicate_entries: int = 0  # entries already stored from another file, skipped


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders (drop folders) expand to their visible files, sorted."""
    files: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            files.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            )
        else:
            files.append(p)
    return files


def import_paths(
    store: Store,
    paths: Sequence[str | Path],
    *,
    fmt: str = "auto",
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> list[ImportOutcome]:
    """Import every file (folders expanded, ZIP members unpacked); one outcome per file."""
    outcomes: list[ImportOutcome] = []
    for path in expand(paths):
        if _is_zip(path):
            for name, data in _zip_members(path, outcomes):
                outcomes.append(
                    import_bytes(
                        store,
                        data,
                        file_name=name,
                        fmt=fmt,
                        options=options,
                        run_id=run_id,
                        now=now,
                    )
                )
        else:
            outcomes.append(
                import_file(store, path, fmt=fmt, options=options, run_id=run_id, now=now)
            )
    return outcomes


def _is_zip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == ZIP_MAGIC
    except OSError:
        return False


def _zip_members(path: Path, outcomes: list[ImportOutcome]) -> list[tuple[str, bytes]]:
    """Members of a ZIP bundle (banks send many statements in one); oversized ones and a
    broken archive become failed outcomes instead of being read."""
    members: list[tuple[str, bytes]] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in sorted(archive.infolist(), key=lambda i: i.filename):
                name = f"{path}!{info.filename}"
                if info.is_dir() or info.filename.rsplit("/", 1)[-1].startswith("."):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    outcomes.append(ImportOutcome(name, "failed", "", message="member too large"))
                    continue
                members.append((name, archive.read(info)))
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        outcomes.append(ImportOutcome(str(path), "failed", "", message=f"bad ZIP: {exc}"))
    return members


def import_file(
    store: Store,
    path: str | Path,
    *,
    fmt: str = "auto",
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ImportOutcome:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        return ImportOutcome(str(p), "failed", "", message=f"cannot read: {exc.strerror}")
    return import_bytes(
        store, data, file_name=str(p), fmt=fmt, options=options, run_id=run_id, now=now
    )


def import_bytes(
    store: Store,
    data: bytes,
    *,
    file_name: str,
    fmt: str = "auto",
    options: dict[str, Any] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ImportOutcome:
    sha = sha256_hex(data)
    when = now or datetime.now(UTC)
    seen = _seen(store, sha)
    if seen is not None:
        return ImportOutcome(
            file_name,
            "duplicate",
            sha,
            format=seen.format,
            message=f"already imported as {seen.file_name} on {seen.imported_at:%Y-%m-%d}",
        )
    try:
        result = parse_bytes(data, file_name=file_name, fmt=fmt, **(options or {}))
    except BillbridgeError as exc:
        log.warning("feeds.import_failed", file=file_name, error=type(exc).__name__)
        return ImportOutcome(file_name, "failed", sha, message=str(exc))
    try:
        with store.session() as session:
            exceptions, superseded, duplicates = _store(session, result, file_name, run_id, when)
    except IntegrityError:
        if _seen(store, sha) is not None:  # imported concurrently by another process
            return ImportOutcome(
                file_name, "duplicate", sha, format=result.format, message="imported concurrently"
            )
        raise
    log.info(
        "feeds.imported",
        file=file_name,
        format=result.format,
        statements=len(result.statements),
        exceptions=len(exceptions),
    )
    return ImportOutcome(
        file_name,
        "imported",
        sha,
        format=result.format,
        statements=len(result.statements),
        transactions=len(result.transactions),
        remittances=len(result.remittances),
        invoices=len(result.invoices),
        exceptions=tuple(exceptions),
        warnings=tuple(result.warnings),
        superseded=tuple(superseded),
        duplicate_entries=duplicates,
    )


def _seen(store: Store, sha: str) -> FeedFileRow | None:
    with store.session() as session:
        return session.get(FeedFileRow, sha)


def _record_key(*parts: str) -> str:
    key = "|".join(parts)
    if len(key) <= KEY_LIMIT:
        return key
    return key[: KEY_LIMIT - 33] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _statement_key(stmt: BankStatement, used: set[tuple[str, str]]) -> str:
    base = (
        stmt.statement_id
        or stmt.sequence
        or (f"{stmt.period_start}..{stmt.period_end}" if stmt.period_end else "statement")
    )
    if stmt.extra.get("page"):  # a paginated camt statement spans files, one page each
        base += f"#p{stmt.extra['page']}"
    if stmt.intraday:
        base += "#intraday"
    key, n = base, 1
    while (stmt.account_id, key) in used:  # two blocks for one account and day in a file
        n += 1
        key = f"{base}#{n}"
    used.add((stmt.account_id, key))
    return key[:KEY_LIMIT]


def _store(
    session: Session, result: FeedResult, file_name: str, run_id: str | None, now: datetime
) -> tuple[list[str], list[str], int]:
    counts = {
        "statements": len(result.statements),
        "transactions": len(result.transactions),
        "remittances": len(result.remittances),
        "invoices": len(result.invoices),
        "warnings": len(result.warnings),
    }
    session.add(
        FeedFileRow(
            sha256=result.file_sha256,
            file_name=file_name,
            format=result.format,
            imported_at=now,
            run_id=run_id,
            counts=counts,
        )
    )
    session.flush()
    exceptions: list[str] = []
    superseded: list[str] = []
    duplicates = 0
    audit = Audit(file_name, run_id, now)
    used: set[tuple[str, str]] = set()
    ordered = sorted(result.statements, key=lambda s: (s.account_id, str(s.period_end or "")))
    for stmt in ordered:
        key = _statement_key(stmt, used)
        superseded.extend(_supersede(session, stmt, key))
        opening = stmt.balance("opening_booked")
        closing = stmt.balance("closing_booked")
        row = FeedStatementRow(
            file_sha256=result.file_sha256,
            account_id=stmt.account_id[:80],
            statement_key=key,
            currency=stmt.currency,
            period_start=stmt.period_start.isoformat() if stmt.period_start else None,
            period_end=stmt.period_end.isoformat() if stmt.period_end else None,
            opening=opening.amount if opening else None,
            closing=closing.amount if closing else None,
            intraday=stmt.intraday,
        )
        session.add(row)
        session.flush()
        for check in (check_predecessor, check_successor):
            found = check(session, row, audit)
            if found:
                exceptions.append(found)
        duplicates += _store_entries(session, result.file_sha256, stmt, key)
        session.flush()
    others = (
        [("remittance", r.source_id, r.model_dump(mode="json")) for r in result.remittances]
        + [("invoice", i.source_id, i.model_dump(mode="json")) for i in result.invoices]
        + [
            ("acknowledgement", a.group_control_number, a.model_dump(mode="json"))
            for a in result.acknowledgements
        ]
    )
    for kind, key, record in others:
        session.add(
            FeedRecordRow(
                file_sha256=result.file_sha256,
                kind=kind,
                record_key=_record_key(result.format, key),
                record=record,
            )
        )
    return exceptions, superseded, duplicates


def _store_entries(session: Session, sha: str, stmt: BankStatement, key: str) -> int:
    """Insert the statement's entries; an entry already stored from another file (same
    source id: overlapping downloads, a re-sent day) is skipped. Returns how many were."""
    keyed = {_record_key(tx.source_id): tx for tx in stmt.transactions}
    existing: set[str] = set()
    names = list(keyed)
    for start in range(0, len(names), IN_CHUNK):
        existing.update(
            session.scalars(
                select(FeedRecordRow.record_key).where(
                    FeedRecordRow.kind == "bank_transaction",
                    FeedRecordRow.record_key.in_(names[start : start + IN_CHUNK]),
                )
            )
        )
    for record_key, tx in keyed.items():
        if record_key in existing:
            continue
        record = tx.model_dump(mode="json")
        record["extra"][STATEMENT_KEY] = key
        session.add(
            FeedRecordRow(
                file_sha256=sha, kind="bank_transaction", record_key=record_key, record=record
            )
        )
    return len(stmt.transactions) - len(keyed) + len(existing)


def _supersede(session: Session, stmt: BankStatement, key: str) -> list[str]:
    """Drop a stored copy of this statement (re-sent) or its intraday version."""
    keys = [key] if stmt.intraday else [key, f"{key}#intraday"]
    rows = session.scalars(
        select(FeedStatementRow).where(
            FeedStatementRow.account_id == stmt.account_id[:80],
            FeedStatementRow.statement_key.in_(keys),
        )
    ).all()
    gone: list[str] = []
    for row in rows:
        records = session.scalars(
            select(FeedRecordRow).where(
                FeedRecordRow.kind == "bank_transaction",
                FeedRecordRow.file_sha256 == row.file_sha256,
            )
        ).all()
        for rec in records:
            if (rec.record.get("account_id") or "")[:80] == row.account_id and (
                rec.record.get("extra") or {}
            ).get(STATEMENT_KEY) == row.statement_key:
                session.delete(rec)
        session.delete(row)
        gone.append(f"{row.account_id}:{row.statement_key}")
    session.flush()
    return gone
