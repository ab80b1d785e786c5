"""Writes to Zuora: customer accounts, subscription order actions and cash-application
payments (:mod:`connectors.zuora.payment_writer`), one result per intent.

Every POST carries ``Idempotency-Key``. An order call that timed out is looked up first
(order action custom field holding the intent key, or the subscription's external-id
field for creates) and resent with the same key only when nothing was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from billbridge.errors import BillbridgeError, RecordRejected, RetryableError
from canonical import FailureType, ResultStatus, WriteIntent, WriteOp, WriteResult
from connectors.zuora import orders
from connectors.zuora.client import ZuoraClient
from connectors.zuora.errors import IdempotencyKeyReused, OutcomeUnknown, ZuoraRejected
from connectors.zuora.payment_writer import ZuoraPaymentWriter

log = structlog.get_logger(__name__)

#: Intents for Zuora billing accounts may name the canonical entity or Zuora's object.
ACCOUNT_ENTITIES = frozenset({"customer", "account"})


def _rejected(intent: WriteIntent, exc: BillbridgeError) -> WriteResult:
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=ResultStatus.REJECTED,
        error_code=getattr(exc, "code", None) or exc.__class__.__name__,
        message=str(exc),
        failure_type=exc.failure_type,
    )


def _outcome(intent: WriteIntent, exc: BillbridgeError) -> WriteResult:
    if isinstance(exc, RetryableError):
        return WriteResult(
            idempotency_key=intent.idempotency_key,
            status=ResultStatus.RETRYABLE,
            message=str(exc),
            failure_type=FailureType.TRANSIENT,
            retry_after=exc.retry_after,
        )
    if isinstance(exc, OutcomeUnknown):
        return WriteResult(
            idempotency_key=intent.idempotency_key,
            status=ResultStatus.UNKNOWN,
            message=str(exc),
            failure_type=FailureType.TRANSIENT,
        )
    return _rejected(intent, exc)


def _still_unknown(exc: OutcomeUnknown, lookup: BillbridgeError) -> OutcomeUnknown:
    """The write's outcome stays unknown when the read that should settle it failed."""
    return OutcomeUnknown(f"{exc}; the lookup failed too ({lookup.__class__.__name__})")


#: Sections of GET /v1/accounts/{key} that hold the PUT body's top-level scalar fields.
_ACCOUNT_SECTIONS = ("basicInfo", "billingAndPayment")


def _same(sent: Any, current: Any) -> bool:
    if sent is None or current is None:
        return sent is None and current in (None, "")
    if isinstance(sent, bool) or isinstance(current, bool):
        return sent == current
    return str(sent) == str(current)


def _account_matches(current: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Every field of an account PUT body reads back with the value sent (a field the read
    does not show cannot be confirmed, so it does not match)."""
    for field, value in sent.items():
        if isinstance(value, dict):
            section = current.get(field)
            if not isinstance(section, dict):
                return False
            if not all(_found_same(section, k, v) for k, v in value.items()):
                return False
            continue
        holders = [current.get(s) or {} for s in _ACCOUNT_SECTIONS] + [current]
        holder = next((h for h in holders if isinstance(h, dict) and field in h), {})
        if not _found_same(holder, field, value):
            return False
    return True


def _found_same(section: dict[str, Any], field: str, sent: Any) -> bool:
    if field not in section:
        return sent is None
    return _same(sent, section[field])


class ZuoraWriter:
    def __init__(self, client: ZuoraClient) -> None:
        self.client = client
        self.settings = client.settings
        self.payments = ZuoraPaymentWriter(client)

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        pending: list[WriteIntent] = []
        for intent in intents:
            if intent.entity in ACCOUNT_ENTITIES:
                results[intent.idempotency_key] = self._write_account(intent)
            elif intent.entity == "payment" and intent.op in (WriteOp.UPSERT, WriteOp.CREATE):
                results[intent.idempotency_key] = self.payments.write(intent)
            elif intent.entity == "subscription" and intent.op is WriteOp.ACTION:
                try:
                    orders.validate(intent)
                except RecordRejected as exc:
                    results[intent.idempotency_key] = _rejected(intent, exc)
                    continue
                pending.append(intent)
            else:
                results[intent.idempotency_key] = _rejected(
                    intent,
                    RecordRejected(
                        f"Zuora connector cannot {intent.op.value} {intent.entity!r}",
                        code="BB_UNSUPPORTED",
                    ),
                )
        # Build every order call before posting any: once one group is posted, nothing
        # may raise out of write() (a caller that splits and resends the batch would post
        # the applied actions again under new keys).
        calls: list[orders.OrderCall] = []
        for group in orders.chunk(pending):
            try:
                calls.append(self._build(group))
            except RecordRejected as exc:
                for intent in group:
                    results[intent.idempotency_key] = _rejected(intent, exc)
        for call in calls:
            for result in self._write_orders(call):
                results[result.idempotency_key] = result
        return [results[i.idempotency_key] for i in intents]

    # -- accounts ----------------------------------------------------------------------

    def _write_account(self, intent: WriteIntent) -> WriteResult:
        body = dict(intent.payload)
        body.setdefault("accountNumber", intent.external_id)
        try:
            exists = intent.op is not WriteOp.CREATE and self._account_exists(intent.external_id)
            if exists:
                return self._update_account(intent, body)
            if intent.op is WriteOp.UPDATE:
                raise RecordRejected(
                    f"Zuora account {intent.external_id} does not exist", code="50000040"
                )
            resp = self.client.request(
                "POST", "/v1/accounts", json=body, idempotency_key=intent.idempotency_key
            )
            return self._applied(intent, resp.get("accountNumber") or intent.external_id)
        except OutcomeUnknown as exc:
            # Read before retry: the account number is ours, so a GET settles it.
            try:
                exists = self._account_exists(intent.external_id)
            except BillbridgeError as lookup:
                return _outcome(intent, _still_unknown(exc, lookup))
            if exists:
                return self._applied(intent, intent.external_id, already=True)
            return _outcome(intent, exc)
        except (RecordRejected, RetryableError, IdempotencyKeyReused) as exc:
            return _outcome(intent, exc)

    def _update_account(self, intent: WriteIntent, body: dict[str, Any]) -> WriteResult:
        """PUT the account. A timed-out update is settled by reading the account back: it
        landed only if every field we sent reads back as sent. Otherwise the same PUT is
        sent once more (same body, so landing twice is harmless); a second timeout leaves
        the outcome unknown for a later lookup. (That the account exists proves nothing.)"""
        number = intent.external_id
        update = {k: v for k, v in body.items() if k != "accountNumber"}
        try:
            self.client.request("PUT", f"/v1/accounts/{number}", json=update)
        except OutcomeUnknown as exc:
            try:
                current = self.client.get(f"/v1/accounts/{number}")
            except BillbridgeError as lookup:
                return _outcome(intent, _still_unknown(exc, lookup))
            if _account_matches(current, update):
                log.warning("zuora.account_update_timeout_applied", account=number)
                return self._applied(intent, number, already=True)
            log.warning("zuora.account_update_timeout_resend", account=number)
            try:
                self.client.request("PUT", f"/v1/accounts/{number}", json=update)
            except (OutcomeUnknown, RetryableError):
                return _outcome(intent, exc)
        return self._applied(intent, number)

    def _account_exists(self, number: str) -> bool:
        try:
            self.client.get(f"/v1/accounts/{number}")
        except ZuoraRejected as exc:
            if exc.not_found:
                return False
            raise
        return True

    # -- orders ------------------------------------------------------------------------

    def _build(self, group: Sequence[WriteIntent]) -> orders.OrderCall:
        return orders.build(
            group,
            key_field=self.settings.order_action_key_field,
            ext_field=self.settings.subscription_external_id_field,
        )

    def _write_orders(self, call: orders.OrderCall) -> list[WriteResult]:
        group = list(call.intents)
        try:
            resp = self._post_order(call)
        except ZuoraRejected as exc:
            if len(group) > 1:
                # Orders are atomic: find the bad intent by sending each on its own key.
                return [r for intent in group for r in self._write_orders(self._build([intent]))]
            return [_rejected(group[0], exc)]
        except (RetryableError, IdempotencyKeyReused, OutcomeUnknown) as exc:
            return [_outcome(intent, exc) for intent in group]
        except RecordRejected as exc:
            return [_rejected(intent, exc) for intent in group]
        if resp.get("already"):
            return [
                self._applied(i, n, already=True)
                for i, n in zip(group, resp["numbers"], strict=True)
            ]
        numbers = orders.created_numbers(resp, call)
        log.info("zuora.order", order=resp.get("orderNumber"), actions=len(group))
        return [
            self._applied(i, n or orders.subscription_number(i))
            for i, n in zip(group, numbers, strict=True)
        ]

    def _post_order(self, call: orders.OrderCall) -> dict[str, Any]:
        try:
            return self.client.request(
                "POST", "/v1/orders", json=call.body, idempotency_key=call.idempotency_key
            )
        except OutcomeUnknown as exc:
            # Whatever goes wrong from here on, the outcome stays unknown: a retryable or
            # rejected answer to the lookup says nothing about the order we posted.
            try:
                found = [self.find_applied(i) for i in call.intents]
            except BillbridgeError as lookup:
                raise _still_unknown(exc, lookup) from None
            if all(n is not None for n in found):
                log.warning("zuora.order_timeout_applied", actions=len(call.intents))
                return {"already": True, "numbers": found}
            if any(n is not None for n in found):
                raise
            log.warning("zuora.order_timeout_resend", key=call.idempotency_key[:12])
            # Nothing applied: replay the same key (Zuora keeps it 24 h).
            try:
                return self.client.request(
                    "POST", "/v1/orders", json=call.body, idempotency_key=call.idempotency_key
                )
            except RetryableError:
                # The first post may still be executing: look again before any resend.
                raise exc from None

    def find_applied(self, intent: WriteIntent) -> str | None:
        """Subscription (or payment) number if ``intent`` is already applied in Zuora."""
        if intent.entity == "payment":
            return self.payments.find(intent)
        if intent.entity in ACCOUNT_ENTITIES:
            return self._account_applied(intent)
        number = orders.subscription_number(intent)
        if intent.action == "CreateSubscription" and number:
            # We chose the number ourselves (createSubscription.subscriptionNumber).
            return number if self._subscription_exists(number) else None
        if intent.action == "CreateSubscription":
            field = self.settings.subscription_external_id_field
            value = intent.external_id.replace("'", "\\'")
            rows = list(
                self.client.zoql(f"select Name from Subscription where {field} = '{value}'")
            )
            return str(rows[0]["Name"]) if rows else None
        assert number is not None
        key_field = self.settings.order_action_key_field
        for order in self.client.pages(f"/v1/orders/subscription/{number}", "orders"):
            for sub in order.get("subscriptions") or []:
                for action in sub.get("orderActions") or []:
                    if (action.get("customFields") or {}).get(key_field) == intent.idempotency_key:
                        return number
        return None

    def _account_applied(self, intent: WriteIntent) -> str | None:
        """The account number when the account write landed: the account (its number is
        ours) exists and, unless the write could only create it, every field sent reads
        back as sent (an update that did not land leaves the old values)."""
        number = intent.external_id
        try:
            current = self.client.get(f"/v1/accounts/{number}")
        except ZuoraRejected as exc:
            if exc.not_found:
                return None
            raise
        if intent.op is WriteOp.CREATE:
            return number
        sent = {k: v for k, v in intent.payload.items() if k != "accountNumber"}
        return number if _account_matches(current, sent) else None

    def _subscription_exists(self, number: str) -> bool:
        try:
            self.client.get(f"/v1/subscriptions/{number}")
        except ZuoraRejected as exc:
            if exc.not_found:
                return False
            raise
        return True

    @staticmethod
    def _applied(intent: WriteIntent, target: str | None, *, already: bool = False) -> WriteResult:
        return WriteResult(
            idempotency_key=intent.idempotency_key,
            status=ResultStatus.ALREADY_APPLIED if already else ResultStatus.APPLIED,
            target_id=target,
        )
