"""Connector-level fakes for the sync tests: a CRM source and a fault-injecting billing target.

``FakeTarget`` holds accounts and subscriptions the way the Zuora Orders payloads (and the
NetSuite upserts) describe them, counts every executed create per external id (so a
duplicate create is visible), and injects faults from a queue: one fault per ``write`` call.
Idempotency-key replay is off by default, as after Zuora's 24 h key expiry, so only
read-before-retry protects against duplicates.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from billbridge.errors import FatalError, RecordRejected, RetryableError
from canonical import (
    Contract,
    ContractLine,
    Customer,
    Money,
    Record,
    ResultStatus,
    Subscription,
    SubscriptionCharge,
    WriteIntent,
    WriteResult,
)
from connectors.base import CheckReport, Connector, Cursor, FieldInfo, ReadStream

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class FakeSource(Connector):
    """CRM records by entity; ``read`` returns those updated after the cursor watermark."""

    system = "salesforce"

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Record]] = {"customer": {}, "contract": {}}
        self.tick = 0
        self.reads = 0

    def put(self, entity: str, record: Record) -> Record:
        self.tick += 1
        rec = record.model_copy(
            update={
                "updated_at": T0 + timedelta(minutes=self.tick),
                "source_version": str(self.tick),
            }
        )
        self.records[entity][rec.source_id] = rec
        return rec

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        self.reads += 1
        recs = sorted(
            self.records.get(entity, {}).values(), key=lambda r: (r.updated_at or T0, r.source_id)
        )
        if since is not None and since.watermark is not None:
            recs = [r for r in recs if (r.updated_at or T0) > since.watermark]
        if limit is not None:
            recs = recs[:limit]
        last = recs[-1] if recs else None

        def final() -> Cursor | None:
            if last is None:
                return since
            return Cursor(watermark=last.updated_at, last_id=last.source_id)

        return ReadStream(iter(recs), final)

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        return {i: self.records[entity][i] for i in external_ids if i in self.records[entity]}

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        raise NotImplementedError("the fake CRM is read-only")

    def check(self) -> CheckReport:
        return CheckReport(ok=True, system=self.system, authenticated=True)

    def describe(self, entity: str) -> list[FieldInfo]:
        return []


class FakeTarget(Connector):
    """In-memory billing system with a fault queue (see module docstring)."""

    system = "zuora"

    def __init__(
        self, *, replay: bool = False, latency: float = 0.0, line_ids: bool = True
    ) -> None:
        #: whether lookups report our contract line id on charges (a charge custom field)
        self.line_ids = line_ids
        self.accounts: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.creates: Counter[str] = Counter()
        self.duplicate_creates: Counter[str] = Counter()
        self.write_calls = 0
        self.lookup_calls = 0
        self.intents_seen = 0
        self.faults: list[str] = []
        self.reject_ids: set[str] = set()
        self.replay = replay
        self.latency = latency
        self._keys: dict[str, WriteResult] = {}
        self.applied_keys: dict[str, str] = {}
        self.find_applied_calls = 0
        self._lock = threading.Lock()

    # -- faults ---------------------------------------------------------------------
    def _next_fault(self) -> str | None:
        with self._lock:
            return self.faults.pop(0) if self.faults else None

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        if self.latency:
            import time

            time.sleep(self.latency)
        with self._lock:
            self.write_calls += 1
            self.intents_seen += len(intents)
        fault = self._next_fault()
        if fault == "5xx":
            raise RetryableError("HTTP 503 from fake target")
        if fault == "429":
            raise RetryableError("HTTP 429 REQUEST_EXCEEDED_LIMIT", retry_after=0.01)
        if fault == "409":
            raise RetryableError("HTTP 409 same idempotency key in flight", retry_after=0.01)
        if fault == "401":
            raise FatalError("HTTP 401 invalid credentials")
        if fault == "batch_reject" and len(intents) > 0:
            raise RecordRejected("HTTP 400 batch refused", code="INVALID_CONTENT")
        with self._lock:
            results = [self._apply(i) for i in intents]
        if fault in ("timeout", "timeout_after_commit"):
            raise TimeoutError("read timed out (the write was committed)")
        return results

    # -- state changes ------------------------------------------------------------------
    def _apply(self, intent: WriteIntent) -> WriteResult:
        key = intent.idempotency_key
        if self.replay and key in self._keys:
            return self._keys[key]
        if intent.external_id in self.reject_ids:
            res = WriteResult(
                idempotency_key=key,
                status=ResultStatus.REJECTED,
                error_code="53100320",
                message="value refused",
            )
        else:
            res = self._mutate(intent)
        self._keys[key] = res
        return res

    def _ok(self, intent: WriteIntent, target_id: str) -> WriteResult:
        return WriteResult(
            idempotency_key=intent.idempotency_key, status=ResultStatus.APPLIED, target_id=target_id
        )

    def _reject(self, intent: WriteIntent, msg: str) -> WriteResult:
        return WriteResult(
            idempotency_key=intent.idempotency_key,
            status=ResultStatus.REJECTED,
            error_code="50000040",
            message=msg,
        )

    def _mutate(self, intent: WriteIntent) -> WriteResult:
        ext, p = intent.external_id, intent.payload
        if intent.entity in ("customer", "account"):
            if intent.op == "create" and ext in self.accounts:
                self.duplicate_creates[ext] += 1
                return self._reject(intent, "account number exists")
            if intent.op == "create":
                self.creates[ext] += 1
            elif intent.op == "update" and ext not in self.accounts:
                return self._reject(intent, "no such account")
            self.accounts[ext] = copy.deepcopy(p)
            return self._ok(intent, ext)
        if intent.entity == "contract":
            if ext not in self.subscriptions:
                self.creates[ext] += 1
            self.subscriptions[ext] = {"account": p["entity"]["externalId"], "order": p}
            return self._ok(intent, ext)
        kind, body = intent.action, p["body"]
        if p["accountNumber"] not in self.accounts:
            return self._reject(intent, "Cannot find entity by key")
        if kind == "CreateSubscription":
            if ext in self.subscriptions:
                self.duplicate_creates[ext] += 1
                return self._reject(intent, "subscription number exists")
            self.creates[ext] += 1
            spec = body["createSubscription"]
            self.subscriptions[ext] = {
                "account": p["accountNumber"],
                "status": "active",
                "terms": spec["terms"],
                "renewals": 0,
                "lines": {rp["uniqueToken"]: _charge(rp) for rp in spec["subscribeToRatePlans"]},
            }
            self.applied_keys[intent.idempotency_key] = ext
            return self._ok(intent, ext)
        sub = self.subscriptions.get(ext)
        if sub is None:
            return self._reject(intent, "Cannot find entity by key")
        if kind == "AddProduct":
            rp = body["addProduct"]
            sub["lines"][rp["uniqueToken"]] = _charge(rp)
        elif kind == "UpdateProduct":
            spec = body["updateProduct"]
            pricing = spec["chargeUpdates"][0]["pricing"]["recurringPerUnit"]
            sub["lines"][spec["uniqueToken"]].update(
                qty=pricing["quantity"], price=pricing["listPrice"]
            )
        elif kind == "RemoveProduct":
            sub["lines"].pop(body["removeProduct"]["uniqueToken"], None)
        elif kind == "TermsAndConditions":
            sub["terms"] = {
                "initialTerm": body["termsAndConditions"]["lastTerm"],
                "autoRenew": body["termsAndConditions"]["autoRenew"],
            }
        elif kind == "RenewSubscription":
            sub["renewals"] += 1
        elif kind == "CancelSubscription":
            sub["status"] = "cancelled"
        # like Zuora's order-action custom field holding our key: findable afterwards
        self.applied_keys[intent.idempotency_key] = ext
        return self._ok(intent, ext)

    # -- reads ------------------------------------------------------------------------
    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        with self._lock:
            self.lookup_calls += 1
            out: dict[str, Record] = {}
            for ext in external_ids:
                if entity in ("customer", "account") and ext in self.accounts:
                    out[ext] = Customer(
                        source_system="zuora",
                        source_id=ext,
                        name=self.accounts[ext].get("name", ext),
                    )
                elif ext in self.subscriptions:
                    sub = self.subscriptions[ext]
                    out[ext] = Subscription(
                        source_system="zuora",
                        source_id=ext,
                        subscription_number=ext,
                        customer_id=sub["account"],
                        currency="USD",
                        term_start=date(2025, 1, 1),
                        charges=tuple(
                            SubscriptionCharge(
                                charge_number=f"C-{lid}",
                                sku=c.get("sku", "x"),
                                quantity=Decimal(c["qty"]),
                                unit_price=Money(c["price"], "USD"),
                                contract_line_id=lid if self.line_ids else None,
                            )
                            for lid, c in sub.get("lines", {}).items()
                        ),
                    )
            return out

    def find_applied(self, intents: Sequence[WriteIntent]) -> dict[str, str]:
        """Keys of these intents whose order action exists (Zuora: the key custom field)."""
        with self._lock:
            self.find_applied_calls += 1
            return {
                i.idempotency_key: self.applied_keys[i.idempotency_key]
                for i in intents
                if i.idempotency_key in self.applied_keys
            }

    def state(self) -> dict[str, Any]:
        return {
            "accounts": copy.deepcopy(self.accounts),
            "subscriptions": copy.deepcopy(self.subscriptions),
        }

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        raise NotImplementedError

    def check(self) -> CheckReport:
        return CheckReport(ok=True, system=self.system, authenticated=True)

    def describe(self, entity: str) -> list[FieldInfo]:
        return []


def _charge(rate_plan: dict[str, Any]) -> dict[str, Any]:
    pricing = rate_plan["chargeOverrides"][0]["pricing"]["recurringPerUnit"]
    return {
        "sku": rate_plan["productRatePlanId"],
        "qty": pricing["quantity"],
        "price": pricing["listPrice"],
    }


# -- record builders ------------------------------------------------------------------
def customer(cid: str, name: str = "Acme Ltd", **kw: Any) -> Customer:
    return Customer(source_system="salesforce", source_id=cid, name=name, currency="USD", **kw)


def line(lid: str, qty: str = "1", price: str = "10.00", sku: str = "SKU-A") -> ContractLine:
    return ContractLine(
        line_id=lid, sku=sku, quantity=Decimal(qty), net_unit_price=Money(price, "USD")
    )


def contract(cid: str, cust: str, lines: Sequence[ContractLine] = (), **kw: Any) -> Contract:
    base: dict[str, Any] = {
        "start_date": date(2025, 1, 1),
        "end_date": date(2025, 12, 31),
        "term_months": 12,
    }
    base.update(kw)
    return Contract(
        source_system="salesforce",
        source_id=cid,
        customer_id=cust,
        currency="USD",
        lines=tuple(lines or [line("L1")]),
        **base,
    )
