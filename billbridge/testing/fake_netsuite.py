"""A stateful loopback NetSuite (REST record API, SuiteQL, M2M token endpoint).

Real status codes and bodies: 204 + ``Location`` on create, 204 on ``PUT …/eid:`` and PATCH,
``o:errorDetails`` errors, 429 ``CONCURRENCY_LIMIT_EXCEEDED``, SuiteQL pages with
lower-cased columns, ``hasMore``/``offset``/``totalResults``, refusal of an offset that is
not a multiple of ``limit`` and a stop at the row ceiling (configurable). Faults are
scripted with :meth:`FakeNetSuite.fault`; counters and stored records are exposed for
assertions. Only the SuiteQL shapes billbridge generates are understood.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

TYPE_CODES = {
    "CustInvc": "invoice",
    "CustCred": "creditMemo",
    "CustPymt": "customerPayment",
    "SalesOrd": "salesOrder",
    "Journal": "journalEntry",
}
#: reference columns the connector's queries render as display text, not ids
DISPLAYED = {"currency", "terms", "subsidiary"}
TABLES = {"customer": "customer", "item": "serviceSaleItem", "subsidiary": "subsidiary"}


#: Credentials the fake accepts (it checks the header shape and realm, not the signature).
FAKE_TBA = {
    "consumer_key": "fake-ck",
    "consumer_secret": "fake-consumer-secret",
    "token_id": "fake-tk",
    "token_secret": "fake-token-secret",
}


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout_after_commit" | "401"
    method: str | None = None
    path_contains: str | None = None
    times: int = 1
    delay_s: float = 0.5


@dataclass
class Rejection:
    code: str
    detail: str
    path: str | None = None


@dataclass
class FakeState:
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    calls: list[tuple[str, str]] = field(default_factory=list)
    creates: dict[str, int] = field(default_factory=dict)  # externalId -> POST commits
    upserts: dict[str, int] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)


class FakeNetSuite:
    def __init__(
        self,
        *,
        account: str = "1234567_SB1",
        timezone: str = "America/Los_Angeles",
        ceiling: int = 100_000,
        token_lifetime_s: int = 3600,
        require_auth: bool = True,
        public_key: Any = None,
    ) -> None:
        """``public_key``: when given, client assertions must carry a valid signature."""
        self.account = account
        self.public_key = public_key
        self.tz = ZoneInfo(timezone)
        self.ceiling = ceiling
        self.token_lifetime_s = token_lifetime_s
        self.require_auth = require_auth
        self.state = FakeState()
        self.faults: list[Fault] = []
        self.rejections: dict[str, Rejection] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeNetSuite:
        fake = self

        from billbridge.testing.fake_netsuite_http import Handler as BaseHandler

        class Handler(BaseHandler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/services/rest/"

    def settings(self, **overrides: Any) -> Any:
        """``NetSuiteSettings`` (TBA, no key material needed) pointing at this fake, with
        no retry spacing; pass ``auth=M2MAuth(...)`` to exercise the token endpoint."""
        from connectors.netsuite.settings import NetSuiteSettings, TBAAuth

        fields: dict[str, Any] = {
            "account": self.account,
            "account_timezone": str(self.tz),
            "base_url": self.url,
            "auth": TBAAuth(**FAKE_TBA),
            "retry_wait_s": 0.0,
            "read_timeout_s": 5.0,
            "suiteql_ceiling": self.ceiling,
        }
        fields.update(overrides)
        return NetSuiteSettings(**fields)

    # -- scripting --------------------------------------------------------------------
    def add(
        self, record_type: str, data: dict[str, Any], *, modified: datetime | None = None
    ) -> str:
        with self._lock:
            record_id = str(data.get("id") or self._new_id())
            stamp = (modified or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
            body = {
                **data,
                "id": record_id,
                "lastModifiedDate": stamp.isoformat().replace("+00:00", "Z"),
            }
            self.state.records.setdefault(record_type, {})[record_id] = body
            return record_id

    def fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
        delay_s: float = 0.5,
    ) -> None:
        with self._lock:
            self.faults.append(Fault(kind, method, path_contains, times, delay_s))

    def reject(self, external_id: str, code: str, detail: str, path: str | None = None) -> None:
        self.rejections[external_id] = Rejection(code, detail, path)

    def expire_tokens(self) -> None:
        with self._lock:
            self.state.tokens.clear()

    def count(self, method: str, contains: str = "") -> int:
        return sum(1 for m, p in self.state.calls if m == method and contains in p)

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        for body in self.state.records.get(record_type, {}).values():
            if body.get("externalId") == external_id:
                return body
        return None

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method in (None, method) and (
                    fault.path_contains is None or fault.path_contains in path
                ):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- SuiteQL ----------------------------------------------------------------------
    def run_suiteql(self, query: str) -> list[dict[str, Any]]:
        table = re.search(r"\bFROM (\w+) (\w+)", query)
        if not table:
            raise ValueError("unsupported query")
        name = table.group(1)
        if name == "transaction":
            code = re.search(r"\.type = '(\w+)'", query)
            types = [TYPE_CODES[code.group(1)]] if code else list(TYPE_CODES.values())
        else:
            types = [TABLES[name]]
        aliases = re.findall(r"\bt\.(\w+) AS (\w+)", query.split(" FROM ", 1)[0])
        rows = []
        for record_type in types:
            for body in self.state.records.get(record_type, {}).values():
                row = self._row(body)
                for column, alias in aliases:
                    row[alias] = _column(body, column)
                rows.append(row)
        lower = re.search(r"lastmodifieddate >= TO_TIMESTAMP\('([^']+)'", query)
        after = re.search(r"\.id > (\d+)", query)
        ext = re.search(r"\.externalid IN \(([^)]*)\)", query)
        tranid = re.search(r"\.tranid = '([^']+)'", query)
        tranids = re.search(r"\.tranid IN \(((?:'(?:[^']|'')*'(?:, )?)+)\)", query)
        if lower:
            rows = [r for r in rows if r["lastmodified"] >= lower.group(1)]
        if after:
            rows = [r for r in rows if int(r["id"]) > int(after.group(1))]
        if ext:
            wanted = {v.strip().strip("'") for v in ext.group(1).split(",")}
            rows = [r for r in rows if r.get("externalid") in wanted]
        if tranid:
            rows = [r for r in rows if r.get("tranid") == tranid.group(1)]
        if tranids:
            wanted = {v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", tranids[1])}
            rows = [r for r in rows if r.get("tranid") in wanted]
        return sorted(rows, key=lambda r: int(r["id"]))

    def _row(self, body: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"links": []}
        for key, value in body.items():
            if isinstance(value, dict) and key in DISPLAYED:
                row[key.lower()] = value.get("refName")  # BUILTIN.DISPLAY / cur.symbol
            elif isinstance(value, dict):
                row[key.lower()] = value.get("id")
            elif isinstance(value, bool):
                row[key.lower()] = "T" if value else "F"  # SuiteQL booleans are T/F
            elif not isinstance(value, list):
                row[key.lower()] = value if value is None else str(value)
        modified = datetime.fromisoformat(body["lastModifiedDate"].replace("Z", "+00:00"))
        row["lastmodified"] = modified.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
        row.pop("lastmodifieddate", None)
        return row


#: SuiteQL columns whose REST body field has another name
_BODY_FIELD = {"foreignamountremaining": "amountremaining"}


def _column(body: dict[str, Any], column: str) -> Any:
    """A transaction column as SuiteQL returns it: references as their internal id."""
    wanted = _BODY_FIELD.get(column, column)
    for key, value in body.items():
        if key.lower() == wanted:
            if isinstance(value, dict):
                return value.get("id")
            return value if value is None else str(value)
    return None


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    from billbridge.testing.fake_netsuite_http import error_body as build

    return build(status, code, detail, path)
