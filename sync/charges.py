"""Zuora UpdateProduct needs the subscription's charge number, which only Zuora knows.

The planner cannot know it (a pure function of CRM data), so just before an UpdateProduct
is sent its subscription is looked up and the charge is filled in: the one whose
``contract_line_id`` is the contract line (when the connector reads it from a charge custom
field), else the only charge of the line's SKU among the charges that carry no line id (a
charge carrying another line's id is never this line's, whatever its SKU). The
outbox keeps the planned payload; a retry resolves the same charge, so the body (and the
idempotency key's replay) stays the same. No match or several matches reject the intent
with a clear reason instead of guessing.

An UpdateProduct behind an action of the same subscription in the same batch that changes
its charges (its line added in the same batch, say) is resolved only once that action went
through: :func:`first_dependent` tells the sender where to cut the batch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from canonical import FailureType, ResultStatus, Subscription, WriteIntent, WriteResult
from connectors.base import Connector


def needs_charge(intent: WriteIntent) -> bool:
    if intent.action != "UpdateProduct" or "chargeSku" not in intent.payload:
        return False
    updates = intent.payload.get("body", {}).get("updateProduct", {}).get("chargeUpdates", [])
    return any(not u.get("chargeNumber") for u in updates)


#: order actions that add or remove charges of a subscription
CHANGES_CHARGES = frozenset({"CreateSubscription", "AddProduct", "RemoveProduct", "ChangePlan"})


def first_dependent(intents: Sequence[WriteIntent]) -> int | None:
    """Index of the first intent whose charge can only be resolved after an earlier intent
    of the same batch went through (an action changing the same subscription's charges),
    or None. The intents before it are free of such dependencies."""
    changing: set[tuple[str, str]] = set()
    for n, intent in enumerate(intents):
        record = (intent.entity, intent.external_id)
        if needs_charge(intent) and record in changing:
            return n
        if intent.action in CHANGES_CHARGES:
            changing.add(record)
    return None


def _result(intent: WriteIntent, status: ResultStatus, code: str, message: str) -> WriteResult:
    failure = FailureType.DATA if status == ResultStatus.REJECTED else FailureType.TRANSIENT
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=status,
        error_code=code,
        message=message,
        failure_type=failure,
    )


def resolve(
    target: Connector, intents: Sequence[WriteIntent]
) -> tuple[list[WriteIntent], dict[str, WriteResult], int]:
    """(intents to send, results decided here, lookup calls made)."""
    todo = [i for i in intents if needs_charge(i)]
    if not todo:
        return list(intents), {}, 0
    numbers = sorted({str(i.payload["subscriptionNumber"]) for i in todo})
    decided: dict[str, WriteResult] = {}
    try:
        found = target.lookup("subscription", numbers)
    except Exception as exc:  # noqa: BLE001 - cannot resolve now: try again later
        for i in todo:
            decided[i.idempotency_key] = _result(
                i,
                ResultStatus.RETRYABLE,
                "BB_LOOKUP_FAILED",
                f"charge lookup failed: {type(exc).__name__}",
            )
        return [i for i in intents if i.idempotency_key not in decided], decided, 1
    resolved: dict[str, WriteIntent] = {}
    for intent in todo:
        number, sku = str(intent.payload["subscriptionNumber"]), intent.payload["chargeSku"]
        line_id = intent.payload["body"]["updateProduct"].get("uniqueToken")
        sub = found.get(number)
        all_charges = sub.charges if isinstance(sub, Subscription) else ()
        # The charge that carries our line id wins; else the SKU, only when it is unique
        # among the charges whose line is not known (never another line's charge).
        charges = [c for c in all_charges if line_id and c.contract_line_id == line_id] or [
            c for c in all_charges if c.sku == sku and not c.contract_line_id
        ]
        if len(charges) != 1:
            why = "no" if not charges else f"{len(charges)}"
            decided[intent.idempotency_key] = _result(
                intent,
                ResultStatus.REJECTED,
                "BB_CHARGE_NOT_RESOLVED",
                f"subscription {number} has {why} charge(s) of SKU {sku}; update it by hand "
                "or fix the catalog",
            )
            continue
        payload = copy.deepcopy(intent.payload)
        for update in payload["body"]["updateProduct"]["chargeUpdates"]:
            update["chargeNumber"] = charges[0].charge_number
        resolved[intent.idempotency_key] = intent.model_copy(update={"payload": payload})
    ready = [
        resolved.get(i.idempotency_key, i) for i in intents if i.idempotency_key not in decided
    ]
    return ready, decided, 1
