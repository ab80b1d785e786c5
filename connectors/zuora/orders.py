"""Pure planning of Orders API calls from subscription intents.

An intent carries one order action::

    WriteIntent(entity="subscription", op=WriteOp.ACTION, action="AddProduct",
                external_id="SF-8011x...", business_number="A-S00000004",
                payload={"accountNumber": "A00000001", "orderDate": "2024-07-01",
                         "subscriptionNumber": "A-S00000004",   # absent for CreateSubscription
                         "triggerDates": [...],                  # optional
                         "body": {"addProduct": {...}},          # the action's own fields
                         "customFields": {...}})                 # optional, subscription level

Intents of one account are chunked into orders of at most 50 subscriptions and 50 order
actions (the synchronous limit). Each order action carries the intent's idempotency key in
a custom field so a timed-out call can be looked up before anything is resent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from billbridge.errors import RecordRejected
from canonical import WriteIntent

MAX_SUBSCRIPTIONS = 50
MAX_ACTIONS = 50
ACTIONS = frozenset(
    {
        "CreateSubscription",
        "AddProduct",
        "UpdateProduct",
        "RemoveProduct",
        "RenewSubscription",
        "CancelSubscription",
        "TermsAndConditions",
        "Suspend",
        "Resume",
        "OwnerTransfer",
        "ChangePlan",
    }
)


@dataclass(frozen=True)
class OrderCall:
    intents: tuple[WriteIntent, ...]
    body: dict[str, Any]
    idempotency_key: str


def subscription_number(intent: WriteIntent) -> str | None:
    number = intent.payload.get("subscriptionNumber") or intent.business_number
    return str(number) if number else None


def validate(intent: WriteIntent) -> None:
    """Refuse an intent that cannot become an order action (a data problem, not retried)."""
    if intent.action not in ACTIONS:
        raise RecordRejected(
            f"intent {intent.idempotency_key[:12]}: unknown order action {intent.action!r}",
            code="BB_UNKNOWN_ACTION",
        )
    if not intent.payload.get("accountNumber"):
        raise RecordRejected(
            f"intent {intent.idempotency_key[:12]}: payload.accountNumber is missing",
            code="BB_MISSING_ACCOUNT",
        )
    if intent.action != "CreateSubscription" and not subscription_number(intent):
        raise RecordRejected(
            f"intent {intent.idempotency_key[:12]}: {intent.action} needs subscriptionNumber",
            code="BB_MISSING_SUBSCRIPTION",
        )
    if not intent.payload.get("orderDate"):
        raise RecordRejected(
            f"intent {intent.idempotency_key[:12]}: payload.orderDate is missing",
            code="BB_MISSING_ORDER_DATE",
        )


def chunk(intents: Sequence[WriteIntent]) -> list[list[WriteIntent]]:
    """Consecutive intents of one account, within the per-call limits (order kept)."""
    chunks: list[list[WriteIntent]] = []
    subs: set[str] = set()
    for intent in intents:
        sub = subscription_number(intent) or f"new:{intent.idempotency_key}"
        current = chunks[-1] if chunks else None
        fits = (
            current is not None
            and current[0].payload["accountNumber"] == intent.payload["accountNumber"]
            and len(current) < MAX_ACTIONS
            and (sub in subs or len(subs) < MAX_SUBSCRIPTIONS)
        )
        if not fits:
            chunks.append([intent])
            subs = {sub}
        else:
            assert current is not None
            current.append(intent)
            subs.add(sub)
    return chunks


def chunk_key(intents: Sequence[WriteIntent]) -> str:
    """The intent's own key for a single intent; a deterministic digest for a group."""
    if len(intents) == 1:
        return intents[0].idempotency_key
    digest = hashlib.sha256("\x1f".join(i.idempotency_key for i in intents).encode())
    return f"bb-order-{digest.hexdigest()}"


def build(intents: Sequence[WriteIntent], *, key_field: str, ext_field: str) -> OrderCall:
    first = intents[0].payload
    subscriptions: list[dict[str, Any]] = []
    by_number: dict[str, dict[str, Any]] = {}
    for intent in intents:
        action: dict[str, Any] = {"type": intent.action, **intent.payload.get("body", {})}
        action["triggerDates"] = intent.payload.get("triggerDates") or _default_triggers(intent)
        action["customFields"] = {key_field: intent.idempotency_key}
        number = subscription_number(intent)
        if number is not None and number in by_number:
            by_number[number]["orderActions"].append(action)
            continue
        entry: dict[str, Any] = {"orderActions": [action]}
        custom = dict(intent.payload.get("customFields") or {})
        if intent.action == "CreateSubscription":
            custom[ext_field] = intent.external_id
        else:
            entry["subscriptionNumber"] = number
        if custom:
            entry["customFields"] = custom
        subscriptions.append(entry)
        if number is not None:
            by_number[number] = entry
    body = {
        "orderDate": _order_date(intents),
        "existingAccountNumber": first["accountNumber"],
        "subscriptions": subscriptions,
        "processingOptions": {"runBilling": False, "collectPayment": False},
    }
    return OrderCall(tuple(intents), body, chunk_key(intents))


def _default_triggers(intent: WriteIntent) -> list[dict[str, str]]:
    day = str(intent.payload.get("orderDate") or "")
    if not day:
        return []
    names = ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
    return [{"name": name, "triggerDate": day} for name in names]


def _order_date(intents: Sequence[WriteIntent]) -> str:
    dates = [str(i.payload["orderDate"]) for i in intents if i.payload.get("orderDate")]
    if not dates:
        raise RecordRejected("order intents carry no orderDate", code="BB_MISSING_ORDER_DATE")
    return min(dates)


def created_numbers(response: dict[str, Any], call: OrderCall) -> list[str | None]:
    """Subscription number per intent of ``call`` from a successful order response."""
    returned = [s.get("subscriptionNumber") for s in response.get("subscriptions") or []]
    if not returned:
        returned = list(response.get("subscriptionNumbers") or [])
    position: dict[int, int] = {}
    index = 0
    seen: dict[str, int] = {}
    for n, intent in enumerate(call.intents):
        number = subscription_number(intent)
        if number is not None and number in seen:
            position[n] = seen[number]
            continue
        position[n] = index
        if number is not None:
            seen[number] = index
        index += 1
    return [returned[position[n]] if position[n] < len(returned) else None for n in position]
