"""Incremental Salesforce reads on the (SystemModstamp, Id) keyset, tombstones included.

REST reads go through ``query_all_iter`` on ``queryAll`` (so ``IsDeleted`` rows arrive) and
are checkpointable record by record: after a token expiry, a transient failure or a budget
stop the query restarts from the last record handed out. ``QUERY_TIMEOUT`` halves the
window. Windows expected to hold ``bulk_threshold`` rows or more stream through Bulk 2.0
(unordered, so the cursor is final only at the end).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from simple_salesforce.bulk2 import JobState, Operation

from billbridge.errors import (
    BillbridgeError,
    BudgetExhausted,
    ConfigError,
    FatalError,
    RetryableError,
)
from connectors.base import Cursor, RawRecord, parse_datetime
from connectors.common.throttle import slot
from connectors.salesforce import soql
from connectors.salesforce.client import QueryTimeout, SalesforceClient, SessionExpired
from connectors.salesforce.schema import OrgSchema

log = structlog.get_logger(__name__)

#: Salesforce has no rows older than this: the floor for halving an open window.
EPOCH = datetime(1999, 1, 1, tzinfo=UTC)


class ReadBudgetExhausted(BudgetExhausted):
    """The budget ran out mid-read; ``resume`` is the keyset of the last record handed out."""

    def __init__(self, message: str, resume: Cursor | None) -> None:
        super().__init__(message)
        self.resume = resume


class SalesforceReader:
    def __init__(
        self,
        client: SalesforceClient,
        schema: OrgSchema,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.schema = schema
        self.settings = client.settings
        self.now = now
        self.last: tuple[datetime, str] | None = None
        self.bulk = False

    def final_cursor(self, since: Cursor | None) -> Cursor | None:
        if self.last is None:
            return since
        return Cursor(watermark=self.last[0], last_id=self.last[1])

    def read(self, sobject: str, since: Cursor | None, limit: int | None) -> Iterator[RawRecord]:
        upper = self.now()  # fixed at run start: later changes are read next time
        wm, last_id = None, None
        if since is not None and since.watermark is not None:
            # Rows commit behind the saved cursor: step back and forget the tie-break.
            wm = since.watermark - timedelta(seconds=self.settings.lookback_seconds)
            last_id = since.last_id if not self.settings.lookback_seconds else None
        fields = self.schema.fields(sobject)
        child = self.schema.child(sobject)
        self.client.budget.start_run()
        if child is None and self._large(sobject, wm, upper):
            self.bulk = True
            flat = self.schema.fields(sobject, compound=False, related=False)
            rows = self._bulk(
                sobject, flat, soql.incremental(flat, sobject, None, wm, None, upper, ordered=False)
            )
        else:
            rows = self._rest(sobject, fields, child, wm, last_id, upper)
        for count, row in enumerate(rows):
            if limit is not None and count >= limit:
                return
            yield RawRecord(
                entity=sobject,
                data=row,
                deleted=bool(row.get("IsDeleted")),
                where=f"salesforce {sobject} {row.get('Id')}",
            )

    # -- REST -------------------------------------------------------------------------

    def _rest(
        self,
        sobject: str,
        fields: list[str],
        child: tuple[str, list[str]] | None,
        wm: datetime | None,
        last_id: str | None,
        upper: datetime,
    ) -> Iterator[dict[str, Any]]:
        bounds = [upper]
        failures, renewed = 0, False
        while bounds:
            query = soql.incremental(fields, sobject, child, wm, last_id, bounds[-1])
            try:
                for row in self._pages(query):
                    if child is not None:
                        self._complete_child(row, child[0])
                    stamp = parse_datetime(row["SystemModstamp"])
                    assert stamp is not None
                    wm, last_id = stamp, str(row["Id"])
                    if self.last is None or (stamp, last_id) > self.last:
                        self.last = (stamp, last_id)
                    failures, renewed = 0, False
                    yield row
                bounds.pop()
            except SessionExpired:
                if renewed:
                    raise FatalError(
                        f"Salesforce query {sobject}: a fresh token was refused "
                        "(INVALID_SESSION_ID)"
                    ) from None
                renewed = True
                self.client.renew()
            except QueryTimeout as exc:
                start = wm or EPOCH
                if bounds[-1] - start < timedelta(seconds=2):
                    raise
                log.warning("salesforce.query_timeout_split", sobject=sobject, error=str(exc))
                bounds.append(start + (bounds[-1] - start) / 2)
            except BudgetExhausted as exc:
                raise ReadBudgetExhausted(str(exc), self.final_cursor(None)) from None
            except RetryableError as exc:
                failures += 1
                if failures >= self.settings.max_attempts:
                    raise
                self.client.sleep(self.client.backoff(failures, exc))

    def _pages(self, query: str) -> Iterator[dict[str, Any]]:
        """Records of ``query_all_iter`` (queryAll) with throttle, budget and error mapping."""
        sf = self.client.sf()
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.query_batch_size}"}
        rows = sf.query_all_iter(query, include_deleted=True, headers=headers)
        while True:
            with slot(self.settings.account_key, self.settings.concurrency):
                self.client.budget.check()
                try:
                    row = self.client.guard("query", lambda _sf: next(rows))
                except StopIteration:
                    return
            yield row

    def _complete_child(self, row: dict[str, Any], relationship: str) -> None:
        """Child subqueries return at most ~200 rows inline; fetch the rest of the lines."""
        block = row.get(relationship)
        while isinstance(block, dict) and not block.get("done", True):
            more = self._query_more(str(block["nextRecordsUrl"]))
            block["records"] = [*block.get("records", []), *more.get("records", [])]
            block["done"] = more.get("done", True)
            block["nextRecordsUrl"] = more.get("nextRecordsUrl")
            if block["done"]:
                block.pop("nextRecordsUrl", None)

    def _query_more(self, url: str) -> dict[str, Any]:
        def fetch(sf: Any) -> dict[str, Any]:
            return dict(sf.query_more(url, identifier_is_url=True))

        return self.client.call("child query", fetch)

    # -- Bulk 2.0 ---------------------------------------------------------------------

    def _large(self, sobject: str, wm: datetime | None, upper: datetime) -> bool:
        threshold = self.settings.bulk_threshold
        if threshold is None:
            return False
        body = self.client.call("count", lambda sf: sf.query(soql.count(sobject, wm, upper)))
        return int(body.get("totalSize", 0)) >= threshold

    def _bulk(self, sobject: str, fields: list[str], query: str) -> Iterator[dict[str, Any]]:
        try:
            yield from self._bulk_once(sobject, query)
        except SessionExpired:
            # A token can expire during a long job: renew once and run the query again
            # (rows already handed out come again; the merge on Id absorbs them).
            self.client.renew()
            try:
                yield from self._bulk_once(sobject, query)
            except SessionExpired:
                raise FatalError(
                    f"Salesforce Bulk 2.0 query {sobject}: a fresh token was refused"
                ) from None

    def _bulk_once(self, sobject: str, query: str) -> Iterator[dict[str, Any]]:
        """One Bulk 2.0 queryAll job, driven call by call through the client (retries with
        backoff, token refresh, budget): the job is created, polled until it completes
        (at most ``bulk_job_timeout_seconds``), and its result pages fetched by locator,
        so a page that fails is fetched again from the same locator."""
        types = self.schema.field_types(sobject)
        job = self.client.call(
            "bulk2 query",
            lambda sf: _bulk2(sf, sobject).create_job(Operation.query_all, query),
        )
        job_id = str(job["id"])
        self._wait_for_job(sobject, job_id)
        seen: tuple[datetime, str] | None = None
        locator = ""
        while True:
            at = locator  # a failed page is fetched again from the same locator

            def fetch(sf: Any, at: str = at) -> Any:
                return _bulk2(sf, sobject).get_query_results(job_id, at, BULK_PAGE_SIZE)

            page = self.client.call("bulk2 results", fetch)
            for raw in csv.DictReader(io.StringIO(page["records"])):
                row: dict[str, Any] = {"attributes": {"type": sobject}}
                row.update(
                    {name: _typed(value, types.get(name, "string")) for name, value in raw.items()}
                )
                stamp = parse_datetime(row["SystemModstamp"])
                assert stamp is not None
                key = (stamp, str(row["Id"]))
                seen = key if seen is None or key > seen else seen
                yield row
            locator = str(page.get("locator") or "")
            if not locator:
                break
        # Unordered stream: the cursor moves only once everything was read.
        self.last = seen

    def _wait_for_job(self, sobject: str, job_id: str) -> None:
        poll = self.settings.bulk_poll_seconds
        limit = self.settings.bulk_job_timeout_seconds
        started, waited = time.monotonic(), 0.0
        while True:
            info = self.client.call(
                "bulk2 job", lambda sf: _bulk2(sf, sobject).get_job(job_id, True)
            )
            state = str(info.get("state"))
            if state == JobState.job_complete:
                return
            if state in (JobState.failed, JobState.aborted):
                raise bulk_job_failed(sobject, job_id, state, info.get("errorMessage"))
            if max(waited, time.monotonic() - started) >= limit:
                raise RetryableError(
                    f"Salesforce Bulk 2.0 query {sobject}: job {job_id} still {state} after "
                    f"{limit:g} s (bulk_job_timeout_seconds); the read stops and runs again "
                    "next time"
                )
            pause = min(poll, limit - waited)
            self.client.sleep(pause)
            waited += max(pause, 0.01)


#: Rows per Bulk 2.0 results page (the library's default, 50,000).
BULK_PAGE_SIZE = 50_000
_NO_SUCH_COLUMN = re.compile(r"No such column '([^']+)'")


def _bulk2(sf: Any, sobject: str) -> Any:
    """The library's Bulk 2.0 client for ``sobject`` (its call-by-call API, so our own
    retry, refresh and timeout apply to each request)."""
    return getattr(sf.bulk2, sobject)._client


def bulk_job_failed(sobject: str, job_id: str, state: str, message: object) -> BillbridgeError:
    """A Bulk 2.0 job that ended Failed or Aborted, as one of our errors."""
    text = str(message or "no error message")
    where = f"Salesforce Bulk 2.0 query {sobject} (job {job_id}) {state.lower()}: {text}"
    if "INVALID_FIELD" in text or "No such column" in text:
        column = _NO_SUCH_COLUMN.search(text)
        name = f"field {column.group(1)!r}" if column else "a field"
        return ConfigError(
            f"{where}. {name.capitalize()} of {sobject} does not exist or the integration "
            "user cannot see it (field-level security): fix the mapping or grant access"
        )
    if any(code in text for code in ("INVALID_TYPE", "MALFORMED_QUERY", "INVALID_QUERY")):
        return ConfigError(f"{where}. Check object and field names against describe()")
    return FatalError(f"{where}. The read stops; it runs again next time")


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "boolean":
        return value.lower() == "true"
    return value
