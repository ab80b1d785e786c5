"""A Zuora 5xx on a write once the request left (POST /v1/orders, account POST/PUT): the
write may have been applied, so it is looked up before anything is resent, and never
resent under another key. A 429, or a connection that was never made, is retried as
before. Strict ``responses`` mocks with Zuora's shapes."""

from __future__ import annotations

from typing import Any

import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from canonical import ResultStatus, WriteOp
from connectors.zuora import ZuoraConnector
from tests.connectors.zuora_helpers import (
    BASE,
    ORDERS_OF_SUB,
    account_create_intent,
    account_intent,
    account_not_found,
    fixture,
    order_intent,
    orders_holding,
    same_key,
    token,
)

GATEWAY_TIMEOUT = "<html><body><h1>504 Gateway Time-out</h1></body></html>"


def applied_order() -> dict[str, Any]:
    return {
        **fixture("order_response.json"),
        "subscriptionNumbers": ["A-S00000004"],
        "subscriptions": [{"subscriptionNumber": "A-S00000004", "status": "Active"}],
    }


def test_order_answered_504_but_applied_is_found_not_resent(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    token(rsps)
    intent = order_intent()
    post = rsps.post(
        f"{BASE}/v1/orders", status=504, body=GATEWAY_TIMEOUT, content_type="text/html"
    )
    lookup = rsps.get(ORDERS_OF_SUB, json=orders_holding(intent.idempotency_key))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED
    assert result.target_id == "A-S00000004"
    assert len(post.calls) == 1 and len(lookup.calls) == 1
    assert sleeps == []


def test_order_answered_503_and_not_found_is_resent_once_with_the_same_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = order_intent()
    rsps.post(
        f"{BASE}/v1/orders",
        status=503,
        json={"message": "Service Unavailable"},
        match=same_key(intent),
    )
    rsps.get(ORDERS_OF_SUB, json=orders_holding(None))
    rsps.post(f"{BASE}/v1/orders", json=applied_order(), match=same_key(intent))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.APPLIED


def test_order_answered_5xx_twice_is_unknown_not_retryable(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """Unknown keeps the intent ``sent``: the next round reads before it resends. Retryable
    would put it back to pending, resent without a lookup under the next batch's key."""
    token(rsps)
    intent = order_intent()
    post = rsps.post(
        f"{BASE}/v1/orders", status=504, body=GATEWAY_TIMEOUT, content_type="text/html"
    )
    rsps.get(ORDERS_OF_SUB, json=orders_holding(None))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.UNKNOWN
    assert "may have been applied" in (result.message or "")
    assert len(post.calls) == 2  # the first post, and one replay of the same key
    assert {c.request.headers["Idempotency-Key"] for c in post.calls} == {intent.idempotency_key}


def test_account_create_answered_500_is_looked_up(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = account_create_intent()
    post = rsps.post(
        f"{BASE}/v1/accounts",
        status=500,
        json={"success": False, "reasons": [{"code": 50000060, "message": "internal error"}]},
    )
    account_not_found(rsps)
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.UNKNOWN
    assert len(post.calls) == 1


def test_account_update_answered_502_is_read_back(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = account_intent(WriteOp.UPSERT, {"name": "Acme Renamed"}, "2")
    url = f"{BASE}/v1/accounts/A00000001"
    renamed = fixture("account.json")
    renamed["basicInfo"]["name"] = "Acme Renamed"
    rsps.get(url, json=fixture("account.json"))
    put = rsps.put(url, status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    rsps.get(url, json=renamed)
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED
    assert len(put.calls) == 1


def test_order_on_a_refused_connection_is_retried_with_the_same_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    """Nothing reached Zuora: an ordinary retry, no lookup."""
    token(rsps)
    intent = order_intent()
    refused = requests.ConnectionError(
        MaxRetryError(
            None,  # type: ignore[arg-type]
            f"{BASE}/v1/orders",
            NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
        )
    )
    rsps.post(f"{BASE}/v1/orders", body=refused, match=same_key(intent))
    rsps.post(f"{BASE}/v1/orders", json=applied_order(), match=same_key(intent))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.APPLIED
    assert sleeps == [1.0]


def test_read_answered_503_is_still_retried(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    token(rsps)
    url = f"{BASE}/v1/accounts/A00000001"
    rsps.get(url, status=503, body="unavailable")
    rsps.get(url, json=fixture("account.json"))
    assert "A00000001" in zuora.lookup("customer", ["A00000001"])
    assert sleeps == [1.0]
