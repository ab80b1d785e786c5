"""HTTP side of :mod:`billbridge.testing.fake_netsuite`: status codes and bodies as NetSuite
sends them (204 + ``Location``, ``o:errorDetails``, SuiteQL pages, the M2M token endpoint);
customer payments settle the invoices they apply to (:mod:`.fake_netsuite_payments`)."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

import jwt

from billbridge.testing.fake_netsuite_payments import PaymentRefused, settle
from connectors.common import wire

if TYPE_CHECKING:
    from billbridge.testing.fake_netsuite import FakeNetSuite, Fault


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


class Handler(BaseHTTPRequestHandler):
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
        payload = b"" if body is None else wire.dumps(body).encode()
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left (timeout-after-commit faults)

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
            if fake.public_key is not None:  # the certificate mapped to the integration
                jwt.decode(
                    assertion,
                    fake.public_key,
                    algorithms=[header.get("alg", "")],
                    audience=claims.get("aud"),
                )
        except jwt.PyJWTError:
            return self._send(400, {"error": "invalid_grant"})
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

    def _unknown_fields(self, record_type: str, body: dict[str, Any]) -> str | None:
        """With ``X-NetSuite-PropertyNameValidation: error`` and a known schema, the first
        property the record type does not have (NetSuite otherwise ignores it silently)."""
        schema = self.server_fake.schemas.get(record_type)
        strict = (self.headers.get("X-NetSuite-PropertyNameValidation") or "").lower()
        if schema is None or strict != "error":
            return None
        known = set(schema.get("properties") or {}) | {"externalId"}
        return next((k for k in body if k not in known), None)

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
        unknown = self._unknown_fields(record_type, body)
        if unknown:
            return self._send(
                400,
                error_body(
                    400,
                    "NONEXISTENT_FIELD",
                    f"Invalid field name {unknown}. Provide a valid field name.",
                    unknown,
                ),
            )
        replace = {n for n in query.get("replace", "").split(",") if n}
        with fake._lock:
            if record_type == "customerPayment" and method in ("POST", "PUT"):
                try:  # the apply sublist settles invoices, as NetSuite checks it
                    records = fake.state.records
                    settle(
                        records.setdefault("invoice", {}),
                        existing,
                        body,
                        records.setdefault("creditMemo", {}),
                    )
                except PaymentRefused as refused:
                    return self._send(400, error_body(400, refused.code, refused.detail))
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
                data = {**merge_record(existing or {}, body, replace), "externalId": eid}
                new_id = fake.add(record_type, data)
                fake.state.upserts[eid] = fake.state.upserts.get(eid, 0) + 1
            elif method == "PATCH" and existing is not None:
                new_id = fake.add(record_type, merge_record(existing, body, replace))
            else:
                return self._send(404, error_body(404, "NONEXISTENT_ID", "no such record"))
        if fault is not None:  # committed, but the client gives up before we answer
            time.sleep(fault.delay_s)
        location = f"{fake.url}record/v1/{record_type}/{new_id}"
        return self._send(204, None, {"Location": location})


def _sublist(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("items"), list)


def merge_record(
    existing: dict[str, Any], body: dict[str, Any], replace: set[str]
) -> dict[str, Any]:
    """An update as NetSuite applies it: body fields overwrite; a sublist named in
    ``?replace=`` is replaced by the lines sent; any other sublist keeps its lines, a sent
    line with a ``line`` number (``doc`` on apply lines) updates that line and one without
    is added."""
    data = {**existing, **body}
    for name, value in body.items():
        old = existing.get(name)
        if name in replace or not (_sublist(value) and _sublist(old)):
            continue
        assert isinstance(old, dict)
        lines = [dict(line) for line in old["items"]]
        for line in value["items"]:
            at = next(
                (
                    n
                    for n, have in enumerate(lines)
                    if any(
                        line.get(k) is not None and have.get(k) == line.get(k)
                        for k in ("line", "doc")  # apply lines are keyed by document
                    )
                ),
                None,
            )
            if at is None:
                lines.append(dict(line))
            else:
                lines[at] = {**lines[at], **line}
        data[name] = {**old, **value, "items": lines}
    return data
