"""Zuora answering HTTP 200 with a body that is not a JSON result (a truncated body, a
proxy's HTML page, nothing at all): a write's outcome is unknown and is looked up before
anything is resent; a read fails with a clear error. Strict ``responses`` mocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from responses import matchers

from billbridge.errors import RetryableError
from canonical import ResultStatus, WriteIntent, WriteOp
from connectors.zuora import ZuoraConnector, ZuoraSettings
from tests.connectors.test_zuora_http import BASE, SECRET, fixture, order_intent, token

_REJECTED = json.dumps(fixture("order_rejected.json"))
#: (body, content type) of answers that are no answer
GARBAGE = {
    "truncated": (_REJECTED[: len(_REJECTED) // 2], "application/json"),
    "html": ("<html><body><h1>Service temporarily unavailable</h1></body></html>", "text/html"),
    "empty": ("", "application/json"),
}
ORDERS_OF_SUB = f"{BASE}/v1/orders/subscription/A-S00000004"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def zuora() -> ZuoraConnector:
    settings = ZuoraSettings(
        tenant="us_api_sandbox", client_id="cid-1", client_secret=SECRET, backoff_seconds=0.0
    )
    return ZuoraConnector(
        settings,
        sleep=lambda _: None,
        now=lambda: datetime(2024, 6, 14, 12, 0, tzinfo=UTC),
        correlation_id="run-42",
    )


def orders_holding(key: str | None) -> dict[str, Any]:
    """GET /v1/orders/subscription/{number}: one order whose action carries ``key``."""
    actions = [{"type": "AddProduct", "customFields": {"BillBridgeKey__c": key}}] if key else []
    return {
        "success": True,
        "orders": [
            {
                "orderNumber": "O-00000009",
                "status": "Completed",
                "subscriptions": [{"subscriptionNumber": "A-S00000004", "orderActions": actions}],
            }
        ],
    }


@pytest.mark.parametrize("answer", sorted(GARBAGE))
def test_order_post_answered_with_no_json_is_looked_up_and_found_applied(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, answer: str
) -> None:
    token(rsps)
    intent = order_intent()
    body, ctype = GARBAGE[answer]
    post = rsps.post(f"{BASE}/v1/orders", body=body, status=200, content_type=ctype)
    rsps.get(ORDERS_OF_SUB, json=orders_holding(intent.idempotency_key))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED
    assert result.target_id == "A-S00000004"
    assert len(post.calls) == 1


def test_order_post_answered_with_no_json_and_not_found_is_replayed_with_the_same_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """The truncated answer was a rejection: the replay under the same key says so."""
    token(rsps)
    intent = order_intent()
    same_key = [matchers.header_matcher({"Idempotency-Key": intent.idempotency_key})]
    body, ctype = GARBAGE["truncated"]
    rsps.post(f"{BASE}/v1/orders", body=body, status=200, content_type=ctype, match=same_key)
    rsps.get(ORDERS_OF_SUB, json=orders_holding(None))
    rsps.post(f"{BASE}/v1/orders", json=fixture("order_rejected.json"), match=same_key)
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "53100320"


def test_order_post_answered_with_no_json_whose_lookup_fails_stays_unknown(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """A lookup that fails settles nothing: unknown (read again later), never retryable
    (which would resend without reading, under whatever key the next batch gets)."""
    token(rsps)
    body, ctype = GARBAGE["html"]
    post = rsps.post(f"{BASE}/v1/orders", body=body, status=200, content_type=ctype)
    rsps.get(ORDERS_OF_SUB, status=503, body="unavailable")
    [result] = zuora.write([order_intent()])
    assert result.status is ResultStatus.UNKNOWN
    assert len(post.calls) == 1


def test_account_create_answered_with_no_json_is_unknown_when_not_found(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = WriteIntent.build(
        target_system="zuora",
        entity="customer",
        op=WriteOp.CREATE,
        external_id="A00000001",
        payload={"name": "Acme Corp", "currency": "USD", "billCycleDay": 1},
        source_system="salesforce",
        source_id="001X",
        source_version="1",
        mapping_version="m1",
    )
    body, ctype = GARBAGE["empty"]
    post = rsps.post(f"{BASE}/v1/accounts", body=body, status=200, content_type=ctype)
    rsps.get(
        f"{BASE}/v1/accounts/A00000001",
        status=404,
        json={"success": False, "reasons": [{"code": 50000040, "message": "not found"}]},
    )
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.UNKNOWN
    assert "not JSON" in (result.message or "")
    assert len(post.calls) == 1


def test_account_create_answered_with_no_json_is_applied_when_the_account_exists(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = WriteIntent.build(
        target_system="zuora",
        entity="customer",
        op=WriteOp.CREATE,
        external_id="A00000001",
        payload={"name": "Acme Corp", "currency": "USD", "billCycleDay": 1},
        source_system="salesforce",
        source_id="001X",
        source_version="1",
        mapping_version="m1",
    )
    body, ctype = GARBAGE["html"]
    rsps.post(f"{BASE}/v1/accounts", body=body, status=200, content_type=ctype)
    rsps.get(f"{BASE}/v1/accounts/A00000001", json=fixture("account.json"))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED


@pytest.mark.parametrize("answer", sorted(GARBAGE))
def test_read_answered_with_no_json_is_a_clear_error(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, answer: str
) -> None:
    token(rsps)
    body, ctype = GARBAGE[answer]
    rsps.get(f"{BASE}/v1/accounts/A00000001", body=body, status=200, content_type=ctype)
    with pytest.raises(RetryableError, match=r"GET /v1/accounts/A00000001 answered HTTP 200 with"):
        zuora.lookup("customer", ["A00000001"])
