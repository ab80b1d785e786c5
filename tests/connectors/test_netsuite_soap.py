"""SOAP transport against the genuine SuiteTalk 2023_2 WSDL, wire faked with ``responses``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import responses
import structlog

from billbridge.errors import FatalError, RetryableError
from canonical import Customer, Invoice, Money, ResultStatus, WriteIntent, WriteOp
from connectors.common.throttle import limiter
from connectors.netsuite import NetSuiteConnector, connect
from connectors.netsuite.auth_tba import build_passport
from connectors.netsuite.errors import LOAD
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.soap import SoapTransport
from tests.connectors.netsuite_fixtures.helpers import (
    CONSUMER_SECRET,
    TOKEN_SECRET,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    tba_settings,
)
from tests.connectors.netsuite_fixtures.soap_wire import SoapWire, remember_client, shared_client


@pytest.fixture
def settings(shared_dir: Path) -> NetSuiteSettings:
    wsdl = shared_dir / "netsuite-wsdl/v2023_2/netsuite.wsdl"
    if not wsdl.is_file():
        pytest.skip(f"SuiteTalk WSDL bundle not present at {wsdl}")
    return tba_settings(transport="soap", wsdl_url=str(wsdl), wsdl_version="2023_2")


def make(
    settings: NetSuiteSettings, sleep: NoSleep | None = None, *, fresh: bool = False
) -> NetSuiteConnector:
    soap = SoapTransport(
        settings,
        sleep=sleep or NoSleep(),
        client=None if fresh else shared_client(),
        passport_factory=lambda: build_passport(
            settings, nonce="12345678901234567890", timestamp=1700000000
        ),
    )
    if not fresh:
        remember_client(soap.client)
    return connect(settings, soap=soap, sleep=sleep or NoSleep())


@pytest.fixture
def wire() -> Iterator[SoapWire]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        w = SoapWire(rsps)
        yield w
        w.assert_done()


def customer_intent(n: int, op: WriteOp = WriteOp.UPSERT) -> WriteIntent:
    return WriteIntent.build(
        target_system="netsuite",
        entity="customer",
        op=op,
        external_id=f"SF-001000{n}",
        payload={"companyName": f"Co {n}", "subsidiary": {"internalId": "99" if n == 2 else "1"}},
        source_system="salesforce",
        source_id=f"001000{n}",
        source_version="1",
        mapping_version="m1",
    )


def test_client_is_built_lazily_from_the_local_wsdl(settings: NetSuiteSettings) -> None:
    conn = make(settings, fresh=True)
    assert conn.soap is not None and conn.soap._client is None  # nothing loaded yet
    client = conn.soap.client
    assert client._datacenter_url == (
        "https://1234567-sb1.suitetalk.api.netsuite.com/services/NetSuitePort_2023_2"
    )
    assert client.netsuite_binding_version == "2023_2"


def test_upsert_list_unpacks_per_record_status_inside_http_200(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("upsertList", "soap_upsertList_mixed.xml")
    results = make(settings).write([customer_intent(1), customer_intent(2), customer_intent(3)])
    assert [r.status for r in results] == [
        ResultStatus.APPLIED,
        ResultStatus.REJECTED,
        ResultStatus.UNKNOWN,
    ]
    assert results[0].target_id == "973"
    assert results[1].error_code == "INVALID_KEY_OR_REF"
    assert "subsidiary reference key 99" in (results[1].message or "")
    assert results[2].target_id == "975"  # RCRD_HAS_BEEN_CHANGED: read before resending
    body = wire.bodies[0]
    assert body.count('externalId="SF-00100') == 3
    # tokenPassport: realm-form account, HMAC-SHA256 signature of our golden inputs
    assert re.search(r"<ns\d:account[^>]*>1234567_SB1</ns\d:account>", body)
    assert 'algorithm="HMAC-SHA256"' in body
    assert (
        build_passport(settings, nonce="12345678901234567890", timestamp=1700000000).signature
        in body
    )
    assert CONSUMER_SECRET not in body and TOKEN_SECRET not in body


@pytest.mark.parametrize(
    "fault",
    [
        "soap_fault_concurrent_limit.xml",
        "soap_fault_concur_session.xml",
        "soap_fault_request_limit.xml",
    ],
)
def test_concurrency_faults_are_retried(
    settings: NetSuiteSettings, wire: SoapWire, fault: str
) -> None:
    sleep = NoSleep()
    wire.then("upsertList", fault, 500).then("upsertList", fault, 500)
    wire.then("upsertList", "soap_upsertList_ok2.xml")
    settings = settings.model_copy(update={"retry_wait_s": 2.0})
    intents = [customer_intent(1), customer_intent(3)]
    results = make(settings, sleep).write(intents)
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.APPLIED]
    assert [r.target_id for r in results] == ["981", "982"]
    assert sleep.waits == [2.0, 2.0]


@pytest.mark.parametrize("pool", [1, 5])
def test_invalid_login_without_load_is_fatal(
    settings: NetSuiteSettings, wire: SoapWire, pool: int
) -> None:
    # with a pool of one, our own slot must not count as "at the ceiling"
    wire.then("upsertList", "soap_fault_invalid_login.xml", 500)
    settings = settings.model_copy(update={"concurrency": pool})
    with pytest.raises(FatalError, match="INVALID_LOGIN_ATTEMPT"):
        make(settings).write([customer_intent(1)])


def test_invalid_login_at_the_concurrency_ceiling_is_retried(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("upsertList", "soap_fault_concur_session.xml", 500)
    wire.then("upsertList", "soap_fault_invalid_login.xml", 500)
    wire.then("upsertList", "soap_upsertList_ok2.xml")
    results = make(settings).write([customer_intent(1), customer_intent(3)])
    assert all(r.status == ResultStatus.APPLIED for r in results)
    assert LOAD.under_load(settings.account)


def test_search_pages_with_search_more_with_id_and_watermark(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("search", "soap_search_page1.xml")
    wire.then("searchMoreWithId", "soap_searchMore_page2.xml")
    since = datetime(2024, 5, 1, 16, 0, tzinfo=UTC)
    from connectors.base import Cursor

    stream = make(settings).read("customer", Cursor(watermark=since))
    records = list(stream)
    assert [r.source_id for r in records] == ["101", "102", "103"]
    assert all(isinstance(r, Customer) for r in records)
    assert wire.operations == ["search", "searchMoreWithId"]  # page 1 is not fetched twice
    assert re.search(r"<ns\d:pageIndex>2</ns\d:pageIndex>", wire.bodies[1])
    search = wire.bodies[0]
    assert 'operator="after"' in search
    assert "2024-05-01T15:50:00Z" in search  # watermark minus the 10 minute overlap
    cursor = stream.cursor
    assert cursor is not None
    assert cursor.watermark == datetime(2024, 5, 1, 17, 3, tzinfo=UTC)


def test_lookup_by_external_id_over_soap(settings: NetSuiteSettings, wire: SoapWire) -> None:
    wire.then("get", "soap_get_found.xml").then("get", "soap_get_missing.xml")
    found = make(settings).lookup("customer", ["SF-0010002", "SF-0099999"])
    assert list(found) == ["SF-0010002"]
    assert found["SF-0010002"].source_id == "102"
    assert 'externalId="SF-0010002"' in wire.bodies[0]


def test_soap_and_rest_share_one_concurrency_pool(settings: NetSuiteSettings) -> None:
    settings = settings.model_copy(
        update={"concurrency": 1, "slot_timeout_s": 0.05, "retry_attempts": 2}
    )
    conn = make(settings)
    assert conn.soap is not None
    _ = conn.soap.client
    pool = limiter("netsuite:1234567_SB1", 1)
    assert pool.acquire(timeout=1)  # a REST call elsewhere holds the only slot
    try:
        with pytest.raises(RetryableError, match="no free NetSuite concurrency slot"):
            conn.soap.call("getServerTime")
    finally:
        pool.release()


def test_no_secret_reaches_logs_over_soap(settings: NetSuiteSettings, wire: SoapWire) -> None:
    wire.then("upsertList", "soap_fault_concurrent_limit.xml", 500)
    wire.then("upsertList", "soap_upsertList_mixed.xml")
    with structlog.testing.capture_logs() as logs:
        make(settings).write([customer_intent(1), customer_intent(2), customer_intent(3)])
    text = repr(logs)
    assert CONSUMER_SECRET not in text and TOKEN_SECRET not in text
    assert any(e.get("event") == "netsuite.retry" for e in logs)


def test_user_error_records_are_resent_alone_then_succeed(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("upsertList", "soap_upsertList_user_error.xml")
    wire.then("upsertList", "soap_upsertList_ok1.xml")
    results = make(settings).write([customer_intent(1), customer_intent(3)])
    assert [(r.status, r.target_id) for r in results] == [
        (ResultStatus.APPLIED, "990"),
        (ResultStatus.APPLIED, "991"),
    ]
    assert wire.bodies[1].count("externalId=") == 1 and "SF-0010003" in wire.bodies[1]


def test_soap_invoices_with_lines_map_like_rest_records(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("search", "soap_search_invoices.xml")
    raw = list(make(settings).read_raw("invoice"))
    assert len(raw) == 1
    data = raw[0].data
    assert data["id"] == "8938" and data["currency"]["id"] == "1"
    assert data["item"]["items"][1]["amount"] == Decimal("10.5")  # doubles never stay floats
    assert data["item"]["items"][0]["item"] == {
        "id": "55",
        "refName": "SKU-PLATFORM",
        "externalId": None,
    }
    assert "_invoice" in wire.bodies[0]


def test_soap_invoice_reaches_the_canonical_model(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    wire.then("search", "soap_search_invoices.xml")
    [invoice] = list(make(settings).read("invoice"))
    assert isinstance(invoice, Invoice)
    assert invoice.number == "INV-1001" and invoice.total == Money("1210.5", "USD")
    assert [line.sku for line in invoice.lines] == ["SKU-PLATFORM", "SKU-OVERAGE"]
    assert invoice.subtotal == Money("1010.5", "USD")


def test_session_timeout_logs_in_again_once_and_repeats_the_call(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    """The SOAP faultcode is always Server.userException: the cause is the detail's
    platformFaults:code. SESSION_TIMED_OUT refused the call before anything was done."""
    wire.then("upsertList", "soap_fault_session_timed_out.xml", 500)
    wire.then("upsertList", "soap_upsertList_ok2.xml")
    results = make(settings).write([customer_intent(1), customer_intent(3)])
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.APPLIED]
    # each attempt carries its own signed tokenPassport (with TBA that is the new login)
    assert len(wire.bodies) == 2 and all("tokenPassport" in b for b in wire.bodies)


def test_session_refused_again_after_a_fresh_login_stops_the_run(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    from sync.batching import send_batch

    wire.then("upsertList", "soap_fault_session_timed_out.xml", 500)
    wire.then("upsertList", "soap_fault_session_timed_out.xml", 500)
    out = send_batch(make(settings), [customer_intent(1), customer_intent(3)])
    assert isinstance(out.fatal, FatalError)
    assert not any(r.status is ResultStatus.REJECTED for r in out.results)


def test_account_temporarily_unavailable_is_retried_with_backoff(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    sleep = NoSleep()
    wire.then("upsertList", "soap_fault_acct_temp_unavailable.xml", 500)
    wire.then("upsertList", "soap_upsertList_ok2.xml")
    settings = settings.model_copy(update={"retry_wait_s": 2.0})
    results = make(settings, sleep).write([customer_intent(1), customer_intent(3)])
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.APPLIED]
    assert sleep.waits == [2.0]


def test_invalid_credentials_fault_stops_the_run_instead_of_rejecting_records(
    settings: NetSuiteSettings, wire: SoapWire
) -> None:
    from sync.batching import send_batch

    wire.then("upsertList", "soap_fault_invalid_credentials.xml", 500)
    out = send_batch(make(settings), [customer_intent(1), customer_intent(3)])
    assert isinstance(out.fatal, FatalError)
    assert "INVALID_LOGIN_CREDENTIALS" in str(out.fatal)
    assert not any(r.status is ResultStatus.REJECTED for r in out.results)


def test_fatal_fault_after_a_written_chunk_keeps_that_chunks_results(
    settings: NetSuiteSettings, wire: SoapWire, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.netsuite import writing
    from sync.batching import send_batch

    monkeypatch.setattr(writing, "SOAP_BATCH", 2)
    wire.then("upsertList", "soap_upsertList_ok2.xml")
    wire.then("upsertList", "soap_fault_invalid_credentials.xml", 500)
    out = send_batch(make(settings), [customer_intent(n) for n in (1, 3, 4)])
    assert isinstance(out.fatal, FatalError)
    assert [r.status for r in out.results] == [
        ResultStatus.APPLIED,
        ResultStatus.APPLIED,
        ResultStatus.UNKNOWN,
    ]
    assert [r.target_id for r in out.results[:2]] == ["981", "982"]
