"""A stateful loopback fake of a Salesforce org over HTTPS (simple-salesforce only speaks
https): OAuth token endpoint, describe, limits, query/queryAll with ``nextRecordsUrl``
paging, Collections upsert with per-record results, single upsert with HTTP 300, and
``Sforce-Limit-Info`` on every response.

Faults for :meth:`fail_next`: ``"401"`` (INVALID_SESSION_ID), ``"503"``, ``"lock"``
(UNABLE_TO_LOCK_ROW), ``"query_timeout"``, ``"request_limit"`` (daily quota) and
``"timeout_after_commit"``. ``SELECT DefaultCurrencyIsoCode FROM Organization`` answers
:attr:`org_currency` (a 403 INSUFFICIENT_ACCESS when :attr:`org_readable` is false).
Point ``SalesforceSettings.ca_bundle`` at :attr:`ca_file`.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt

from billbridge.testing import LoopbackServer, Reply, Request
from billbridge.testing import fake_salesforce_soql as soql
from billbridge.testing.fake_salesforce_org import (
    BASE_FIELDS,
    CHILDREN,
    PREFIXES,
    describe_fields,
    loopback_certificate,
)


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, [{"message": message, "errorCode": code, "fields": []}])


class FakeSalesforce(LoopbackServer):
    scheme = "https"

    def __init__(
        self,
        *,
        consumer_key: str = "fake-key",
        consumer_secret: str = "fake-secret",  # noqa: S107
        username: str = "integration@example.com",
        api_version: str = "62.0",
        page_size: int = 2000,
        daily_limit: int = 15000,
        multi_currency: bool = False,
        cpq: bool = False,
        slow_seconds: float = 0.5,
        org_currency: str = "USD",
        org_readable: bool = True,
    ) -> None:
        super().__init__()
        self.consumer_key, self.consumer_secret, self.username = (
            consumer_key,
            consumer_secret,
            username,
        )
        self.version = api_version
        self.page_size, self.daily_limit, self.api_used = page_size, daily_limit, 0
        self.multi_currency, self.slow_seconds = multi_currency, slow_seconds
        self.org_currency, self.org_readable = org_currency, org_readable
        self.now = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
        self.tokens: set[str] = set()
        self.issued: list[str] = []
        self.custom_fields: dict[str, dict[str, str]] = {}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PREFIXES}
        if cpq:
            for name in ("SBQQ__Quote__c", "SBQQ__QuoteLine__c", "SBQQ__Subscription__c"):
                self.objects[name] = {}
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-sf-")
        self.ca_file = str(Path(self._tmp.name) / "cert.pem")
        self._key_file = str(Path(self._tmp.name) / "key.pem")
        self._make_certificate()

    # -- TLS --------------------------------------------------------------------------------

    def _make_certificate(self) -> None:
        cert, key = loopback_certificate()
        Path(self.ca_file).write_bytes(cert)
        Path(self._key_file).write_bytes(key)

    def make_server(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, self._key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()

    # -- state helpers -----------------------------------------------------------------------

    def add_field(self, sobject: str, name: str, kind: str = "string") -> None:
        self.custom_fields.setdefault(sobject, {})[name] = kind

    def _stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += dt.timedelta(seconds=seconds)

    def add(self, sobject: str, **fields: Any) -> str:
        with self.lock:
            prefix = PREFIXES.get(sobject, "a0X")
            record_id = fields.pop("Id", None) or f"{prefix}{uuid.uuid4().hex[:12].upper()}AAA"
            self.objects[sobject][record_id] = {
                "Id": record_id,
                "IsDeleted": False,
                "SystemModstamp": self._stamp(),
                **fields,
            }
            return record_id

    def touch(self, sobject: str, record_id: str, **fields: Any) -> None:
        with self.lock:
            self.objects[sobject][record_id].update(fields, SystemModstamp=self._stamp())

    def delete(self, sobject: str, record_id: str) -> None:
        self.touch(sobject, record_id, IsDeleted=True)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        base = f"/services/data/v{self.version}/"
        if request.path == "/services/oauth2/token":
            with self.lock:
                self.calls["POST /services/oauth2/token"] += 1
            return self._token(request)
        if not request.path.startswith(base):
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        rest = request.path[len(base) :].strip("/")
        route = "/".join(
            "{id}" if any(c.isdigit() for c in seg) else seg for seg in rest.split("/")
        )
        with self.lock:
            self.calls[f"{request.method} {route}"] += 1
            self.api_used += 1
            reply = self._serve(request, rest)
        reply.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_limit}"
        return reply

    def _serve(self, request: Request, rest: str) -> Reply:
        fault = self.take_fault(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if fault == "401" or token not in self.tokens:
            return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault == "503":
            return _error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if fault == "lock":
            return _error(
                400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
            )
        if fault == "query_timeout":
            return _error(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        if fault == "request_limit":
            return _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        parts = rest.split("/")
        try:
            reply = self._route(request, parts)
        except soql.SoqlError as exc:
            return _error(400, "MALFORMED_QUERY", str(exc))
        if fault == "timeout_after_commit":
            reply.delay = self.slow_seconds
        return reply

    def _route(self, request: Request, parts: list[str]) -> Reply:
        m = request.method
        match parts:
            case ["sobjects"] if m == "GET":
                return Reply(
                    200,
                    {
                        "encoding": "UTF-8",
                        "maxBatchSize": 200,
                        "sobjects": [
                            {"name": n, "label": n, "queryable": True, "custom": n.endswith("__c")}
                            for n in self.objects
                        ],
                    },
                )
            case ["sobjects", name, "describe"] if m == "GET":
                return self._describe(name)
            case ["limits"] if m == "GET":
                return Reply(
                    200,
                    {
                        "DailyApiRequests": {
                            "Max": self.daily_limit,
                            "Remaining": self.daily_limit - self.api_used,
                        }
                    },
                )
            case ["query" | "queryAll" as kind] if m == "GET":
                return self._query(
                    request.query["q"], include_deleted=kind == "queryAll", headers=request.headers
                )
            case ["query" | "queryAll", locator] if m == "GET":
                return self._more(locator)
            case ["composite", "sobjects", name, ext] if m == "PATCH":
                body = request.json()
                return Reply(200, [self._upsert_item(name, ext, r) for r in body["records"]])
            case ["composite", "sobjects"] if m == "PATCH":
                return Reply(200, [self._update_item(r) for r in request.json()["records"]])
            case ["sobjects", name, ext, value] if m == "PATCH":
                return self._upsert_one(name, ext, unquote(value), request.json() or {})
        return _error(404, "NOT_FOUND", "The requested resource does not exist")

    def _token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            ok = (
                form.get("client_id") == self.consumer_key
                and form.get("client_secret") == self.consumer_secret
            )
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = jwt.decode(form.get("assertion", ""), options={"verify_signature": False})
            ok = claims.get("iss") == self.consumer_key and claims.get("sub") == self.username
        else:
            ok = False
        if not ok:
            return Reply(
                400, {"error": "invalid_grant", "error_description": "authentication failure"}
            )
        token = f"00D!{uuid.uuid4().hex}"
        with self.lock:
            self.tokens.add(token)
            self.issued.append(token)
        return Reply(
            200,
            {
                "access_token": token,
                "instance_url": self.url,
                "token_type": "Bearer",
                "id": f"{self.url}/id/00D/005",
                "issued_at": "1714557600000",
                "signature": "x",
            },
        )

    def _describe(self, name: str) -> Reply:
        if name not in self.objects:
            return _error(404, "NOT_FOUND", f"The requested resource does not exist: {name}")
        fields = describe_fields(
            BASE_FIELDS.get(name, {"Name": "string"}),
            multi_currency=self.multi_currency,
            extra=self.custom_fields.get(name, {}),
        )
        children = [
            {"childSObject": child, "field": parent_field, "relationshipName": rel}
            for rel, (child, parent_field, parent) in CHILDREN.items()
            if parent == name
        ]
        return Reply(
            200, {"name": name, "label": name, "fields": fields, "childRelationships": children}
        )

    # -- query -------------------------------------------------------------------------------

    def _query(self, text: str, *, include_deleted: bool, headers: dict[str, str]) -> Reply:
        query = soql.parse(text)
        if query.sobject == "Organization":
            return self._organization(query)
        rows = [
            r
            for r in self.objects.get(query.sobject, {}).values()
            if (include_deleted or not r["IsDeleted"]) and soql.matches(r, query.where)
        ]
        if query.count:
            return Reply(200, {"totalSize": len(rows), "done": True, "records": []})
        if query.order:
            rows.sort(key=lambda r: soql.sort_key(r, query.order))
        out = [self._shape(query, r) for r in rows]
        size = self.page_size
        option = headers.get("Sforce-Query-Options", "")
        if option.startswith("batchSize="):
            size = min(size, int(option.split("=", 1)[1]))
        locator = f"01g{uuid.uuid4().hex[:12]}"
        self._cursors[locator] = out
        return self._page(locator, 0, size, len(out))

    def _organization(self, query: soql.Query) -> Reply:
        if not self.org_readable:
            return _error(
                403, "INSUFFICIENT_ACCESS", "insufficient access rights on object Organization"
            )
        fields = {"DefaultCurrencyIsoCode": self.org_currency, "Id": "00DFAKE0000000AAA"}
        for name in query.fields:
            if name not in fields:
                raise soql.SoqlError(f"No such column '{name}' on entity 'Organization'")
        url = f"/services/data/v{self.version}/sobjects/Organization/{fields['Id']}"
        record: dict[str, Any] = {"attributes": {"type": "Organization", "url": url}}
        record.update({name: fields[name] for name in query.fields})
        return Reply(200, {"totalSize": 1, "done": True, "records": [record]})

    def _shape(self, query: soql.Query, row: dict[str, Any]) -> dict[str, Any]:
        url = f"/services/data/v{self.version}/sobjects/{query.sobject}/{row['Id']}"
        shaped: dict[str, Any] = {"attributes": {"type": query.sobject, "url": url}}
        known = self._known(query.sobject)
        shaped.update(self._select(query.sobject, row, query.fields, known))
        if query.child:
            rel, fields = query.child
            child, parent_field, _parent = CHILDREN[rel]
            child_known = self._known(child)
            lines = [
                {
                    "attributes": {"type": child},
                    **self._select(child, r, fields, child_known),
                }
                for r in self.objects[child].values()
                if r.get(parent_field) == row["Id"] and not r["IsDeleted"]
            ]
            shaped[rel] = (
                {"totalSize": len(lines), "done": True, "records": lines} if lines else None
            )
        return shaped

    def _known(self, sobject: str) -> dict[str, str]:
        return {
            f["name"]: f["type"]
            for f in describe_fields(
                BASE_FIELDS.get(sobject, {"Name": "string"}),
                multi_currency=self.multi_currency,
                extra=self.custom_fields.get(sobject, {}),
            )
        }

    def _select(
        self, sobject: str, row: dict[str, Any], fields: list[str], known: dict[str, str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in fields:
            value = self._value(sobject, row, name, known)
            if "." in name:
                parent = name.split(".", 1)[0]
                if value is None:
                    out[parent] = None
                elif isinstance(out.get(parent), dict):
                    out[parent].update(value)
                else:
                    out[parent] = value
            else:
                out[name] = value
        return out

    def _value(self, sobject: str, row: dict[str, Any], name: str, known: dict[str, str]) -> Any:
        if "." in name:  # parent lookup, e.g. Product2.ProductCode
            parent, field_name = name.split(".", 1)
            if f"{parent}Id" not in known or field_name not in self._known(parent):
                raise soql.SoqlError(f"No such column '{name}' on entity '{sobject}'")
            ref = self.objects.get(parent, {}).get(row.get(f"{parent}Id") or "")
            if ref is None:
                return None
            return {"attributes": {"type": parent}, field_name: ref.get(field_name)}
        if name not in known:
            raise soql.SoqlError(f"No such column '{name}' on entity '{sobject}'")
        if known[name] == "address":
            prefix = name.removesuffix("Address")
            parts = {
                "street": "Street",
                "city": "City",
                "state": "State",
                "postalCode": "PostalCode",
                "country": "Country",
                "countryCode": "CountryCode",
            }
            return {k: row.get(f"{prefix}{v}") for k, v in parts.items()}
        return row.get(name)

    def _page(self, locator: str, offset: int, size: int, total: int) -> Reply:
        rows = self._cursors[locator]
        chunk = rows[offset : offset + size]
        body: dict[str, Any] = {
            "totalSize": total,
            "done": offset + size >= total,
            "records": chunk,
        }
        if not body["done"]:
            body["nextRecordsUrl"] = (
                f"/services/data/v{self.version}/query/{locator}-{offset + size}:{size}"
            )
        return Reply(200, body)

    def _more(self, locator: str) -> Reply:
        name, _, rest = locator.partition("-")
        offset, _, size = rest.partition(":")
        if name not in self._cursors:
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(name, int(offset), int(size or self.page_size), len(self._cursors[name]))

    # -- writes ------------------------------------------------------------------------------

    def _matches(self, name: str, ext: str, value: Any) -> list[dict[str, Any]]:
        return [
            r for r in self.objects[name].values() if r.get(ext) == value and not r["IsDeleted"]
        ]

    def _upsert_item(self, name: str, ext: str, record: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in record.items() if k != "attributes"}
        found = self._matches(name, ext, fields.get(ext))
        if len(found) > 1:
            return {
                "success": False,
                "errors": [
                    {
                        "statusCode": "DUPLICATE_EXTERNAL_ID",
                        "message": f"{ext}: more than one record found for external id field",
                        "fields": [ext],
                    }
                ],
            }
        if any(isinstance(v, str) and v == "" for k, v in fields.items() if k == "Name"):
            return {
                "success": False,
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [Name]",
                        "fields": ["Name"],
                    }
                ],
            }
        if found:
            self.touch(name, found[0]["Id"], **fields)
            return {"id": found[0]["Id"], "success": True, "errors": [], "created": False}
        return {"id": self.add(name, **fields), "success": True, "errors": [], "created": True}

    def _update_item(self, record: dict[str, Any]) -> dict[str, Any]:
        name = record["attributes"]["type"]
        row = self.objects.get(name, {}).get(record["id"])
        if row is None:
            return {
                "success": False,
                "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}],
            }
        self.touch(
            name, record["id"], **{k: v for k, v in record.items() if k not in {"attributes", "id"}}
        )
        return {"id": record["id"], "success": True, "errors": []}

    def _upsert_one(self, name: str, ext: str, value: str, fields: dict[str, Any]) -> Reply:
        found = self._matches(name, ext, value)
        if len(found) > 1:
            return Reply(
                300, [f"/services/data/v{self.version}/sobjects/{name}/{r['Id']}" for r in found]
            )
        if found:
            self.touch(name, found[0]["Id"], **fields)
            return Reply(
                200, {"id": found[0]["Id"], "success": True, "errors": [], "created": False}
            )
        return Reply(
            201,
            {
                "id": self.add(name, **{ext: value, **fields}),
                "success": True,
                "errors": [],
                "created": True,
            },
        )
