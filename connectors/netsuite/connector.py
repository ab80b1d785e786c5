"""The NetSuite connector: REST record API + SuiteQL (primary) or SOAP (second transport).

Reads are SuiteQL id scans (full timestamps in the account timezone, overlap window, id
de-duplication, keyset past the row ceiling) with transaction bodies fetched through the
record API; writes upsert by external id; creates are never blindly retried.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import requests
import structlog

from billbridge.errors import ConfigError, RecordRejected
from canonical import Record, WriteIntent, WriteResult
from connectors.base import CheckReport, Connector, Cursor, FieldInfo, ReadStream
from connectors.netsuite import describe as describe_mod
from connectors.netsuite import suiteql
from connectors.netsuite.canonicalize import Canonicalizer
from connectors.netsuite.reading import Row, Scan, plan_scan
from connectors.netsuite.rest import RestTransport
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.soap import SoapTransport
from connectors.netsuite.soap_shape import to_rest_shape
from connectors.netsuite.sources import SOURCES, Source, source_for
from connectors.netsuite.writing import RestWriter, SoapWriter

log = structlog.get_logger(__name__)
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class NetSuiteConnector(Connector):
    system: ClassVar[str] = "netsuite"
    entities: ClassVar[Mapping[str, str]] = {
        name: src.record_type for name, src in SOURCES.items() if src.entity
    }

    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        soap: SoapTransport | None = None,
    ) -> None:
        self.settings = settings
        self._now = now
        self.rest = RestTransport(settings, session=session, sleep=sleep)
        self.soap = soap
        if settings.transport == "soap" and self.soap is None:
            self.soap = SoapTransport(settings, sleep=sleep)
        self.canonical = Canonicalizer(settings)

    # -- SuiteQL poster (used by suiteql.iter_rows) ----------------------------------
    def suiteql_page(self, query: str, *, limit: int, offset: int) -> dict[str, Any]:
        resp = self.rest.request(
            "POST",
            "query/v1/suiteql",
            params={"limit": limit, "offset": offset},
            json={"q": query},
            headers={"Prefer": "transient"},
        )
        page: dict[str, Any] = resp.json(parse_float=Decimal)
        log.debug("netsuite.suiteql.page", offset=offset, count=page.get("count"))
        return page

    def suiteql(self, query: str) -> Iterator[dict[str, Any]]:
        """Rows of an arbitrary query, paged by offset (no keyset: caller's ORDER BY)."""
        offset = 0
        while True:
            page = self.suiteql_page(query, limit=self.settings.page_size, offset=offset)
            yield from page.get("items") or []
            if not page.get("hasMore"):
                return
            offset += self.settings.page_size

    # -- reads ------------------------------------------------------------------------
    def read_raw(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> Scan:
        """Vendor-shaped records (REST record JSON or SuiteQL rows) changed since ``since``.
        The returned scan is an iterator whose ``cursor()`` is final once exhausted."""
        source = self._source(entity)
        overlap = timedelta(seconds=self.settings.overlap_s)
        start = plan_scan(since, overlap=overlap, now=self._now())
        if self.settings.transport == "soap":
            return Scan(
                start,
                self._soap_rows(source, start.lower),
                source.entity or entity,
                overlap,
                limit,
                resumable=False,
            )
        return Scan(
            start,
            self._rest_rows(source, start.lower, start.after_id),
            source.entity or entity,
            overlap,
            limit,
        )

    def _rest_rows(
        self, source: Source, lower: datetime | None, after_id: int | None
    ) -> Iterator[Row]:
        tz = self.settings.tz
        rows = suiteql.iter_rows(
            self,
            source.query,
            modified_from=suiteql.to_account_time(lower, tz) if lower else None,
            after_id=after_id,
            page_size=self.settings.page_size,
            ceiling=self.settings.suiteql_ceiling,
        )
        for row in rows:
            stamp = str(row.get(suiteql.MODIFIED) or "")
            modified = suiteql.from_account_time(stamp, tz) if stamp else None
            record_id = str(row["id"])
            if source.rest_bodies:
                fetch = self._fetcher(source.record_type, record_id)
            else:
                fetch = _constant(row)
            yield record_id, stamp, modified, fetch

    def _fetcher(self, record_type: str, record_id: str) -> Callable[[], dict[str, Any] | None]:
        """GET the body with its sublists; None when it was deleted since the query ran."""

        def fetch() -> dict[str, Any] | None:
            try:
                return self.rest.get_record(record_type, record_id)
            except RecordRejected as exc:
                if exc.code in ("NONEXISTENT_ID", "404"):
                    log.info("netsuite.read.deleted_meanwhile", type=record_type, id=record_id)
                    return None
                raise

        return fetch

    def _soap_rows(self, source: Source, lower: datetime | None) -> Iterator[Row]:
        assert self.soap is not None
        for record in self.soap.search(source.record_type, lower):
            data = to_rest_shape(record)
            modified = getattr(record, "lastModifiedDate", None)
            stamp = modified.isoformat() if modified else ""
            yield (
                str(data.get("id")),
                stamp,
                modified.astimezone(UTC) if modified else None,
                _constant(data),
            )

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        source = self._source(entity)
        if source.entity is None:
            raise ConfigError(f"{entity} has no canonical model; use read_raw")
        scan = self.read_raw(entity, since, limit=limit)
        errors: list[Any] = []

        def records() -> Iterator[Record]:
            count = 0
            for raw in scan:
                try:
                    mapped = self.canonical.convert(
                        source, raw.data, where=raw.where, rest_shape=self._rest_shaped(source)
                    )
                except RecordRejected as exc:
                    errors.append(exc)
                    log.warning(
                        "netsuite.read.mapping_failed", where=raw.where, error=type(exc).__name__
                    )
                    continue
                count += len(mapped)
                yield from mapped
            log.info("netsuite.read.done", entity=entity, records=count, rejected=len(errors))

        stream = ReadStream(records(), scan.cursor)
        stream.errors = errors
        return stream

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        source = self._source(entity)
        found: dict[str, Record] = {}
        for eid, data in self.lookup_raw(entity, external_ids).items():
            records = self.canonical.convert(
                source,
                data,
                where=f"netsuite {entity} eid:{eid}",
                rest_shape=self._rest_shaped(source),
            )
            if records:
                found[eid] = records[0]
        return found

    def lookup_raw(self, entity: str, external_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        source = self._source(entity)
        wanted = [e for e in dict.fromkeys(external_ids) if _EXTERNAL_ID.match(e)]
        if self.settings.transport == "soap":
            assert self.soap is not None
            out = {}
            for eid in wanted:
                record = self.soap.get(source.record_type, eid)
                if record is not None:
                    out[eid] = to_rest_shape(record)
            return out
        if source.rest_bodies:
            rest_out = {}
            for eid in wanted:
                data = self.rest.find_by_external_id(source.record_type, eid)
                if data is not None:
                    rest_out[eid] = data
            return rest_out
        rows: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(wanted, 500):
            literals = ", ".join(suiteql.literal(e) for e in chunk)
            query = suiteql.build_query(
                source.query, conditions=[f"{source.query.col('externalid')} IN ({literals})"]
            )
            for row in self.suiteql(query):
                rows[str(row.get("externalid"))] = row
        return rows

    # -- writes ----------------------------------------------------------------------
    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        if self.settings.transport == "soap":
            assert self.soap is not None
            return SoapWriter(self.settings, self.soap, self._source).write(intents)
        return RestWriter(self.settings, self.rest, self._source, self.find_by_tranid).write(
            intents
        )

    def find_by_tranid(self, source: Source, tranid: str) -> str | None:
        """Internal id of the transaction with this document number (read-before-retry)."""
        if source.query.table != "transaction":
            return None
        query = suiteql.build_query(
            source.query, conditions=[f"t.tranid = {suiteql.literal(tranid)}"]
        )
        for row in self.suiteql(query):
            return str(row["id"])
        return None

    # -- check / describe ----------------------------------------------------------------
    def check(self, entities: Sequence[str] | None = None) -> CheckReport:
        names = list(entities) if entities is not None else ["customer", "invoice"]
        return describe_mod.check(self, [self._source(n) for n in names])

    def describe(self, entity: str) -> list[FieldInfo]:
        source = self._source(entity)
        if self.settings.transport == "soap":
            assert self.soap is not None
            return describe_mod.describe_soap(self.soap, source.record_type)
        return describe_mod.describe_rest(self.rest.metadata(source.record_type))

    def _rest_shaped(self, source: Source) -> bool:
        """SOAP records are reshaped like REST JSON; REST reads lists as SuiteQL rows."""
        return self.settings.transport == "soap" or source.rest_bodies

    def _source(self, entity: str) -> Source:
        try:
            return source_for(entity, item_record_type=self.settings.item_record_type)
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None


def _constant(value: dict[str, Any]) -> Callable[[], dict[str, Any] | None]:
    return lambda: value


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def valid_external_id(value: str) -> bool:
    return bool(_EXTERNAL_ID.match(value))
