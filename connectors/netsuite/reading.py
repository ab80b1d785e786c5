"""Incremental scans with an overlap window, id de-duplication and a resumable cursor.

A full scan reads rows modified since ``watermark - overlap`` ordered by id. Rows already
delivered by the previous run (same id and same modification stamp, kept in
``cursor.extra["seen"]`` for the overlap window) are skipped. The new watermark is the
latest modification seen, capped at the scan's start (rows changed during the scan are
read next time). A scan cut short by ``limit`` returns a resume cursor (same lower bound,
``last_id``) so the next call continues with ``id > last_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Cursor, RawRecord

#: (record id, modification stamp as the source renders it, modified UTC, body fetcher)
Row = tuple[str, str, datetime | None, Callable[[], dict[str, Any] | None]]


@dataclass(frozen=True)
class ScanStart:
    lower: datetime | None  # UTC lower bound for lastmodifieddate (inclusive)
    after_id: int | None
    seen: dict[str, str]
    high: datetime | None
    started: datetime


def plan_scan(since: Cursor | None, *, overlap: timedelta, now: datetime) -> ScanStart:
    if since is None:
        return ScanStart(None, None, {}, None, now)
    extra = since.extra
    seen = dict(extra.get("seen") or {})
    if extra.get("mode") == "resume":
        high = extra.get("high")
        return ScanStart(
            since.watermark,
            int(since.last_id) if since.last_id else None,
            seen,
            datetime.fromisoformat(high) if high else None,
            datetime.fromisoformat(extra["started"]),
        )
    lower = since.watermark - overlap if since.watermark else None
    return ScanStart(lower, None, seen, since.watermark, now)


@dataclass
class Scan(Iterator[RawRecord]):
    """Iterator of raw records; ``cursor()`` is final once exhausted."""

    start: ScanStart
    rows: Iterable[Row]
    entity: str
    overlap: timedelta
    limit: int | None = None
    resumable: bool = True
    _iter: Iterator[RawRecord] | None = None
    _count: int = 0
    _truncated: bool = False
    _last_id: str | None = None
    _high: datetime | None = None
    _delivered: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)
    _skipped: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)
    _done: bool = False

    def __post_init__(self) -> None:
        self._high = self.start.high
        self._iter = self._generate()

    def __next__(self) -> RawRecord:
        assert self._iter is not None
        try:
            return next(self._iter)
        except StopIteration:
            self._done = True
            raise

    def _generate(self) -> Iterator[RawRecord]:
        for record_id, stamp, modified, fetch in self.rows:
            if record_id in self._delivered:
                continue
            if self.start.seen.get(record_id) == stamp:
                self._skipped[record_id] = (stamp, modified)  # the previous run's overlap
                continue
            if self.limit is not None and self._count >= self.limit:
                self._truncated = True
                return
            data = fetch()
            if data is None:
                continue  # deleted between the id query and the body fetch
            self._count += 1
            self._last_id = record_id
            self._delivered[record_id] = (stamp, modified)
            if modified is not None and (self._high is None or modified > self._high):
                self._high = modified
            yield RawRecord(
                entity=self.entity, data=data, where=f"netsuite {self.entity} {record_id}"
            )

    def cursor(self) -> Cursor | None:
        if not self._done:
            raise RuntimeError("cursor is only final after the whole scan is read")
        start = self.start
        if self._truncated and self.resumable:
            return Cursor(
                watermark=start.lower,
                last_id=self._last_id,
                extra={
                    "mode": "resume",
                    "seen": start.seen,
                    "started": start.started.isoformat(),
                    "high": self._high.isoformat() if self._high else None,
                },
            )
        if self._truncated:
            return Cursor(watermark=start.high, extra={"seen": start.seen}) if start.high else None
        if self._high is None:
            mark = start.high or start.lower
            return Cursor(watermark=mark, extra={"seen": start.seen}) if mark else None
        high = min(self._high, start.started.astimezone(UTC))
        keep_from = high - self.overlap
        seen = {
            k: stamp
            for k, (stamp, mod) in {**self._skipped, **self._delivered}.items()
            if mod is not None and mod >= keep_from
        }
        return Cursor(watermark=high, extra={"seen": seen})
