"""A stateful loopback fake of the Zuora v1 API (OAuth, accounts, subscriptions, Orders,
invoices, payments (read, and created against invoices), credit memos, ZOQL, describe) with
Zuora's idempotency semantics.

Faults for :meth:`fail_next`: ``"429"``, ``"500"``, ``"503"``, ``"401"`` (token expired),
``"reject"`` (HTTP 200 ``success: false``, category 20), ``"in_flight"`` (409 for a keyed
request) and ``"timeout_after_commit"`` (commit, then answer after ``slow_seconds``).
Timestamps are naive tenant-time strings from a fake clock (:meth:`advance`).
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from billbridge.testing import LoopbackServer, Reply, Request
from billbridge.testing.fake_zuora_orders import OrderBook, OrderError
from billbridge.testing.fake_zuora_payments import PaymentDesk
from billbridge.testing.fake_zuora_query import COND, ZOQL, describe_xml, holds

KEY_TTL = timedelta(hours=24)


def _fail(code: int, message: str, status: int = 200) -> Reply:
    return Reply(
        status,
        {"success": False, "processId": "FAKE", "reasons": [{"code": code, "message": message}]},
    )


class FakeZuora(LoopbackServer):
    def __init__(
        self,
        *,
        client_id: str = "fake-client",
        client_secret: str = "fake-secret",  # noqa: S107 - a test double's own credential
        token_lifetime: int = 3600,
        zoql_batch: int = 2000,
        slow_seconds: float = 0.5,
        now: datetime | None = None,
        timezone: str = "America/Los_Angeles",
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.zoql_batch = zoql_batch
        self.slow_seconds = slow_seconds
        self.zone = ZoneInfo(timezone)
        self.now = now or datetime(2024, 6, 13, 14, 58, 7)  # noqa: DTZ001 - tenant-local, naive
        self.tokens: dict[str, datetime] = {}
        self.issued: list[str] = []
        self.book = OrderBook(self._stamp)
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.credit_memos: dict[str, dict[str, Any]] = {}
        self.payment_desk = PaymentDesk(self.book, self.invoices, self.payments, self._stamp)
        self.idempotency: dict[str, tuple[datetime, str, Reply]] = {}
        self.in_flight: set[str] = set()
        self.replays = 0
        self.track_ids: list[str] = []
        self.rate_limit = 50_000
        self._locators: dict[str, list[dict[str, Any]]] = {}

    # -- state helpers for tests --------------------------------------------------------

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return self.book.accounts

    @property
    def subscriptions(self) -> dict[str, list[dict[str, Any]]]:
        return self.book.subscriptions

    @property
    def orders(self) -> dict[str, dict[str, Any]]:
        return self.book.orders

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += timedelta(seconds=seconds)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def _stamp(self) -> str:
        return self.now.strftime("%Y-%m-%d %H:%M:%S")

    def add_account(
        self, number: str, name: str, currency: str = "USD", **fields: Any
    ) -> dict[str, Any]:
        with self.lock:
            return self.book.add_account(number, name, currency, **fields)

    def add_product(self, rate_plan_id: str, sku: str, charges: list[dict[str, Any]]) -> None:
        with self.lock:
            self.book.catalog[rate_plan_id] = {"productSku": sku, "charges": charges}

    def add_invoice(
        self, number: str, account: str, amount: str, items: list[dict[str, Any]], **f: Any
    ) -> None:
        with self.lock:
            total = Decimal(amount)
            tax = sum((Decimal(str(i.get("taxAmount", 0))) for i in items), Decimal(0))
            self.invoices[number] = {
                "id": uuid.uuid4().hex,
                "invoiceNumber": number,
                "accountNumber": account,
                "accountId": self.accounts[account]["basicInfo"]["id"],
                "invoiceDate": f.get("invoiceDate", "2024-06-01"),
                "dueDate": f.get("dueDate", "2024-07-01"),
                "currency": f.get("currency", "USD"),
                "amount": total,
                "amountWithoutTax": total - tax,
                "taxAmount": tax,
                "balance": Decimal(f.get("balance", amount)),
                "status": f.get("status", "Posted"),
                "updatedDate": f.get("updatedDate", self._stamp()),
                "createdDate": self._stamp(),
                "_items": [{"id": uuid.uuid4().hex, **i} for i in items],
            }

    def add_payment(self, number: str, account: str, amount: str, **f: Any) -> None:
        with self.lock:
            self.payments[number] = {
                "id": uuid.uuid4().hex,
                "number": number,
                "accountNumber": account,
                "accountId": self.accounts[account]["basicInfo"]["id"],
                "amount": Decimal(amount),
                "currency": f.get("currency", "USD"),
                "effectiveDate": f.get("effectiveDate", "2024-06-05"),
                "status": "Processed",
                "type": "External",
                "referenceId": f.get("referenceId"),
                "updatedDate": f.get("updatedDate", self._stamp()),
            }

    def add_credit_memo(self, number: str, account: str, amount: str, **f: Any) -> None:
        with self.lock:
            self.credit_memos[number] = {
                "id": uuid.uuid4().hex,
                "number": number,
                "accountNumber": account,
                "accountId": self.accounts[account]["basicInfo"]["id"],
                "amount": Decimal(amount),
                "taxAmount": Decimal(0),
                "balance": Decimal(amount),
                "currency": f.get("currency", "USD"),
                "creditMemoDate": f.get("creditMemoDate", "2024-06-10"),
                "status": "Posted",
                "reasonCode": "Correcting invoice error",
                "updatedDate": f.get("updatedDate", self._stamp()),
            }

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        route = "/".join(
            "{key}" if seg != "v1" and any(ch.isdigit() for ch in seg) else seg
            for seg in request.path.split("/")
        )
        with self.lock:
            self.calls[f"{request.method} {route}"] += 1
            self.rate_limit -= 1
        reply = self._handle(request)
        track = request.headers.get("Zuora-Track-Id")
        if track:
            self.track_ids.append(track)
            reply.headers["Zuora-Track-Id"] = track
        reply.headers.setdefault("RateLimit-Limit", "50000")
        reply.headers.setdefault("RateLimit-Remaining", str(max(self.rate_limit, 0)))
        reply.headers.setdefault("RateLimit-Reset", "30")
        reply.headers.setdefault("Concurrency-Limit-Type", "Default")
        reply.headers.setdefault("Concurrency-Limit-Limit", "40")
        reply.headers.setdefault("Concurrency-Limit-Remaining", "39")
        return reply

    def _handle(self, request: Request) -> Reply:
        if request.path == "/oauth/token":
            return self._token(request)
        fault = self.take_fault(request)
        if fault == "401" or not self._authorized(request):
            return _fail(90000011, "Authentication error", status=401)
        if fault in {"429", "500", "503"}:
            status = int(fault)
            body = (
                {"code": "REQUEST_EXCEEDED_LIMIT", "message": "too many requests"}
                if status == 429
                else {"message": "unavailable"}
            )
            return Reply(
                status, body, {"RateLimit-Reset": "1", "Retry-After": "1"} if status == 429 else {}
            )
        key = request.headers.get("Idempotency-Key")
        if key and request.method in {"POST", "PATCH"}:
            return self._idempotent(request, key, fault)
        if fault == "reject":
            return _fail(53100320, "'termType' value should be one of: TERMED, EVERGREEN")
        return self._route(request)

    def _idempotent(self, request: Request, key: str, fault: str | None) -> Reply:
        digest = hashlib.sha256(request.body).hexdigest()
        with self.lock:
            stored = self.idempotency.get(key)
            if stored and self.now - stored[0] >= KEY_TTL:
                del self.idempotency[key]
                stored = None
            if key in self.in_flight or fault == "in_flight":
                return _fail(
                    50000070, "a request with this idempotency key is in progress", status=409
                )
            if stored:
                if stored[1] != digest:
                    return _fail(
                        50000020, "idempotency key reused with a different request body", status=422
                    )
                self.replays += 1
                return copy.deepcopy(stored[2])
            self.in_flight.add(key)
        try:
            if fault == "reject":
                reply = _fail(53100320, "'termType' value should be one of: TERMED, EVERGREEN")
            else:
                reply = self._route(request)
            with self.lock:
                self.idempotency[key] = (self.now, digest, copy.deepcopy(reply))
        finally:
            with self.lock:
                self.in_flight.discard(key)
        if fault == "timeout_after_commit":
            reply.delay = self.slow_seconds
        return reply

    def _token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Reply(
                401, {"error": "invalid_client", "error_description": "Bad client credentials"}
            )
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = self.now + timedelta(seconds=self.token_lifetime)
            self.issued.append(token)
        return Reply(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "scope": "entity.1 platform.write",
                "jti": uuid.uuid4().hex,
            },
        )

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            expiry = self.tokens.get(token)
            return expiry is not None and self.now < expiry

    # -- routes ---------------------------------------------------------------------------

    def _route(self, request: Request) -> Reply:
        m, p = request.method, request.path
        parts = p.strip("/").split("/")
        with self.lock:
            try:
                if m == "POST" and p == "/v1/orders":
                    return Reply(200, {"success": True, **self.book.create_order(request.json())})
                if m == "POST" and p == "/v1/payments":
                    return Reply(200, self.payment_desk.create(request.body))
                if m == "POST" and p == "/v1/accounts":
                    return Reply(200, {"success": True, **self.book.create_account(request.json())})
                if m == "PUT" and parts[:2] == ["v1", "accounts"]:
                    self.book.update_account(parts[2], request.json())
                    return Reply(200, {"success": True})
                if m == "POST" and p == "/v1/action/query":
                    return self._zoql(request.json()["queryString"])
                if m == "POST" and p == "/v1/action/queryMore":
                    return self._more(request.json()["queryLocator"])
                if m == "GET":
                    return self._get(parts, request)
            except OrderError as exc:
                return _fail(exc.code, str(exc))
        return Reply(
            404, {"success": False, "reasons": [{"code": 50000040, "message": "no such route"}]}
        )

    def _get(self, parts: list[str], request: Request) -> Reply:
        book = self.book
        match parts[1:]:
            case ["accounts", key]:
                found = book.account(key)
                return (
                    Reply(200, {"success": True, **found})
                    if found
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["subscriptions", key]:
                versions = book.subscriptions.get(key) or next(
                    (v for v in book.subscriptions.values() if any(x["id"] == key for x in v)), None
                )
                return (
                    Reply(200, {"success": True, **versions[-1]})
                    if versions
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["orders", "subscription", number]:
                matching = [
                    o
                    for o in book.orders.values()
                    if any(s.get("subscriptionNumber") == number for s in o["subscriptions"])
                ]
                return self._page(request, matching, "orders")
            case ["orders", number]:
                order = book.orders.get(number)
                return (
                    Reply(200, {"success": True, "order": order})
                    if order
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["orders"]:
                return self._page(request, list(book.orders.values()), "orders")
            case ["invoices", key, "items"]:
                inv = next((i for i in self.invoices.values() if i["id"] == key), None)
                return (
                    self._page(request, inv["_items"], "invoiceItems")
                    if inv
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["invoices", key]:
                inv = self.invoices.get(key) or next(
                    (i for i in self.invoices.values() if i["id"] == key), None
                )
                return (
                    Reply(
                        200,
                        {
                            "success": True,
                            **{k: v for k, v in inv.items() if not k.startswith("_")},
                        },
                    )
                    if inv
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["payments", key]:
                pay = self.payments.get(key)
                return (
                    Reply(200, {"success": True, **pay})
                    if pay
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["creditmemos", key]:
                memo = self.credit_memos.get(key)
                return (
                    Reply(200, {"success": True, **memo})
                    if memo
                    else _fail(50000040, "Cannot find entity by key")
                )
            case ["creditmemos"]:
                memos = sorted(
                    self.credit_memos.values(),
                    key=lambda x: x["updatedDate"],
                    reverse=request.query.get("sort", "").startswith("-"),
                )
                return self._page(request, memos, "creditmemos")
            case ["describe", obj]:
                return Reply(200, describe_xml(obj), {"Content-Type": "text/xml; charset=utf-8"})
        return Reply(
            404, {"success": False, "reasons": [{"code": 50000040, "message": "no such route"}]}
        )

    def _page(self, request: Request, items: list[Any], key: str) -> Reply:
        size = int(request.query.get("pageSize", 20))
        page = int(request.query.get("page", 1))
        chunk = items[(page - 1) * size : page * size]
        body: dict[str, Any] = {"success": True, key: chunk}
        if page * size < len(items):
            query = "&".join(
                f"{k}={v}" for k, v in {**request.query, "page": page + 1, "pageSize": size}.items()
            )
            body["nextPage"] = f"{self.url}{request.path}?{query}"
        return Reply(200, body)

    # -- ZOQL -----------------------------------------------------------------------------

    def _zoql(self, query: str) -> Reply:
        match = ZOQL.match(query.strip())
        if not match:
            return Reply(
                400, {"Errors": [{"Code": "MALFORMED_QUERY", "Message": "cannot parse query"}]}
            )
        fields = [f.strip() for f in match["fields"].split(",")]
        conds = COND.findall(match["where"] or "")
        rows = [
            r for r in self.book.zoql_rows(match["obj"], self) if all(holds(r, c) for c in conds)
        ]
        rows = [{f: r.get(f) for f in fields} for r in rows]
        return self._batch(rows)

    def _batch(self, rows: list[dict[str, Any]]) -> Reply:
        head, rest = rows[: self.zoql_batch], rows[self.zoql_batch :]
        body: dict[str, Any] = {"records": head, "size": len(head), "done": not rest}
        if rest:
            locator = uuid.uuid4().hex
            self._locators[locator] = rest
            body["queryLocator"] = locator
        return Reply(200, body)

    def _more(self, locator: str) -> Reply:
        rows = self._locators.pop(locator, None)
        if rows is None:
            return Reply(
                400, {"Errors": [{"Code": "INVALID_VALUE", "Message": "invalid queryLocator"}]}
            )
        return self._batch(rows)
