"""End to end over a real socket: the loopback FakeNetSuite, real timeouts and retries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
import structlog

from billbridge.errors import ConfigError, FatalError
from billbridge.testing.fake_netsuite import FakeNetSuite
from canonical import Customer, JournalLine, ResultStatus, WriteIntent, WriteOp
from connectors.netsuite import NetSuiteConnector, connect
from tests.connectors.netsuite_fixtures.fake_setup import T0, customer_body, seed
from tests.connectors.netsuite_fixtures.helpers import (
    CONSUMER_SECRET,
    TOKEN_SECRET,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    m2m_settings,
    private_key_pem,
    public_key,
    tba_settings,
)


@pytest.fixture
def fake() -> Iterator[FakeNetSuite]:
    server = FakeNetSuite(ceiling=10, public_key=public_key()).start()
    yield server
    server.stop()


def conn_for(fake: FakeNetSuite, sleep: NoSleep | None = None, **kw: object) -> NetSuiteConnector:
    settings = m2m_settings(base_url=fake.url, read_timeout_s=kw.pop("read_timeout_s", 2.0), **kw)
    return connect(settings, sleep=sleep or NoSleep())


def upsert(eid: str, op: WriteOp = WriteOp.UPSERT, **payload: object) -> WriteIntent:
    return WriteIntent.build(
        target_system="netsuite",
        entity="customer",
        op=op,
        external_id=eid,
        payload=payload or {"companyName": f"Co {eid}"},
        source_system="salesforce",
        source_id=eid,
        source_version="1",
        mapping_version="m1",
    )


def test_reads_past_the_row_ceiling_and_resumes_incrementally(fake: FakeNetSuite) -> None:
    for n in range(1, 13):
        fake.add("customer", customer_body(n), modified=T0 + timedelta(minutes=n))
    conn = conn_for(fake, page_size=5, suiteql_ceiling=10)
    stream = conn.read("customer")
    records = list(stream)
    assert [r.source_id for r in records] == [str(100 + n) for n in range(1, 13)]
    assert all(isinstance(r, Customer) for r in records)
    # the fake refuses offsets at the ceiling, so only keyset re-anchoring gets row 11+
    assert fake.count("POST", "suiteql") == 3
    cursor = stream.cursor
    assert cursor is not None and cursor.watermark == T0 + timedelta(minutes=12)

    fake.add(
        "customer",
        {**customer_body(5), "id": "105", "companyName": "Renamed"},
        modified=T0 + timedelta(minutes=30),
    )
    again = list(conn.read("customer", cursor))
    assert [r.source_id for r in again] == ["105"]


def test_a_query_silently_cut_at_the_ceiling_is_detected(fake: FakeNetSuite) -> None:
    for n in range(1, 13):
        fake.add("customer", customer_body(n), modified=T0 + timedelta(minutes=n))
    conn = conn_for(fake, page_size=5)  # client believes the ceiling is 100,000
    assert len(list(conn.read("customer"))) == 12
    assert fake.count("POST", "suiteql") == 3  # hasMore=false at 10 of totalResults 12


def test_429_then_success_and_5xx_on_upsert_are_retried(fake: FakeNetSuite) -> None:
    sleep = NoSleep()
    conn = conn_for(fake, sleep)
    fake.fault("429", method="PUT")
    fake.fault("500", method="PUT")
    [result] = conn.write([upsert("SF-0001")])
    assert result.status == ResultStatus.APPLIED
    assert fake.count("PUT", "eid:SF-0001") == 3
    assert fake.state.upserts == {"SF-0001": 1}
    assert len(sleep.waits) == 2


def test_timeout_after_commit_on_create_is_not_resent(fake: FakeNetSuite) -> None:
    conn = conn_for(fake, read_timeout_s=0.4)
    fake.fault("timeout_after_commit", method="POST", delay_s=1.2)
    [result] = conn.write([upsert("SF-0002", WriteOp.CREATE)])
    assert result.status == ResultStatus.ALREADY_APPLIED
    assert fake.state.creates == {"SF-0002": 1}
    stored = fake.by_external_id("customer", "SF-0002")
    assert stored is not None and result.target_id == stored["id"]


def test_timeout_after_commit_on_upsert_reports_unknown(fake: FakeNetSuite) -> None:
    conn = conn_for(fake, read_timeout_s=0.4)
    fake.fault("timeout_after_commit", method="PUT", delay_s=1.2)
    [result] = conn.write([upsert("SF-0003")])
    assert result.status == ResultStatus.UNKNOWN  # the runner reads before it retries
    assert fake.state.upserts == {"SF-0003": 1}
    assert result.target_id is not None


def test_token_rejected_mid_run_is_renewed(fake: FakeNetSuite) -> None:
    seed(fake, invoices=2)
    conn = conn_for(fake)
    assert len(list(conn.read("invoice"))) == 2
    fake.expire_tokens()
    assert len(list(conn.read("invoice"))) == 2
    assert len(fake.state.token_requests) == 2
    claims = fake.state.token_requests[1]["claims"]
    assert claims["exp"] - claims["iat"] <= 3600 and claims["iss"] == "client-abc"


def test_per_record_rejections_do_not_stop_the_batch(fake: FakeNetSuite) -> None:
    fake.reject("SF-0012", "INVALID_CONTENT", "Invalid email address", "email")
    conn = conn_for(fake)
    results = conn.write([upsert("SF-0011"), upsert("SF-0012"), upsert("SF-0013")])
    assert [r.status for r in results] == [
        ResultStatus.APPLIED,
        ResultStatus.REJECTED,
        ResultStatus.APPLIED,
    ]
    assert results[1].error_code == "INVALID_CONTENT" and "email" in (results[1].message or "")
    assert fake.by_external_id("customer", "SF-0013") is not None


def test_lookup_of_list_records_goes_through_suiteql(fake: FakeNetSuite) -> None:
    for n in (1, 2):
        fake.add("customer", customer_body(n), modified=T0)
    found = conn_for(fake).lookup("customer", ["SF-00100002", "SF-00199999", "bad|id"])
    assert list(found) == ["SF-00100002"]
    assert found["SF-00100002"].source_id == "102"
    assert fake.count("POST", "suiteql") == 1  # one IN (...) query, no N+1


def test_create_finds_an_existing_document_number_before_posting(fake: FakeNetSuite) -> None:
    seed(fake, invoices=1)
    stored = fake.state.records["invoice"]["9001"]
    stored.pop("externalId")  # created by hand in NetSuite, same tranid
    create = WriteIntent.build(
        target_system="netsuite",
        entity="invoice",
        op=WriteOp.CREATE,
        external_id="ZUORA-INV00000001",
        payload={"entity": {"id": "107"}},
        source_system="zuora",
        source_id="INV00000001",
        source_version="1",
        mapping_version="m1",
        business_number="INV-2001",
    )
    [result] = conn_for(fake).write([create])
    assert result.status == ResultStatus.ALREADY_APPLIED and result.target_id == "9001"
    assert fake.count("POST", "record/v1/invoice") == 0


def test_a_badly_signed_assertion_is_refused(fake: FakeNetSuite) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    conn = connect(
        m2m_settings(
            base_url=fake.url,
            auth={
                "mode": "m2m",
                "client_id": "c",
                "certificate_id": "k",
                "private_key": other,
            },
        ),
        sleep=NoSleep(),
    )
    with pytest.raises(FatalError, match="invalid_grant"):
        list(conn.read("customer"))


def test_fake_refuses_offsets_that_are_not_multiples_of_limit(fake: FakeNetSuite) -> None:
    token = requests.post(
        fake.url + "auth/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": __import__("jwt").encode(
                {
                    "iss": "x",
                    "aud": fake.url + "auth/oauth2/v1/token",
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 60,
                },
                private_key_pem(),
                algorithm="PS256",
                headers={"kid": "k"},
            ),
        },
        timeout=5,
    ).json()["access_token"]
    resp = requests.post(
        fake.url + "query/v1/suiteql",
        params={"limit": 5, "offset": 3},
        json={"q": "SELECT c.id FROM customer c"},
        timeout=5,
        headers={"Authorization": f"Bearer {token}", "Prefer": "transient"},
    )
    assert resp.status_code == 400
    assert resp.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_tba_end_to_end_and_no_secret_in_logs(fake: FakeNetSuite) -> None:
    seed(fake, invoices=1)
    fake.fault("429", method="POST", path_contains="suiteql")
    settings = tba_settings(base_url=fake.url, read_timeout_s=2.0)
    with structlog.testing.capture_logs() as logs:
        records = list(connect(settings, sleep=NoSleep()).read("invoice"))
    assert len(records) == 1
    text = json.dumps(logs, default=str)
    assert CONSUMER_SECRET not in text and TOKEN_SECRET not in text
    assert any(e.get("event") == "netsuite.retry" for e in logs)


def test_check_reports_auth_permissions_and_concurrency(fake: FakeNetSuite) -> None:
    report = conn_for(fake).check()
    assert report.ok and report.authenticated
    assert report.permissions == {"customer": True, "invoice": True}
    assert report.api_budget_limit == 5 and report.api_budget_used == 0
    bad = connect(
        m2m_settings(
            base_url=fake.url,
            auth={
                "mode": "m2m",
                "client_id": "c",
                "certificate_id": "",
                "private_key": private_key_pem(),
            },
        ),
        sleep=NoSleep(),
    ).check()
    assert not bad.ok and not bad.authenticated
    assert any("refused" in m for m in bad.messages)


def test_subsidiaries_are_raw_only_and_journals_become_lines(fake: FakeNetSuite) -> None:
    fake.add(
        "subsidiary", {"id": "1", "name": "HQ", "country": "US", "isInactive": False}, modified=T0
    )
    fake.add(
        "journalEntry",
        {
            "id": "900",
            "tranId": "JE-1",
            "tranDate": "2024-05-31",
            "currency": {"id": "1", "refName": "USD"},
            "subsidiary": {"id": "1"},
            "line": {
                "items": [
                    {
                        "line": 0,
                        "account": {"id": "1", "refName": "4000 Revenue"},
                        "credit": 100.25,
                    },
                    {"line": 1, "account": {"id": "2", "refName": "1200 AR"}, "debit": 100.25},
                ]
            },
        },
        modified=T0,
    )
    conn = conn_for(fake)
    raw = list(conn.read_raw("subsidiary"))
    assert [r.data["name"] for r in raw] == ["HQ"]
    with pytest.raises(ConfigError, match="read_raw"):
        conn.read("subsidiary")
    lines = list(conn.read("journal_line"))
    assert [str(x.amount.amount) for x in lines if isinstance(x, JournalLine)] == [
        "-100.25",
        "100.25",
    ]


def test_unknown_field_names_are_refused_not_ignored(fake: FakeNetSuite) -> None:
    seed(fake, invoices=0)  # installs the invoice schema
    bad = WriteIntent.build(
        target_system="netsuite",
        entity="invoice",
        op=WriteOp.UPSERT,
        external_id="ZUORA-INV9",
        payload={"entity": {"id": "107"}, "tranid_typo": "X"},
        source_system="zuora",
        source_id="INV9",
        source_version="1",
        mapping_version="m1",
    )
    [result] = conn_for(fake).write([bad])
    assert result.status == ResultStatus.REJECTED
    assert result.error_code == "NONEXISTENT_FIELD" and "tranid_typo" in (result.message or "")
    assert fake.by_external_id("invoice", "ZUORA-INV9") is None


def test_refused_connections_are_retryable_not_unknown() -> None:
    down = FakeNetSuite().start()
    url = down.url
    down.stop()  # nothing listens on that port any more
    sleep = NoSleep()
    conn = connect(tba_settings(base_url=url, retry_attempts=3), sleep=sleep)
    [result] = conn.write([upsert("SF-0099")])
    assert result.status == ResultStatus.RETRYABLE  # never reached NetSuite: safe to resend
    assert "unreachable" in (result.message or "")
    assert len(sleep.waits) == 2


def test_fake_hands_out_settings_that_work(fake: FakeNetSuite) -> None:
    seed(fake, invoices=2)
    conn = connect(fake.settings(), sleep=NoSleep())
    assert len(list(conn.read("invoice"))) == 2
    assert conn.settings.suiteql_ceiling == fake.ceiling


def sales_order(eid: str, *skus: str) -> WriteIntent:
    return WriteIntent.build(
        target_system="netsuite",
        entity="contract",
        op=WriteOp.UPSERT,
        external_id=eid,
        payload={
            "entity": {"externalId": "SF-C1"},
            "item": {
                "items": [
                    {"item": {"externalId": s}, "custcol_bb_line_id": s, "quantity": "1"}
                    for s in skus
                ]
            },
        },
        source_system="salesforce",
        source_id=eid,
        source_version=str(len(skus)),
        mapping_version="m1",
    )


def test_a_line_removed_from_the_contract_leaves_the_sales_order(fake: FakeNetSuite) -> None:
    """The fake merges sublists as NetSuite does unless ?replace= names them."""
    conn = conn_for(fake)
    conn.write([sales_order("SF-006A", "SKU-SEAT", "SKU-ADDON")])
    [result] = conn.write([sales_order("SF-006A", "SKU-SEAT")])
    assert result.status is ResultStatus.APPLIED
    stored = fake.by_external_id("salesOrder", "SF-006A")
    assert stored is not None
    assert [line["item"]["externalId"] for line in stored["item"]["items"]] == ["SKU-SEAT"]
