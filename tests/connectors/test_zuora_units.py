"""Pure parts of the Zuora connector: settings, classification, time, wire JSON, order planning,
and the promise that secrets never reach logs or error messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import responses
import structlog
from pydantic import ValidationError
from structlog.testing import capture_logs

from billbridge.errors import FatalError, RetryableError
from billbridge.testing.fake_zuora import FakeZuora
from canonical import WriteIntent, WriteOp
from connectors.common import wire
from connectors.zuora import ZuoraConnector, ZuoraSettings, ZuoraTenant, orders
from connectors.zuora.errors import AuthRejected, ZuoraRejected, category, classify_failure
from connectors.zuora.timeutil import tenant_datetime, zoql_literal

PACIFIC = ZoneInfo("America/Los_Angeles")


def intent(account: str, sub: str | None, n: int, action: str = "AddProduct") -> WriteIntent:
    payload = {"accountNumber": account, "orderDate": f"2024-07-{1 + n % 28:02d}", "body": {}}
    if sub:
        payload["subscriptionNumber"] = sub
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action=action,
        external_id=f"ext-{n}",
        payload=payload,
        source_system="salesforce",
        source_id=f"src-{n}",
        source_version="1",
        mapping_version="m1",
    )


def test_tenant_enum_derives_the_documented_hosts() -> None:
    assert ZuoraSettings(tenant="eu_central_sandbox", client_id="c", client_secret="s").url == (
        "https://rest.test.eu.zuora.com"
    )
    assert ZuoraTenant.US_CLOUD_PRODUCTION.host == "rest.na.zuora.com"
    override = ZuoraSettings(
        tenant="us_production", base_url="http://127.0.0.1:9/", client_id="c", client_secret="s"
    )
    assert override.url == "http://127.0.0.1:9"
    with pytest.raises(ValidationError):
        ZuoraSettings(tenant="mars_production", client_id="c", client_secret="s")
    with pytest.raises(ValidationError, match="unknown time zone"):
        ZuoraSettings(
            tenant="us_production",
            client_id="c",
            client_secret="s",
            tenant_timezone="Pacific/Atlantis",
        )


def test_naive_zuora_times_are_tenant_local() -> None:
    # PDT in June, PST in December: the offset comes from the zone, not a constant
    assert tenant_datetime("2024-06-13 14:58:07", PACIFIC) == datetime(
        2024, 6, 13, 21, 58, 7, tzinfo=UTC
    )
    assert tenant_datetime("2024-12-13 14:58:07", PACIFIC) == datetime(
        2024, 12, 13, 22, 58, 7, tzinfo=UTC
    )
    assert tenant_datetime("2024-06-13T14:58:07.000+02:00", PACIFIC) == datetime(
        2024, 6, 13, 12, 58, 7, tzinfo=UTC
    )
    assert (
        zoql_literal(datetime(2024, 1, 1, 8, 0, tzinfo=UTC), PACIFIC) == "2024-01-01T00:00:00-08:00"
    )


def test_reason_categories_decide_the_error_type() -> None:
    assert category(53100320) == 20 and category("90000011") == 11
    assert isinstance(classify_failure("x", [{"code": 53100320, "message": "m"}]), ZuoraRejected)
    assert isinstance(classify_failure("x", [{"code": 50000010, "message": "m"}]), FatalError)
    assert isinstance(classify_failure("x", [{"code": 90000011, "message": "m"}]), AuthRejected)
    lock = classify_failure("x", [{"code": 58730050, "message": "lock competition"}])
    assert isinstance(lock, RetryableError)
    missing = classify_failure("x", [{"code": 50000040, "message": "Cannot find entity by key"}])
    assert isinstance(missing, ZuoraRejected) and missing.not_found


def test_wire_json_keeps_amounts_exact() -> None:
    text = wire.dumps({"listPrice": Decimal("0.10"), "when": date(2024, 1, 2)})
    assert text == '{"listPrice": 0.10, "when": "2024-01-02"}'
    assert wire.loads('{"a": 0.1}')["a"] == Decimal("0.1")


def test_orders_chunk_by_account_and_the_50_limits() -> None:
    many = [intent("A1", f"A-S{n}", n) for n in range(120)] + [intent("A2", "A-S9", 999)]
    chunks = orders.chunk(many)
    assert [len(c) for c in chunks] == [50, 50, 20, 1]
    assert [i for c in chunks for i in c] == many  # order kept, nothing lost
    same_sub = [intent("A1", "A-S1", n) for n in range(60)]
    assert [len(c) for c in orders.chunk(same_sub)] == [50, 10]  # 50 actions per call too


def test_order_build_groups_actions_of_one_subscription() -> None:
    group = [
        intent("A1", "A-S1", 1),
        intent("A1", "A-S1", 2),
        intent("A1", None, 3, "CreateSubscription"),
    ]
    call = orders.build(group, key_field="K__c", ext_field="E__c")
    subs = call.body["subscriptions"]
    assert [len(s["orderActions"]) for s in subs] == [2, 1]
    assert subs[1]["customFields"] == {"E__c": "ext-3"}
    assert call.body["orderDate"] == "2024-07-02"
    assert call.idempotency_key == orders.chunk_key(group) != orders.chunk_key(group[:2])
    assert orders.created_numbers(
        {"subscriptions": [{"subscriptionNumber": "A-S1"}, {"subscriptionNumber": "A-S7"}]}, call
    ) == ["A-S1", "A-S1", "A-S7"]


def test_secrets_never_reach_logs_or_errors() -> None:
    secret = "zz-secret-never-log-me-9876"
    settings = ZuoraSettings(tenant="us_api_sandbox", client_id="cid", client_secret=secret)
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    zuora = ZuoraConnector(settings, sleep=lambda _: None)
    with capture_logs() as logs, responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            "https://rest.apisandbox.zuora.com/oauth/token",
            status=401,
            json={"error": "invalid_client", "error_description": f"bad secret {secret}"},
        )
        with pytest.raises(FatalError) as info:
            zuora.lookup("customer", ["A1"])
        structlog.get_logger("test").error("lookup failed", exc_info=info.value)
    assert secret not in str(info.value) and secret not in (info.value.internal or "")
    assert logs and all(secret not in repr(event) for event in logs)


def test_tokens_never_reach_logs_in_a_full_run() -> None:
    with FakeZuora() as fake:
        fake.add_account("A1", "Acme")
        settings = ZuoraSettings(
            tenant="us_api_sandbox",
            base_url=fake.url,
            client_id="fake-client",
            client_secret="fake-secret",
        )
        zuora = ZuoraConnector(settings, sleep=lambda _: None)
        with capture_logs() as logs:
            assert len(list(zuora.read("customer"))) == 1
            fake.expire_tokens()
            assert zuora.check().ok
        tokens = [*fake.issued, "fake-secret"]
    assert len(logs) > 3 and len(tokens) == 3
    assert all(token not in repr(event) for event in logs for token in tokens)


def test_builtin_converters_read_the_fixture_shapes() -> None:
    """The fallback conversions (used when no shipped mapping spec covers an entity)."""
    from pathlib import Path

    from connectors.zuora import to_canonical

    fix = Path(__file__).parent / "zuora_fixtures"
    sub = to_canonical.subscription(wire.loads((fix / "subscription.json").read_text()), PACIFIC)
    assert [c.charge_number for c in sub.charges] == ["C-00000007"]  # removed plan left out
    assert sub.charges[0].unit_price.amount == Decimal("40.10") and sub.version == 3
    account = to_canonical.customer(wire.loads((fix / "account.json").read_text()), PACIFIC)
    assert account.crosswalk == {"salesforce": "0015g00000XyZabAAF"} and account.currency == "USD"
    raw = wire.loads((fix / "invoice.json").read_text())
    raw["invoiceItems"] = wire.loads((fix / "invoice_items_page1.json").read_text())["invoiceItems"]
    invoice = to_canonical.invoice(raw, PACIFIC)
    assert invoice.subscription_number == "A-S00000004"
    assert invoice.updated_at == datetime(2024, 6, 1, 9, 10, 45, tzinfo=UTC)


def test_429_waits_for_the_window_only_when_the_rate_ran_out() -> None:
    from connectors.zuora.errors import parse_retry_after

    rate = {"RateLimit-Remaining": "0", "RateLimit-Reset": "12", "Concurrency-Limit-Remaining": "3"}
    concurrency = {
        "RateLimit-Remaining": "4000",
        "RateLimit-Reset": "40",
        "Concurrency-Limit-Remaining": "0",
    }
    assert parse_retry_after(rate, status=429) == 12.0
    assert parse_retry_after(concurrency, status=429) is None  # exponential back-off instead
    assert parse_retry_after({**concurrency, "Retry-After": "3"}, status=429) == 3.0
    assert parse_retry_after({"RateLimit-Reset": "30"}, status=503) is None


def test_track_id_is_ascii_and_bounded() -> None:
    from connectors.zuora.client import track_id

    assert track_id("run:2024-06-13;job=sf→zuora") == "run-2024-06-13-job=sf-zuora"
    assert len(track_id("x" * 100)) == 64


def test_check_reports_a_refused_probe_as_a_missing_permission() -> None:
    """A probe Zuora refuses with ``success: false`` (a 403 with reasons, as for a user
    without the Orders permission) is a permission the check reports missing, not an
    unexpected error that ends ``connectors check``."""
    settings = ZuoraSettings(tenant="us_api_sandbox", client_id="cid", client_secret="s")
    zuora = ZuoraConnector(settings, sleep=lambda _: None)
    base = "https://rest.apisandbox.zuora.com"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{base}/oauth/token",
            json={"access_token": "tok", "token_type": "bearer", "expires_in": 3599},
        )
        rsps.post(f"{base}/v1/action/query", json={"records": [], "size": 0, "done": True})
        rsps.get(
            f"{base}/v1/orders",
            status=403,
            json={
                "success": False,
                "processId": "P1",
                "reasons": [
                    {"code": 50000040, "message": "You do not have permission to view orders."}
                ],
            },
        )
        report = zuora.check()
    assert report.authenticated and not report.ok
    assert report.permissions == {"zoql:Account": True, "orders:read": False}
    assert any("permission to view orders" in m for m in report.messages)
