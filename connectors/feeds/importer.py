"""Import feed files into the state store: each file whole or not at all.

One database transaction per file writes ``feed_files``, ``feed_statements`` and
``feed_records``. A file seen before (same sha256) is skipped. A statement whose opening
balance differs from the previous closing balance of the account becomes a
``BALANCE_DISCONTINUITY`` reconciliation exception, not a failure. A re-sent statement
supersedes the stored one; a final statement supersedes the intraday one; an entry already
stored from another file (overlapping downloads) is skipped. ZIP bundles are unpacked and
each member imported on its own. BAI2 and camt are parsed while they are written, so a
large file never sits in memory as records (a late ParseError still rolls everything back).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlalchemy.exc import IntegrityError

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from billbridge.state.schema import FeedFileRow
from connectors.feeds.continuity import Audit
from connectors.feeds.feed_store import FeedWriter
from connectors.feeds.model import FeedWarning
from connectors.feeds.normalize import sha256_hex
from connectors.feeds.stream import open_feed

log = structlog.get_logger(__name__)
ZIP_MAGIC = b"PK\x03\x04"
MAX_MEMBER_BYTES = 1 << 30  # a member claiming more is refused (zip bomb guard)
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
    #: remittances / invoices / acknowledgements already stored from another file, skipped
    duplicate_records: dict[str, int] = field(default_factory=dict)


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
        stream = open_feed(data, file_name=file_name, fmt=fmt, **(options or {}))
        # parsing goes on while writing (BAI2/camt stream): a ParseError rolls it all back
        with store.session() as session:
            stored = FeedWriter(session, stream, Audit(file_name, run_id, when)).write()
    except BillbridgeError as exc:
        log.warning("feeds.import_failed", file=file_name, error=type(exc).__name__)
        return ImportOutcome(file_name, "failed", sha, message=str(exc))
    except IntegrityError:
        if _seen(store, sha) is not None:  # imported concurrently by another process
            return ImportOutcome(file_name, "duplicate", sha, message="imported concurrently")
        raise
    log.info(
        "feeds.imported",
        file=file_name,
        format=stream.format,
        statements=stored.statements,
        exceptions=len(stored.exceptions),
    )
    return ImportOutcome(
        file_name,
        "imported",
        sha,
        format=stream.format,
        statements=stored.statements,
        transactions=stored.transactions,
        remittances=stored.remittances,
        invoices=stored.invoices,
        exceptions=tuple(stored.exceptions),
        warnings=tuple(stream.warnings),
        superseded=tuple(stored.superseded),
        duplicate_entries=stored.duplicates,
        duplicate_records=dict(stored.duplicate_records),
    )


def _seen(store: Store, sha: str) -> FeedFileRow | None:
    with store.session() as session:
        return session.get(FeedFileRow, sha)
