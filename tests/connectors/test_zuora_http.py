"""Zuora connector against strict ``responses`` mocks of the real v1 request/response shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from billbridge.errors import FatalError
from canonical import FailureType, Money, ResultStatus, WriteIntent, WriteOp
from connectors.base import Cursor
from connectors.zuora import ZuoraConnector, ZuoraSettings
from connectors.zuora.orders import chunk_key
from tests.connectors.zuora_helpers import (
    BASE,
    SECRET,
    account_intent,
    fixture,
    order_intent,
    token,
)


def auth(value: str = "tok-1") -> Any:
    return matchers.header_matcher({"Authorization": f"Bearer {value}", "Zuora-Track-Id": "run-42"})


def test_subscription_read_pages_zoql_and_converts_real_shape(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    first = rsps.post(
        f"{BASE}/v1/action/query",
        json={
            "records": [
                {"Id": "v1", "Name": "A-S00000004", "UpdatedDate": "2024-06-13T10:00:00.000-07:00"}
            ],
            "size": 1,
            "done": False,
            "queryLocator": "loc-1",
        },
        match=[auth()],
    )
    rsps.post(
        f"{BASE}/v1/action/queryMore",
        json={
            "records": [
                {"Id": "v3", "Name": "A-S00000004", "UpdatedDate": "2024-06-13T11:00:00.000-07:00"}
            ],
            "size": 1,
            "done": True,
        },
        match=[matchers.json_params_matcher({"queryLocator": "loc-1"})],
    )
    rsps.get(
        f"{BASE}/v1/subscriptions/A-S00000004", json=fixture("subscription.json"), match=[auth()]
    )

    since = Cursor(watermark=datetime(2024, 6, 13, 17, 10, tzinfo=UTC))
    stream = zuora.read("subscription", since)
    [sub] = list(stream)

    query = json.loads(first.calls[0].request.body)["queryString"]
    # lookback of 600 s below the watermark, in tenant time with its offset; upper bound fixed
    assert "UpdatedDate >= '2024-06-13T10:00:00-07:00'" in query
    assert "UpdatedDate <= '2024-06-14T05:00:00-07:00'" in query
    assert sub.subscription_number == "A-S00000004" and sub.version == 3
    seats = next(c for c in sub.charges if c.charge_number == "C-00000007")
    assert seats.unit_price == Money("40.10", "USD")
    assert seats.quantity == Decimal(25)
    # the newest version's stamp is the cursor, converted from tenant time to UTC
    assert stream.cursor == Cursor(
        watermark=datetime(2024, 6, 13, 18, 0, tzinfo=UTC), last_id="A-S00000004"
    )


def test_invoice_items_follow_next_page(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    inv = fixture("invoice.json")
    rsps.get(f"{BASE}/v1/invoices/INV00000101", json=inv)
    rsps.get(
        f"{BASE}/v1/invoices/{inv['id']}/items",
        json=fixture("invoice_items_page1.json"),
        match=[matchers.query_param_matcher({"pageSize": "40"})],
    )
    rsps.get(
        f"{BASE}/v1/invoices/{inv['id']}/items",
        json=fixture("invoice_items_page2.json"),
        match=[matchers.query_param_matcher({"page": "2", "pageSize": "1"})],
    )
    found = zuora.lookup("invoice", ["INV00000101"])
    invoice = found["INV00000101"]
    assert [line.amount for line in invoice.lines] == [
        Money("500.00", "USD"),
        Money("502.50", "USD"),
    ]
    assert invoice.lines_subtotal() == invoice.subtotal
    assert invoice.updated_at == datetime(2024, 6, 1, 9, 10, 45, tzinfo=UTC)  # PDT -> UTC


def test_lookup_omits_keys_zuora_cannot_find(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    rsps.get(f"{BASE}/v1/accounts/A00000001", json=fixture("account.json"))
    rsps.get(
        f"{BASE}/v1/accounts/A404",
        json={
            "success": False,
            "processId": "P",
            "reasons": [{"code": 50000040, "message": "Cannot find entity by key: A404."}],
        },
    )
    found = zuora.lookup("customer", ["A00000001", "A404"])
    assert list(found) == ["A00000001"]
    assert found["A00000001"].crosswalk == {"salesforce": "0015g00000XyZabAAF"}


def test_token_expiring_mid_run_is_renewed_once(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps, "tok-1")
    rsps.get(f"{BASE}/v1/accounts/A00000001", json=fixture("account.json"), match=[auth("tok-1")])
    rsps.get(
        f"{BASE}/v1/accounts/A00000002",
        status=401,
        json={"success": False, "reasons": [{"code": 90000011, "message": "Authentication error"}]},
        match=[auth("tok-1")],
    )
    token(rsps, "tok-2")
    second = fixture("account.json")
    second["basicInfo"]["accountNumber"] = "A00000002"
    rsps.get(f"{BASE}/v1/accounts/A00000002", json=second, match=[auth("tok-2")])
    found = zuora.lookup("customer", ["A00000001", "A00000002"])
    assert sorted(found) == ["A00000001", "A00000002"]
    assert zuora.client.tokens.fetch_count == 2


def test_auth_failure_after_refresh_is_fatal(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps, "tok-1")
    rejected = {
        "success": False,
        "reasons": [{"code": 90000011, "message": "Authentication error"}],
    }
    rsps.get(f"{BASE}/v1/accounts/A1", json=rejected, match=[auth("tok-1")])  # category 11 in 200
    token(rsps, "tok-2")
    rsps.get(f"{BASE}/v1/accounts/A1", status=401, json=rejected, match=[auth("tok-2")])
    with pytest.raises(FatalError, match="freshly issued token"):
        zuora.lookup("customer", ["A1"])


def test_429_then_success_honours_ratelimit_reset(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    token(rsps)
    rsps.get(
        f"{BASE}/v1/accounts/A00000001",
        status=429,
        json={"code": "REQUEST_EXCEEDED_LIMIT", "message": "Too many requests"},
        headers={"RateLimit-Limit": "50000", "RateLimit-Remaining": "0", "RateLimit-Reset": "7"},
    )
    rsps.get(f"{BASE}/v1/accounts/A00000001", status=503, body="unavailable")
    rsps.get(
        f"{BASE}/v1/accounts/A00000001",
        json=fixture("account.json"),
        headers={
            "RateLimit-Limit": "50000",
            "RateLimit-Remaining": "49990",
            "Concurrency-Limit-Remaining": "38",
        },
    )
    assert "A00000001" in zuora.lookup("customer", ["A00000001"])
    assert sleeps == [7.0, 2.0]  # the server's reset, then exponential back-off (attempt 2)
    assert zuora.client.limits["Concurrency-Limit-Remaining"] == "38"


def test_order_rejected_inside_http_200_is_a_record_failure(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = order_intent()
    rsps.post(
        f"{BASE}/v1/orders",
        json=fixture("order_rejected.json"),
        match=[matchers.header_matcher({"Idempotency-Key": intent.idempotency_key})],
    )
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "53100320"
    assert result.failure_type is FailureType.DATA
    assert "termType" in (result.message or "")


def test_create_subscription_order_has_the_real_body_shape(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = order_intent("CreateSubscription", sub=None)
    call = rsps.post(f"{BASE}/v1/orders", json=fixture("order_response.json"))
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.APPLIED and result.target_id == "A-S00000005"
    sent = json.loads(call.calls[0].request.body)
    assert sent["existingAccountNumber"] == "A00000001" and sent["orderDate"] == "2024-07-01"
    [sub] = sent["subscriptions"]
    assert "subscriptionNumber" not in sub
    assert sub["customFields"] == {"BillBridgeId__c": "SF-801"}
    [action] = sub["orderActions"]
    assert action["type"] == "CreateSubscription"
    assert action["customFields"] == {"BillBridgeKey__c": intent.idempotency_key}
    assert [t["name"] for t in action["triggerDates"]] == [
        "ContractEffective",
        "ServiceActivation",
        "CustomerAcceptance",
    ]
    headers = call.calls[0].request.headers
    assert headers["Idempotency-Key"] == intent.idempotency_key
    assert headers["Zuora-Version"] == zuora.settings.zuora_version


def test_409_in_flight_waits_and_replays_the_same_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    token(rsps)
    intent = order_intent()
    same_key = [matchers.header_matcher({"Idempotency-Key": intent.idempotency_key})]
    rsps.post(
        f"{BASE}/v1/orders",
        status=409,
        match=same_key,
        json={"success": False, "reasons": [{"code": 50000070, "message": "in progress"}]},
    )
    rsps.post(
        f"{BASE}/v1/orders",
        json={
            **fixture("order_response.json"),
            "subscriptionNumbers": ["A-S00000004"],
            "subscriptions": [{"subscriptionNumber": "A-S00000004", "status": "Active"}],
        },
        match=same_key,
    )
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.APPLIED and result.target_id == "A-S00000004"
    assert sleeps == [zuora.settings.in_flight_wait_seconds]


def test_422_key_reused_with_other_body_fails_the_intent(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    rsps.post(
        f"{BASE}/v1/orders",
        status=422,
        json={
            "success": False,
            "reasons": [
                {"code": 50000020, "message": "Idempotency key reused with different request"}
            ],
        },
    )
    [result] = zuora.write([order_intent()])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "IdempotencyKeyReused"
    assert result.failure_type is FailureType.SYSTEM


def test_timed_out_order_is_looked_up_not_resent(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = order_intent()
    rsps.post(f"{BASE}/v1/orders", body=requests.ReadTimeout("read timed out"))
    rsps.get(
        f"{BASE}/v1/orders/subscription/A-S00000004",
        json={
            "success": True,
            "orders": [
                {
                    "orderNumber": "O-00000009",
                    "subscriptions": [
                        {
                            "subscriptionNumber": "A-S00000004",
                            "orderActions": [
                                {
                                    "type": "AddProduct",
                                    "customFields": {"BillBridgeKey__c": intent.idempotency_key},
                                }
                            ],
                        }
                    ],
                }
            ],
        },
    )
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED
    assert result.target_id == "A-S00000004"


def test_timed_out_create_not_found_is_resent_with_the_same_key(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    intent = order_intent("CreateSubscription", sub=None)
    same_key = [matchers.header_matcher({"Idempotency-Key": intent.idempotency_key})]
    rsps.post(f"{BASE}/v1/orders", body=requests.ReadTimeout("read timed out"), match=same_key)
    lookup = rsps.post(f"{BASE}/v1/action/query", json={"records": [], "size": 0, "done": True})
    rsps.post(f"{BASE}/v1/orders", json=fixture("order_response.json"), match=same_key)
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.APPLIED
    assert "BillBridgeId__c = 'SF-801'" in json.loads(lookup.calls[0].request.body)["queryString"]


def test_batch_rejection_falls_back_to_single_intents(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    good, bad = order_intent(sub="A-S1"), order_intent(sub="A-S2")
    batch = rsps.post(
        f"{BASE}/v1/orders",
        json=fixture("order_rejected.json"),
        match=[matchers.header_matcher({"Idempotency-Key": chunk_key([good, bad])})],
    )
    rsps.post(
        f"{BASE}/v1/orders",
        json={
            **fixture("order_response.json"),
            "subscriptions": [{"subscriptionNumber": "A-S1", "status": "Active"}],
        },
        match=[matchers.header_matcher({"Idempotency-Key": good.idempotency_key})],
    )
    rsps.post(
        f"{BASE}/v1/orders",
        json=fixture("order_rejected.json"),
        match=[matchers.header_matcher({"Idempotency-Key": bad.idempotency_key})],
    )
    results = zuora.write([good, bad])
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.REJECTED]
    assert results[0].target_id == "A-S1"
    assert len(json.loads(batch.calls[0].request.body)["subscriptions"]) == 2


def test_zoql_read_that_timed_out_is_simply_retried(
    rsps: responses.RequestsMock, zuora: ZuoraConnector, sleeps: list[float]
) -> None:
    token(rsps)
    rsps.post(f"{BASE}/v1/action/query", body=requests.ReadTimeout("read timed out"))
    rsps.post(f"{BASE}/v1/action/query", json={"records": [], "size": 0, "done": True})
    assert list(zuora.read("customer")) == []
    assert sleeps == [1.0]


def test_http_errors_without_reasons_are_classified(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    rsps.post(f"{BASE}/v1/orders", status=400, json={"message": "Malformed JSON request"})
    rsps.get(f"{BASE}/v1/accounts/A1", status=403, json={"message": "Forbidden"})
    [result] = zuora.write([order_intent()])
    assert result.status is ResultStatus.REJECTED and "Malformed JSON" in (result.message or "")
    with pytest.raises(FatalError, match="permission"):
        zuora.lookup("customer", ["A1"])


def test_record_times_use_the_configured_tenant_zone_and_leave_in_utc(
    rsps: responses.RequestsMock,
) -> None:
    """Shipped specs once hard-coded Pacific: a Berlin tenant's records were 9 h off the
    read cursor and not in UTC. Business dates stay calendar dates."""
    settings = ZuoraSettings(
        tenant="us_api_sandbox",
        client_id="cid-1",
        client_secret=SECRET,
        tenant_timezone="Europe/Berlin",
    )
    zuora = ZuoraConnector(settings, sleep=lambda _: None, correlation_id="run-42")
    token(rsps)
    inv = fixture("invoice.json")
    rsps.get(f"{BASE}/v1/invoices/INV00000101", json=inv)
    rsps.get(
        f"{BASE}/v1/invoices/{inv['id']}/items",
        json={"success": True, "invoiceItems": [], "nextPage": None},
    )
    invoice = zuora.lookup("invoice", ["INV00000101"])["INV00000101"]
    # "2024-06-01 02:10:45" Berlin (CEST, +02:00)
    assert invoice.updated_at == datetime(2024, 6, 1, 0, 10, 45, tzinfo=UTC)
    assert invoice.updated_at.utcoffset() is not None and invoice.updated_at.tzinfo is UTC
    assert invoice.issue_date.isoformat() == inv["invoiceDate"]

    common = {"number": "X-1", "accountNumber": "A00000001", "currency": "EUR"}
    payment = zuora._converter("payment")(
        {
            **common,
            "amount": 10,
            "effectiveDate": "2024-01-15",
            "status": "Processed",
            "type": "External",
            "updatedDate": "2024-01-15 00:30:00",  # CET, +01:00
            "paymentParts": [],
        }
    )
    memo = zuora._converter("credit_memo")(
        {
            **common,
            "amount": 10,
            "taxAmount": 0,
            "balance": 10,
            "creditMemoDate": "2024-01-15",
            "status": "Posted",
            "updatedDate": "2024-01-15 00:30:00",
        }
    )
    for record in (payment, memo):
        assert record.updated_at == datetime(2024, 1, 14, 23, 30, tzinfo=UTC)
        assert record.updated_at.tzinfo is UTC
    assert payment.received_date.isoformat() == "2024-01-15"
    assert memo.issue_date.isoformat() == "2024-01-15"


def test_intent_without_order_date_is_rejected_alone_and_nothing_is_posted_twice(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """One bad intent in a batch used to raise out of write() after another group was
    posted; send_batch then bisected and re-posted the applied actions under new keys."""
    from sync.batching import send_batch

    token(rsps)
    first, second = order_intent(sub="A-S1"), order_intent(sub="A-S2")
    bad = order_intent(sub="B-S3", account="B00000002")
    del bad.payload["orderDate"]
    posted = rsps.post(
        f"{BASE}/v1/orders",
        json={
            **fixture("order_response.json"),
            "subscriptions": [
                {"subscriptionNumber": "A-S1", "status": "Active"},
                {"subscriptionNumber": "A-S2", "status": "Active"},
            ],
        },
        match=[matchers.header_matcher({"Idempotency-Key": chunk_key([first, second])})],
    )
    outcome = send_batch(zuora, [first, second, bad])
    assert [r.status for r in outcome.results] == [
        ResultStatus.APPLIED,
        ResultStatus.APPLIED,
        ResultStatus.REJECTED,
    ]
    assert outcome.results[2].error_code == "BB_MISSING_ORDER_DATE"
    assert outcome.results[2].failure_type is FailureType.DATA
    assert outcome.fatal is None
    assert len(posted.calls) == 1


def test_single_intent_without_order_date_is_a_record_rejection(zuora: ZuoraConnector) -> None:
    intent = order_intent()
    del intent.payload["orderDate"]
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "BB_MISSING_ORDER_DATE"


def account_update_intent() -> WriteIntent:
    return account_intent(
        WriteOp.UPSERT,
        {"name": "Acme Renamed", "billToContact": {"workEmail": "new@acme.example"}},
        "2",
    )


def renamed_account() -> dict[str, Any]:
    account = fixture("account.json")
    account["basicInfo"]["name"] = "Acme Renamed"
    account["billToContact"]["workEmail"] = "new@acme.example"
    return account


def test_account_update_that_timed_out_and_did_not_land_is_sent_again(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """The account existing says nothing about whether the PUT landed: read the fields."""
    token(rsps)
    url = f"{BASE}/v1/accounts/A00000001"
    body = {"name": "Acme Renamed", "billToContact": {"workEmail": "new@acme.example"}}
    rsps.get(url, json=fixture("account.json"))
    rsps.put(url, body=requests.ReadTimeout("read timed out"))
    rsps.get(url, json=fixture("account.json"))  # still the old name: the update never landed
    resent = rsps.put(url, json={"success": True}, match=[matchers.json_params_matcher(body)])
    [result] = zuora.write([account_update_intent()])
    assert result.status is ResultStatus.APPLIED
    assert len(resent.calls) == 1


def test_account_update_that_timed_out_but_landed_is_already_applied(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    url = f"{BASE}/v1/accounts/A00000001"
    rsps.get(url, json=fixture("account.json"))
    rsps.put(url, body=requests.ReadTimeout("read timed out"))
    rsps.get(url, json=renamed_account())
    [result] = zuora.write([account_update_intent()])
    assert result.status is ResultStatus.ALREADY_APPLIED


def test_account_update_timing_out_twice_is_unknown(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    token(rsps)
    url = f"{BASE}/v1/accounts/A00000001"
    rsps.get(url, json=fixture("account.json"))
    rsps.put(url, body=requests.ReadTimeout("read timed out"))
    rsps.get(url, json=fixture("account.json"))
    rsps.put(url, body=requests.ReadTimeout("read timed out"))
    [result] = zuora.write([account_update_intent()])
    assert result.status is ResultStatus.UNKNOWN


def test_an_account_write_left_unknown_is_looked_up_by_its_fields(
    rsps: responses.RequestsMock, zuora: ZuoraConnector
) -> None:
    """The outbox's read-before-resend for an account: found applied only when the fields
    sent read back (was: the order-action lookup, which asserts a subscription number)."""
    token(rsps)
    url = f"{BASE}/v1/accounts/A00000001"
    rsps.get(url, json=renamed_account())
    rsps.get(url, json=fixture("account.json"))
    rsps.get(
        url,
        status=404,
        json={"success": False, "reasons": [{"code": 50000040, "message": "not found"}]},
    )
    intent = account_update_intent()
    key = intent.idempotency_key
    assert zuora.find_applied([intent]) == {key: "A00000001"}
    assert zuora.find_applied([intent]) == {}  # the old values: not landed
    assert zuora.find_applied([intent]) == {}  # no such account
