"""A stateful loopback NetSuite (REST record API, SuiteQL, M2M token endpoint).

Real status codes and bodies: 204 + ``Location`` on create, 204 on ``PUT …/eid:`` and PATCH,
``o:errorDetails`` errors, 429 ``CONCURRENCY_LIMIT_EXCEEDED``, SuiteQL pages with
lower-cased columns, ``hasMore``/``offset``/``totalResults``, refusal of an offset that is
not a multiple of ``limit`` and a stop at the row ceiling (configurable). Faults are
scripted with :meth:`FakeNetSuite.fault`; counters and stored records are exposed for
assertions. Only the SuiteQL shapes billbridge generates are understood.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import jwt

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


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral() else int(value)
    raise TypeError(type(value).__name__)


class FakeNetSuite:
    def __init__(
        self,
        *,
        account: str = "1234567_SB1",
        timezone: str = "America/Los_Angeles",
        ceiling: int = 100_000,
        token_lifetime_s: int = 3600,
        require_auth: bool = True,
    ) -> None:
        self.account = account
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

        class Handler(_Handler):
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
        rows = []
        for record_type in types:
            for body in self.state.records.get(record_type, {}).values():
                rows.append(self._row(body))
        lower = re.search(r"lastmodifieddate >= TO_TIMESTAMP\('([^']+)'", query)
        after = re.search(r"\.id > (\d+)", query)
        ext = re.search(r"\.externalid IN \(([^)]*)\)", query)
        tranid = re.search(r"\.tranid = '([^']+)'", query)
        if lower:
            rows = [r for r in rows if r["lastmodified"] >= lower.group(1)]
        if after:
            rows = [r for r in rows if int(r["id"]) > int(after.group(1))]
        if ext:
            wanted = {v.strip().strip("'") for v in ext.group(1).split(",")}
            rows = [r for r in rows if r.get("externalid") in wanted]
        if tranid:
            rows = [r for r in rows if r.get("tranid") == tranid.group(1)]
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


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        item["o:errorPath"] = path
    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    return {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": titles.get(status, "Error"),
        "status": status,
        "o:errorDetails": [item],
    }


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeNetSuite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # -- plumbing ------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body, default=_json_default).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        fake = self.server_fake
        parsed = urlparse(self.path)
        path = unquote(parsed.path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        raw = self._body()
        with fake._lock:
            fake.state.calls.append((method, path))
        try:
            if path.endswith("/auth/oauth2/v1/token"):
                return self._token(raw)
            if fake.require_auth and not self._authorised():
                return self._send(401, error_body(401, "INVALID_LOGIN", "Invalid login attempt."))
            fault = fake.take_fault(method, path)
            if fault is not None and fault.kind != "timeout_after_commit":
                return self._fault(fault)
            rest = path.split("/services/rest/", 1)[-1]
            if rest.startswith("query/v1/suiteql") and method == "POST":
                return self._suiteql(raw, query)
            if rest.startswith("record/v1/metadata-catalog/"):
                return self._metadata(rest.rsplit("/", 1)[-1])
            if rest.startswith("record/v1/"):
                return self._record(method, rest[len("record/v1/") :], query, raw, fault)
            return self._send(404, error_body(404, "INVALID_URL", f"unknown path {path}"))
        except Exception as exc:  # noqa: BLE001 - a fake bug must be a 500, not a hang
            return self._send(500, error_body(500, "UNEXPECTED_ERROR", repr(exc)))

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if header.startswith("OAuth ") and "HMAC-SHA256" in header:
            return f'realm="{self.server_fake.account}"' in header
        if header.startswith("Bearer "):
            expiry = self.server_fake.state.tokens.get(header[7:])
            return expiry is not None and expiry > time.time()
        return False

    def _fault(self, fault: Fault) -> None:
        if fault.kind == "429":
            return self._send(
                429,
                error_body(
                    429,
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Concurrent request limit exceeded. Request blocked.",
                ),
            )
        if fault.kind == "401":
            return self._send(401, error_body(401, "INVALID_LOGIN", "Invalid login attempt."))
        return self._send(500, error_body(500, "UNEXPECTED_ERROR", "An unexpected error occurred."))

    def _token(self, raw: bytes) -> None:
        fake = self.server_fake
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return self._send(400, {"error": "invalid_request"})
        fake.state.token_requests.append({"header": header, "claims": claims, "form": form})
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_assertion_type", "").endswith("jwt-bearer")
            and header.get("kid")
            and header.get("alg", "").startswith(("PS", "ES"))
            and claims.get("aud", "").endswith("/auth/oauth2/v1/token")
            and 0 < claims["exp"] - claims["iat"] <= 3600
        )
        if not ok:
            return self._send(400, {"error": "invalid_grant"})
        token = uuid.uuid4().hex
        with fake._lock:
            fake.state.tokens[token] = time.time() + fake.token_lifetime_s
        return self._send(
            200,
            {"access_token": token, "token_type": "bearer", "expires_in": fake.token_lifetime_s},
        )

    def _suiteql(self, raw: bytes, query: dict[str, str]) -> None:
        fake = self.server_fake
        limit, offset = int(query.get("limit", 1000)), int(query.get("offset", 0))
        if limit < 1 or limit > 1000 or offset % limit:
            return self._send(
                400,
                error_body(
                    400,
                    "INVALID_PARAMETER",
                    "Invalid value for parameter offset: must be a multiple of limit.",
                ),
            )
        if offset >= fake.ceiling:
            return self._send(
                400,
                error_body(
                    400,
                    "INVALID_PARAMETER",
                    f"The offset {offset} exceeds the maximum number of results for a query.",
                ),
            )
        with fake._lock:
            rows = fake.run_suiteql(json.loads(raw)["q"])
        visible = rows[: fake.ceiling]
        page = visible[offset : offset + limit]
        return self._send(
            200,
            {
                "links": [],
                "count": len(page),
                "hasMore": offset + len(page) < len(visible),
                "items": page,
                "offset": offset,
                "totalResults": len(rows),
            },
        )

    def _metadata(self, record_type: str) -> None:
        if "schema+json" not in (self.headers.get("Accept") or ""):
            return self._send(400, error_body(400, "INVALID_PARAMETER", "Accept"))
        schema = self.server_fake.schemas.get(record_type)
        if schema is None:
            return self._send(404, error_body(404, "INVALID_RCRD_TYPE", "unknown record type"))
        return self._send(200, schema)

    def _record(
        self, method: str, rest: str, query: dict[str, str], raw: bytes, fault: Fault | None
    ) -> None:
        fake = self.server_fake
        parts = rest.split("/")
        record_type = parts[0]
        key = parts[1] if len(parts) > 1 else None
        store = fake.state.records.setdefault(record_type, {})
        if method == "GET" and key is None:
            items = [{"links": [], "id": i} for i in list(store)[: int(query.get("limit", 1000))]]
            return self._send(
                200,
                {
                    "links": [],
                    "count": len(items),
                    "hasMore": False,
                    "items": items,
                    "offset": 0,
                    "totalResults": len(store),
                },
            )
        existing = None
        if key is not None and key.startswith("eid:"):
            existing = fake.by_external_id(record_type, key[4:])
        elif key is not None:
            existing = store.get(key)
        if method == "GET":
            if existing is None:
                return self._send(
                    404,
                    error_body(
                        404,
                        "NONEXISTENT_ID",
                        "The record instance does not exist. Provide a valid record instance ID.",
                    ),
                )
            return self._send(200, existing)
        body = json.loads(raw or b"{}", parse_float=Decimal)
        eid = key[4:] if key and key.startswith("eid:") else body.get("externalId")
        if eid in fake.rejections:
            r = fake.rejections[eid]
            return self._send(400, error_body(400, r.code, r.detail, r.path))
        with fake._lock:
            if method == "POST":
                if eid and fake.by_external_id(record_type, eid):
                    return self._send(
                        400,
                        error_body(
                            400, "DUP_RCRD", "A record with this external ID already exists."
                        ),
                    )
                new_id = fake.add(record_type, body)
                fake.state.creates[eid or new_id] = fake.state.creates.get(eid or new_id, 0) + 1
            elif method == "PUT" and eid:
                data = {**(existing or {}), **body, "externalId": eid}
                new_id = fake.add(record_type, data)
                fake.state.upserts[eid] = fake.state.upserts.get(eid, 0) + 1
            elif method == "PATCH" and existing is not None:
                new_id = fake.add(record_type, {**existing, **body})
            else:
                return self._send(404, error_body(404, "NONEXISTENT_ID", "no such record"))
        if fault is not None:  # committed, but the client gives up before we answer
            time.sleep(fault.delay_s)
        location = f"{fake.url}record/v1/{record_type}/{new_id}"
        return self._send(204, None, {"Location": location})
