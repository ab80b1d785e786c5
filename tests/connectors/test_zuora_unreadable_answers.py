"""Zuora answering HTTP 200 with a body that is not a JSON result (a truncated body, a
proxy's HTML page, nothing at all): a write's outcome is unknown and is looked up before
anything is resent; a read fails with a clear error. Strict ``responses`` mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from billbridge.errors import RetryableError
from canonical import ResultStatus
from connectors.zuora import ZuoraConnector
from tests.connectors.zuora_helpers import (
    BASE,
    ORDERS_OF_SUB,
    account_create_intent,
    account_not_found,
    fixture,
    order_intent,
    orders_holding,
    same_key,
    token,
    zuora_connector,
)

_REJECTED = json.dumps(fixture("order_rejected.json"))
#: (body, content type) of answers that are no answer
GARBAGE = {
    "truncated": (_REJECTED[: len(_REJECTED) // 2], "application/json"),
    "html": ("<html><body><h1>Service temporarily unavailable</h1></body></html>", "text/html"),
    "empty": ("", "application/json"),
}


def answer_no_json(
    rsps: responses.RequestsMock, method: str, url: str, answer: str, **kw: Any
) -> responses.BaseResponse:
    """``method url`` answers HTTP 200 with the ``GARBAGE[answer]`` body."""
    body, ctype = GARBAGE[answer]
    return rsps.add(method, url, body=body, status=200, content_type=ctype, **kw)


@pytest.fixture
def zuora() -> ZuoraConnector:
    """No back-off between attempts, and nothing recorded."""
    return zuora_connector(lambda _: None, backoff_seconds=0.0)


@pytest.mark.parametrize("answer", sorted(GARBAGE))
def test_order_post_answered_with_no_json_is_looked_up_and_found_applied(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, answer: str
) -> None:
    token(rsps)
    intent = order_intent()
    post = answer_no_json(rsps, "POST", f"{BASE}/v1/orders", answer)
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
    answer_no_json(rsps, "POST", f"{BASE}/v1/orders", "truncated", match=same_key(intent))
    rsps.get(ORDERS_OF_SUB, json=orders_holding(None))
    rsps.post(f"{BASE}/v1/orders", json=fixture("order_rejected.json"), match=same_key(intent))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "53100320"


def test_order_post_answered_with_no_json_whose_lookup_fails_stays_unknown(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """A lookup that fails settles nothing: unknown (read again later), never retryable
    (which would resend without reading, under whatever key the next batch gets)."""
    token(rsps)
    post = answer_no_json(rsps, "POST", f"{BASE}/v1/orders", "html")
    rsps.get(ORDERS_OF_SUB, status=503, body="unavailable")
    [result] = zuora.write([order_intent()])
    assert result.status is ResultStatus.UNKNOWN
    assert len(post.calls) == 1


def test_account_create_answered_with_no_json_is_unknown_when_not_found(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = account_create_intent()
    post = answer_no_json(rsps, "POST", f"{BASE}/v1/accounts", "empty")
    account_not_found(rsps)
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.UNKNOWN
    assert "not JSON" in (result.message or "")
    assert len(post.calls) == 1


def test_account_create_answered_with_no_json_is_applied_when_the_account_exists(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = account_create_intent()
    answer_no_json(rsps, "POST", f"{BASE}/v1/accounts", "html")
    rsps.get(f"{BASE}/v1/accounts/A00000001", json=fixture("account.json"))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED


@pytest.mark.parametrize("answer", sorted(GARBAGE))
def test_read_answered_with_no_json_is_a_clear_error(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, answer: str
) -> None:
    token(rsps)
    answer_no_json(rsps, "GET", f"{BASE}/v1/accounts/A00000001", answer)
    with pytest.raises(RetryableError, match=r"GET /v1/accounts/A00000001 answered HTTP 200 with"):
        zuora.lookup("customer", ["A00000001"])
