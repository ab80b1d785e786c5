"""Zuora connector against the loopback FakeZuora: the shared contract and end-to-end runs
through the real network stack with timeouts, retries and faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from billbridge.testing.fake_zuora import FakeZuora
from canonical import ResultStatus, WriteIntent, WriteOp
from connectors.zuora import ZuoraConnector, ZuoraSettings
from tests.connectors.contract import ConnectorContract, Harness


@pytest.fixture
def fake() -> Iterator[FakeZuora]:
    server = FakeZuora(zoql_batch=2, slow_seconds=0.6)
    server.add_account("A00000001", "Acme", crmId="001A")
    server.add_account("A00000002", "Beta")
    server.add_account("A00000003", "Gamma")
    server.add_product(
        "PRP-SEAT",
        "SKU-SEAT",
        [{"productRatePlanChargeId": "PRPC-SEAT", "name": "Seat", "price": "10.00"}],
    )
    server.add_product(
        "PRP-SUPPORT",
        "SKU-SUPPORT",
        [{"productRatePlanChargeId": "PRPC-SUP", "name": "Support", "price": "99.00"}],
    )
    with server:
        yield server


def connector(
    fake: FakeZuora, sleeps: list[float] | None = None, read_timeout: float = 5.0
) -> ZuoraConnector:
    """Generous timeouts (a loaded machine must not cause timeouts) except where a test
    provokes one: the fake then answers after ``slow_seconds``, past ``read_timeout``."""
    settings = ZuoraSettings(
        tenant="us_api_sandbox",
        base_url=fake.url,
        client_id="fake-client",
        client_secret="fake-secret",
        read_timeout=read_timeout,
        connect_timeout=5.0,
    )
    return ZuoraConnector(settings, sleep=(sleeps if sleeps is not None else []).append)


def create(account: str, ext: str, version: str = "1", sku_plan: str = "PRP-SEAT") -> WriteIntent:
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action="CreateSubscription",
        external_id=ext,
        source_system="salesforce",
        source_id=ext,
        source_version=version,
        mapping_version="m1",
        payload={
            "accountNumber": account,
            "orderDate": "2024-07-01",
            "body": {
                "createSubscription": {
                    "terms": {"initialTerm": {"period": 12, "termType": "TERMED"}},
                    "subscribeToRatePlans": [
                        {
                            "productRatePlanId": sku_plan,
                            "chargeOverrides": [
                                {
                                    "productRatePlanChargeId": "PRPC-SEAT",
                                    "pricing": {
                                        "recurringPerUnit": {"listPrice": "12.50", "quantity": 3}
                                    },
                                }
                            ],
                        }
                    ],
                }
            },
        },
    )


def action(kind: str, sub: str, body: dict[str, Any], version: str = "1") -> WriteIntent:
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action=kind,
        external_id=f"ext-{sub}",
        source_system="salesforce",
        source_id=f"{sub}-{kind}",
        source_version=version,
        mapping_version="m1",
        business_number=sub,
        payload={"accountNumber": "A00000001", "orderDate": "2024-08-01", "body": body},
    )


class TestZuoraContract(ConnectorContract):
    @pytest.fixture
    def harness(self, fake: FakeZuora) -> Harness:
        return Harness(
            connector=connector(fake),
            entity="customer",
            expected_count=3,
            known_external_id="A00000002",
            lookup_entity="customer",
            make_intents=lambda: [create("A00000001", "SF-1"), create("A00000002", "SF-2")],
        )


def test_subscription_lifecycle_end_to_end_with_faults(fake: FakeZuora) -> None:
    sleeps: list[float] = []
    zuora = connector(fake, sleeps)
    fake.fail_next("429", path="/v1/orders")
    fake.fail_next("503", path="/v1/orders")
    [created] = zuora.write([create("A00000001", "SF-801")])
    assert created.status is ResultStatus.APPLIED
    number = created.target_id
    assert number is not None and number.startswith("A-S")
    # 429: Retry-After, then the same key again; 503 on a write: looked up (ZOQL by our
    # external id) before the same key is sent again, no blind retry
    assert sleeps == [1.0]
    assert fake.calls["POST /v1/action/query"] == 1

    fake.expire_tokens()  # token dies mid-run: one renewal, no failure
    plan_id = fake.subscriptions[number][-1]["ratePlans"][0]["id"]
    charge = fake.subscriptions[number][-1]["ratePlans"][0]["ratePlanCharges"][0]["number"]
    results = zuora.write(
        [
            action("AddProduct", number, {"addProduct": {"productRatePlanId": "PRP-SUPPORT"}}),
            action(
                "UpdateProduct",
                number,
                {
                    "updateProduct": {
                        "ratePlanId": plan_id,
                        "chargeUpdates": [
                            {
                                "chargeNumber": charge,
                                "pricing": {"recurringPerUnit": {"quantity": 7}},
                            }
                        ],
                    }
                },
            ),
            action("RenewSubscription", number, {"renewSubscription": {}}),
        ]
    )
    assert [r.status for r in results] == [ResultStatus.APPLIED] * 3
    # 429, 503, create, then the grouped order: 401 (token expired) and its replay
    assert fake.calls["POST /v1/orders"] == 5
    assert zuora.client.tokens.fetch_count == 2

    versions = fake.subscriptions[number]
    assert [v["version"] for v in versions] == [1, 2]
    assert len({v["id"] for v in versions}) == 2  # new id per version, same number
    [sub] = zuora.lookup("subscription", [number]).values()
    assert sub.subscription_number == number and sub.version == 2
    assert {c.sku: c.quantity for c in sub.charges} == {"SKU-SEAT": 7, "SKU-SUPPORT": 1}
    assert str(sub.term_end) == "2026-07-01"

    [cancelled] = zuora.write(
        [
            action(
                "CancelSubscription",
                number,
                {
                    "cancelSubscription": {
                        "cancellationPolicy": "SpecificDate",
                        "cancellationEffectiveDate": "2024-09-01",
                    }
                },
            )
        ]
    )
    assert cancelled.status is ResultStatus.APPLIED
    assert fake.subscriptions[number][-1]["status"] == "Cancelled"
    assert set(fake.track_ids) == {zuora.client.correlation_id}


def test_timeout_after_commit_is_looked_up_and_never_duplicated(fake: FakeZuora) -> None:
    zuora = connector(fake, read_timeout=0.25)
    fake.fail_next("timeout_after_commit", path="/v1/orders")
    intent = create("A00000002", "SF-900")
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED
    subs = [n for n, v in fake.subscriptions.items() if v[-1].get("BillBridgeId__c") == "SF-900"]
    assert len(subs) == 1 and result.target_id == subs[0]
    assert fake.calls["POST /v1/orders"] == 1

    # Replaying the same intent later gets Zuora's stored response, not a second order.
    [again] = zuora.write([intent])
    assert again.status is ResultStatus.APPLIED and again.target_id == subs[0]
    assert fake.replays == 1 and len(fake.orders) == 1


def test_changed_body_under_the_same_key_is_refused_and_keys_expire(fake: FakeZuora) -> None:
    zuora = connector(fake)
    intent = create("A00000003", "SF-7")
    assert zuora.write([intent])[0].status is ResultStatus.APPLIED
    tampered = intent.model_copy(update={"payload": {**intent.payload, "orderDate": "2024-07-02"}})
    [refused] = zuora.write([tampered])
    assert refused.status is ResultStatus.REJECTED and refused.error_code == "IdempotencyKeyReused"
    fake.advance(24 * 3600 + 1)  # the key is forgotten after 24 h: read before retry matters
    fake.expire_tokens()
    assert zuora.write([tampered])[0].status is ResultStatus.APPLIED
    assert len(fake.orders) == 2


def test_rejection_inside_200_and_incremental_read(fake: FakeZuora) -> None:
    zuora = connector(fake)
    fake.fail_next("reject", path="/v1/orders")
    [rejected] = zuora.write([create("A00000001", "SF-R")])
    assert rejected.status is ResultStatus.REJECTED and rejected.error_code == "53100320"

    stream = zuora.read("customer")
    assert len(list(stream)) == 3
    cursor = stream.cursor
    fake.advance(3600)
    fake.add_account("A00000004", "Delta")
    second = zuora.read("customer", cursor)
    assert [c.source_id for c in second][-1] == "A00000004"
    fake.advance(3600)
    fake.add_account("A00000005", "Epsilon")
    third = zuora.read("customer", second.cursor)
    # the lookback (600 s) re-reads only what sits at the watermark; older rows stay behind
    assert [c.source_id for c in third] == ["A00000004", "A00000005"]


def test_customer_upsert_creates_then_updates_by_account_number(fake: FakeZuora) -> None:
    zuora = connector(fake)

    def account(version: str, name: str) -> WriteIntent:
        return WriteIntent.build(
            target_system="zuora",
            entity="customer",
            op=WriteOp.UPSERT,
            external_id="A00000042",
            source_system="salesforce",
            source_id="001X",
            source_version=version,
            mapping_version="m1",
            payload={"name": name, "currency": "EUR", "crmId": "001X"},
        )

    [created] = zuora.write([account("1", "Neu GmbH")])
    [updated] = zuora.write([account("2", "Neu GmbH & Co. KG")])
    assert created.status is updated.status is ResultStatus.APPLIED
    assert fake.accounts["A00000042"]["basicInfo"]["name"] == "Neu GmbH & Co. KG"
    assert fake.calls["POST /v1/accounts"] == 1 and fake.calls["PUT /v1/accounts/{key}"] == 1
    [customer] = zuora.lookup("customer", ["A00000042"]).values()
    assert customer.currency == "EUR" and customer.crosswalk == {"salesforce": "001X"}


def test_create_with_our_own_number_is_looked_up_by_number_after_a_timeout(
    fake: FakeZuora,
) -> None:
    zuora = connector(fake, read_timeout=0.25)
    intent = WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action="CreateSubscription",
        external_id="ZUORA-SF-006A",
        source_system="salesforce",
        source_id="006A",
        source_version="1",
        mapping_version="m1",
        payload={
            "accountNumber": "A00000001",
            "subscriptionNumber": "ZUORA-SF-006A",
            "orderDate": "2024-07-01",
            "triggerDates": [{"name": "ContractEffective", "triggerDate": "2024-07-01"}],
            "body": {
                "createSubscription": {
                    "subscriptionNumber": "ZUORA-SF-006A",
                    "terms": {"initialTerm": {"termType": "TERMED", "period": 12}},
                    "subscribeToRatePlans": [{"productRatePlanId": "PRP-SEAT"}],
                }
            },
        },
    )
    fake.fail_next("timeout_after_commit", path="/v1/orders")
    [result] = zuora.write([intent])
    assert result.status is ResultStatus.ALREADY_APPLIED and result.target_id == "ZUORA-SF-006A"
    assert fake.calls["GET /v1/subscriptions/{key}"] == 1  # looked up by number, no ZOQL
    assert fake.calls["POST /v1/action/query"] == 0 and len(fake.orders) == 1
    account = WriteIntent.build(
        target_system="zuora",
        entity="account",
        op=WriteOp.UPDATE,
        external_id="A00000001",
        source_system="salesforce",
        source_id="001A",
        source_version="2",
        mapping_version="m1",
        payload={"accountNumber": "A00000001", "name": "Acme Renamed"},
    )
    assert zuora.write([account])[0].status is ResultStatus.APPLIED
    assert fake.accounts["A00000001"]["basicInfo"]["name"] == "Acme Renamed"


def test_seeded_random_faults_never_duplicate_or_lose_a_subscription(fake: FakeZuora) -> None:
    fake.random_faults(seed=7, rate=0.3, kinds=("429", "503", "in_flight"), path="/v1/orders")
    zuora = connector(fake)
    intents = [create("A00000001", f"SF-{n}") for n in range(8)]
    pending, rounds = list(intents), 0
    while pending and rounds < 5:  # what the outbox does: retryable intents go again
        results = [zuora.write([intent])[0] for intent in pending]
        pending = [
            i for i, r in zip(pending, results, strict=True) if r.status is ResultStatus.RETRYABLE
        ]
        assert all(r.status in (ResultStatus.APPLIED, ResultStatus.RETRYABLE) for r in results)
        rounds += 1
    assert not pending
    per_ext = [v[-1].get("BillBridgeId__c") for v in fake.subscriptions.values()]
    assert sorted(per_ext) == sorted(f"SF-{n}" for n in range(8))  # exactly one each
    assert fake.calls["POST /v1/orders"] > 8  # the schedule really injected faults
