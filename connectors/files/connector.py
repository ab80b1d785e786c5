"""File connector: CSV/XLSX exports read through a mapping spec into canonical records.

Read-only by design: an export is an input. ``write`` answers every intent REJECTED
(config failure) with a message saying so, so a misrouted sync shows up in the plan
results instead of silently writing files.

The cursor is per file: its sha256, the rows read, and the sha256 of the bytes those rows
occupied. Re-reading an unchanged file yields nothing; a file that only grew (append-only
export of a spec without row grouping) yields only the new rows; anything else is re-read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog

from billbridge.errors import ConfigError, ParseError
from canonical import FailureType, Provenance, Record, ResultStatus, WriteIntent, WriteResult
from connectors.base import CheckReport, Connector, Cursor, FieldInfo, ReadStream
from connectors.files.infer import infer_type
from connectors.files.reader import Table, read_table
from mappings import MappingResult, MappingSpec, apply_spec_rows, try_apply_spec
from mappings.validate import validate_spec

log = structlog.get_logger(__name__)
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


class FileConnector(Connector):
    def __init__(
        self,
        path: str | Path,
        spec: MappingSpec,
        *,
        system: str | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.spec = spec
        #: records carry this source_system (default: the spec's source system)
        self._system = system or spec.source.system
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
        entity = spec.target.entity
        if entity is None:
            raise ConfigError(f"{spec.file}: a file connector needs a spec targeting an entity")
        self.entity = entity

    @property
    def system(self) -> str:  # type: ignore[override]
        return self._system

    # files ---------------------------------------------------------------
    def files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted(p for p in self.path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: no such file or folder")
        return [self.path]

    def _table(self, path: Path, data: bytes | None = None) -> Table:
        return read_table(
            path, encoding=self.encoding, delimiter=self.delimiter, sheet=self.sheet, data=data
        )

    def _entity(self, entity: str) -> None:
        if entity != self.entity:
            raise ConfigError(
                f"{self.path}: spec {self.spec.name} maps to {self.entity!r}, not {entity!r}"
            )

    # reading -------------------------------------------------------------
    def _map(self, table: Table, start: int) -> list[MappingResult]:
        rows, lines = table.rows[start:], table.lines[start:]
        where = [f"{table.file}: line {n}" for n in lines]
        if self.spec.rows is not None:
            return apply_spec_rows(self.spec, rows, locations=where)
        results = []
        for index, (row, w) in enumerate(zip(rows, where, strict=True)):
            result = try_apply_spec(self.spec, row, where=w)
            result.rows = (index,)
            results.append(result)
        return results

    def _record(self, result: MappingResult, table: Table, start: int) -> Record | None:
        if not isinstance(result.value, Record):
            return None
        line = table.lines[start + result.rows[0]] if result.rows else None
        update: dict[str, Any] = {
            "provenance": Provenance(file=table.file, file_sha256=table.sha256, line=line)
        }
        if result.value.source_system != self._system:
            update["source_system"] = self._system
        return result.value.model_copy(update=update)

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        self._entity(entity)
        previous: dict[str, Any] = dict((since.extra.get("files") or {}) if since else {})
        state: dict[str, Any] = {}
        truncated: list[bool] = []
        stream: ReadStream

        def records() -> Iterator[Record]:
            produced = 0
            for path in self.files():
                data = path.read_bytes()
                table = self._table(path, data)
                start = _resume_at(data, table, previous.get(path.name), self.spec.rows is None)
                state[path.name] = {"sha256": table.sha256, "rows": len(table.rows)}
                state[path.name]["bytes"] = len(data)
                stream.errors.extend(table.errors)
                for result in self._map(table, start):
                    if result.error is not None:
                        stream.errors.append(result.error)
                        continue
                    record = self._record(result, table, start)
                    if record is None:
                        continue
                    if limit is not None and produced >= limit:
                        truncated.append(True)
                        return
                    produced += 1
                    yield record
                log.info("file_read", file=path.name, rows=len(table.rows), skipped_rows=start)

        def final() -> Cursor | None:
            # a read cut short by ``limit`` must not checkpoint past what was yielded
            if truncated:
                return since
            return Cursor(extra={"files": {**previous, **state}})

        stream = ReadStream(records(), final)
        return stream

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        wanted = set(external_ids)
        found: dict[str, Record] = {}
        for record in self.read(entity):
            if record.source_id in wanted:
                found[record.source_id] = record
        return found

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        message = f"{self.path.name}: the file connector is read-only (exports are inputs)"
        return [
            WriteResult(
                idempotency_key=intent.idempotency_key,
                status=ResultStatus.REJECTED,
                error_code="read_only",
                message=message,
                failure_type=FailureType.CONFIG,
            )
            for intent in intents
        ]

    # metadata ------------------------------------------------------------
    def check(self) -> CheckReport:
        messages: list[str] = []
        try:
            paths = self.files()
        except ConfigError as exc:
            return CheckReport(ok=False, system=self._system, messages=[str(exc)])
        if not paths:
            messages.append(f"{self.path}: no CSV or XLSX files")
        for path in paths:
            try:
                table = self._table(path)
            except (OSError, ParseError) as exc:
                messages.append(f"{path.name}: cannot read: {exc}")
                continue
            problems = validate_spec(self.spec, source_fields=table.columns)
            messages += [f"{path.name}: {p}" for p in problems]
        return CheckReport(
            ok=not messages,
            system=self._system,
            authenticated=True,
            permissions={"read": not messages, "write": False},
            messages=messages,
        )

    def describe(self, entity: str) -> list[FieldInfo]:
        self._entity(entity)
        paths = self.files()
        if not paths:
            return []
        table = self._table(paths[0])
        sample = table.rows[:200]
        return [
            FieldInfo(name=c, type=infer_type(r.get(c) for r in sample), label=c)
            for c in table.columns
        ]


def _resume_at(data: bytes, table: Table, before: dict[str, Any] | None, appendable: bool) -> int:
    """Index of the first row the previous cursor has not covered.

    Unchanged file: all rows are done. A file that only grew (its old bytes are an unchanged
    prefix ending in a newline) resumes after the old rows, unless rows are grouped into
    records (new rows may extend an old record). Anything else is read again in full.
    """
    if not before:
        return 0
    if before.get("sha256") == table.sha256:
        return len(table.rows)
    size, count = int(before.get("bytes", 0)), int(before.get("rows", 0))
    if not appendable or not 0 < size < len(data) or count > len(table.rows):
        return 0
    head = data[:size]
    if head.endswith(b"\n") and hashlib.sha256(head).hexdigest() == before.get("sha256"):
        return count
    return 0
