"""REST record API + SuiteQL against ``responses`` in strict mode (real wire shapes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
import structlog
from responses import matchers

from billbridge.errors import FatalError, RetryableError
from canonical import Customer, Invoice, Money, Payment, ResultStatus, WriteIntent, WriteOp
from connectors.base import Cursor
from connectors.netsuite import connect
from connectors.netsuite.errors import error_details
from tests.connectors.netsuite_fixtures.helpers import (
    BASE,
    CONSUMER_SECRET,
    SUITEQL,
    TOKEN_SECRET,
    TOKEN_URL,
    NoSleep,
    _fresh_netsuite_state,  # noqa: F401 - autouse fixture
    fixture_json,
    fixture_text,
    m2m_settings,
    page,
    tba_settings,
    token_response,
)


def customer_row(i: int, modified: str = "2024-05-01 10:00:00") -> dict[str, Any]:
    return {
        "links": [],
        "id": str(i),
        "entityid": f"C-{i:04d}",
        "companyname": f"Cust {i}",
        "externalid": f"SF-001{i:05d}",
        "email": None,
        "phone": None,
        "isinactive": "F",
        "currency": "USD",
        "subsidiary": "Acme Holdings",
        "parent": None,
        "terms": "Net 30",
        "creditlimit": "5000.00",
        "lastmodified": modified,
    }


def suiteql_page(
    rsps: responses.RequestsMock, *, limit: int, offset: int, body: dict[str, Any]
) -> None:
    rsps.post(
        SUITEQL,
        json=body,
        match=[
            matchers.query_param_matcher({"limit": str(limit), "offset": str(offset)}),
            matchers.header_matcher({"Prefer": "transient"}),
        ],
    )


def sent_query(call: Any) -> str:
    return str(json.loads(call.request.body)["q"])


def intent(
    eid: str, op: WriteOp = WriteOp.UPSERT, entity: str = "customer", **payload: Any
) -> WriteIntent:
    return WriteIntent.build(
        target_system="netsuite",
        entity=entity,
        op=op,
        external_id=eid,
        payload=payload or {"companyName": "Acme"},
        source_system="salesforce",
        source_id=eid.removeprefix("SF-"),
        source_version="1",
        mapping_version="m1",
    )


def test_suiteql_pages_past_the_ceiling_with_keyset_reanchoring() -> None:
    conn = connect(m2m_settings(page_size=5, suiteql_ceiling=10), sleep=NoSleep())
    rows = [customer_row(i) for i in range(1, 13)]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps, limit=5, offset=0, body=page(rows[0:5], offset=0, total=12, has_more=True)
        )
        suiteql_page(
            rsps, limit=5, offset=5, body=page(rows[5:10], offset=5, total=12, has_more=True)
        )
        # a new query anchored on the last id, paged from offset 0 again
        suiteql_page(
            rsps, limit=5, offset=0, body=page(rows[10:12], offset=0, total=2, has_more=False)
        )
        stream = conn.read("customer")
        records = list(stream)
        queries = [sent_query(c) for c in rsps.calls if c.request.url.startswith(SUITEQL)]
    assert [r.source_id for r in records] == [str(i) for i in range(1, 13)]
    assert all(isinstance(r, Customer) for r in records)
    assert "t.id >" not in queries[0] and "c.id >" not in queries[0]
    assert queries[0] == queries[1]
    assert "c.id > 10" in queries[2]
    assert all("ORDER BY c.id" in q for q in queries)
    assert "TO_CHAR(c.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodified" in queries[0]
    first = records[0]
    assert isinstance(first, Customer)
    assert first.credit_limit == Money("5000.00", "USD")
    assert any(v.endswith("00100001") for v in first.crosswalk.values())
    # 10:00 in Los Angeles (PDT) is 17:00 UTC
    assert first.updated_at == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)
    cursor = stream.cursor
    assert cursor is not None and cursor.watermark == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)


def test_incremental_read_uses_overlap_in_account_time_and_skips_seen_rows() -> None:
    conn = connect(m2m_settings(overlap_s=600), sleep=NoSleep())
    since = Cursor(
        watermark=datetime(2024, 5, 1, 17, 0, tzinfo=UTC),
        extra={"seen": {"1": "2024-05-01 10:00:00"}},
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=1000,
            offset=0,
            body=page(
                [
                    customer_row(1),
                    customer_row(2, "2024-05-01 09:55:00"),
                    customer_row(3, "2024-05-01 10:20:00"),
                ],
                offset=0,
                total=3,
                has_more=False,
            ),
        )
        stream = conn.read("customer", since)
        ids = [r.source_id for r in stream]
        query = sent_query(rsps.calls[1])
    # 17:00 UTC minus 10 minutes overlap, rendered in America/Los_Angeles
    assert (
        "c.lastmodifieddate >= TO_TIMESTAMP('2024-05-01 09:50:00', 'YYYY-MM-DD HH24:MI:SS')"
    ) in query
    assert ids == ["2", "3"]  # row 1 was delivered last run with the same stamp
    cursor = stream.cursor
    assert cursor is not None
    assert cursor.watermark == datetime(2024, 5, 1, 17, 20, tzinfo=UTC)
    # only rows inside the next overlap window (from 17:10 UTC) need remembering
    assert cursor.extra["seen"] == {"3": "2024-05-01 10:20:00"}


def test_limited_read_returns_a_resume_cursor() -> None:
    conn = connect(m2m_settings(page_size=5), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=5,
            offset=0,
            body=page([customer_row(i) for i in (4, 5, 6)], offset=0, total=3, has_more=False),
        )
        suiteql_page(
            rsps, limit=5, offset=0, body=page([customer_row(6)], offset=0, total=1, has_more=False)
        )
        first = conn.read("customer", limit=2)
        assert [r.source_id for r in first] == ["4", "5"]
        resume = first.cursor
        assert resume is not None and resume.last_id == "5"
        assert resume.extra["mode"] == "resume"
        rest = conn.read("customer", Cursor.from_json(resume.to_json()))
        assert [r.source_id for r in rest] == ["6"]
        assert "c.id > 5" in sent_query(rsps.calls[2])
    final = rest.cursor
    assert final is not None and final.last_id is None and "mode" not in final.extra


def test_invoice_lines_come_from_the_record_api_as_exact_decimals() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=1000,
            offset=0,
            body=page(
                [
                    {
                        "links": [],
                        "id": "8938",
                        "tranid": "INV-1001",
                        "externalid": "ZUORA-INV00001234",
                        "lastmodified": "2024-05-02 07:03:11",
                    }
                ],
                offset=0,
                total=1,
                has_more=False,
            ),
        )
        rsps.get(
            BASE + "record/v1/invoice/8938",
            body=fixture_text("invoice_8938.json"),
            content_type="application/json",
            match=[matchers.query_param_matcher({"expandSubResources": "true"})],
        )
        records = list(conn.read("invoice"))
        assert "t.type = 'CustInvc'" in sent_query(rsps.calls[1])
    assert len(records) == 1
    inv = records[0]
    assert isinstance(inv, Invoice)
    assert inv.number == "INV-1001" and inv.customer_id == "107"
    assert inv.total == Money(Decimal("1210.5"), "USD")
    assert inv.status.value == "posted"
    assert [line.sku for line in inv.lines] == ["SKU-PLATFORM", "SKU-OVERAGE"]
    assert inv.lines[1].unit_price == Money("3.5", "USD")
    assert inv.lines_subtotal() == inv.subtotal
    assert any(v.endswith("INV00001234") for v in inv.crosswalk.values())
    assert inv.po_number == "PO-7781"


def test_token_expiring_mid_run_is_renewed_once_with_a_fresh_assertion() -> None:
    conn = connect(m2m_settings(page_size=5), sleep=NoSleep())
    rows = [customer_row(i) for i in range(1, 8)]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response("tok-1"))
        rsps.post(TOKEN_URL, json=token_response("tok-2"))
        suiteql_page(rsps, limit=5, offset=0, body=page(rows[:5], offset=0, total=7, has_more=True))
        rsps.post(
            SUITEQL,
            status=401,
            json={
                "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
                "title": "Unauthorized",
                "status": 401,
                "o:errorDetails": [
                    {"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}
                ],
            },
        )
        suiteql_page(
            rsps, limit=5, offset=5, body=page(rows[5:], offset=5, total=7, has_more=False)
        )
        ids = [r.source_id for r in conn.read("customer")]
        auth_headers = [
            c.request.headers["Authorization"]
            for c in rsps.calls
            if c.request.url.startswith(SUITEQL)
        ]
        assertions = [c.request.body for c in rsps.calls if c.request.url == TOKEN_URL]
    assert ids == [str(i) for i in range(1, 8)]
    assert auth_headers == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert len(assertions) == 2 and assertions[0] != assertions[1]


def test_429_concurrency_limit_is_retried_with_spacing() -> None:
    sleep = NoSleep()
    conn = connect(m2m_settings(retry_wait_s=2.0), sleep=sleep)
    busy = {
        "type": "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
        "title": "Too Many Requests",
        "status": 429,
        "o:errorDetails": [
            {
                "detail": "Concurrent request limit exceeded. Request blocked.",
                "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
            }
        ],
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.post(SUITEQL, status=429, json=busy)
        rsps.post(SUITEQL, status=429, json=busy)
        suiteql_page(
            rsps,
            limit=1000,
            offset=0,
            body=page([customer_row(1)], offset=0, total=1, has_more=False),
        )
        ids = [r.source_id for r in conn.read("customer")]
    assert ids == ["1"]
    assert sleep.waits == [2.0, 2.0]


def test_concurrency_retries_give_up_after_the_configured_attempts() -> None:
    sleep = NoSleep()
    conn = connect(m2m_settings(retry_attempts=3), sleep=sleep)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.post(
            SUITEQL,
            status=429,
            json={
                "o:errorDetails": [
                    {"detail": "blocked", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}
                ]
            },
        )
        with pytest.raises(RetryableError, match="CONCURRENCY_LIMIT_EXCEEDED"):
            list(conn.read("customer"))
        assert len([c for c in rsps.calls if c.request.url.startswith(SUITEQL)]) == 3
    assert len(sleep.waits) == 2


def test_error_details_are_unpacked() -> None:
    body = {
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {
                "detail": "Invalid field value 999 for item.",
                "o:errorCode": "INVALID_CONTENT",
                "o:errorPath": "item.items[0].item",
            }
        ],
    }
    details = error_details(body)
    assert len(details) == 1
    assert details[0].code == "INVALID_CONTENT"
    assert details[0].path == "item.items[0].item"
    assert details[0].describe() == (
        "INVALID_CONTENT at item.items[0].item: Invalid field value 999 for item."
    )


def test_upsert_by_external_id_and_per_record_rejection() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    good, bad = intent("SF-0011"), intent("SF-0012")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0011",
            status=204,
            headers={"Location": BASE + "record/v1/customer/4711"},
            match=[matchers.header_matcher({"X-NetSuite-PropertyNameValidation": "error"})],
        )
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0012",
            status=400,
            json={
                "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
                "title": "Bad Request",
                "status": 400,
                "o:errorDetails": [
                    {
                        "detail": "Invalid subsidiary reference key 99.",
                        "o:errorCode": "INVALID_KEY_OR_REF",
                        "o:errorPath": "subsidiary",
                    }
                ],
            },
        )
        results = conn.write([good, bad])
        assert json.loads(rsps.calls[1].request.body) == {"companyName": "Acme"}
    assert [r.idempotency_key for r in results] == [good.idempotency_key, bad.idempotency_key]
    assert results[0].status == ResultStatus.APPLIED and results[0].target_id == "4711"
    assert results[1].status == ResultStatus.REJECTED
    assert results[1].error_code == "INVALID_KEY_OR_REF"
    assert "subsidiary" in (results[1].message or "")


def test_external_ids_are_validated_before_any_call() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True):
        results = conn.write([intent("SF-00|1"), intent("0015")])
    assert [r.status for r in results] == [ResultStatus.REJECTED, ResultStatus.REJECTED]
    assert "letters, digits" in (results[0].message or "")
    assert "prefix" in (results[1].message or "")


def test_create_looks_up_first_and_reads_the_location() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    new = intent("SF-0021", WriteOp.CREATE)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.get(
            BASE + "record/v1/customer/eid:SF-0021",
            status=404,
            json={
                "o:errorDetails": [
                    {
                        "detail": "The record instance does not exist.",
                        "o:errorCode": "NONEXISTENT_ID",
                    }
                ]
            },
        )
        rsps.post(
            BASE + "record/v1/customer",
            status=204,
            headers={"Location": BASE + "record/v1/customer/8938"},
        )
        [result] = conn.write([new])
        assert json.loads(rsps.calls[2].request.body)["externalId"] == "SF-0021"
    assert result.status == ResultStatus.APPLIED and result.target_id == "8938"


def test_create_that_times_out_is_looked_up_not_resent() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    new = intent("SF-0031", WriteOp.CREATE)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.get(
            BASE + "record/v1/customer/eid:SF-0031",
            status=404,
            json={"o:errorDetails": [{"detail": "missing", "o:errorCode": "NONEXISTENT_ID"}]},
        )
        rsps.post(BASE + "record/v1/customer", body=requests.ReadTimeout("read timed out"))
        rsps.get(
            BASE + "record/v1/customer/eid:SF-0031", json={"id": "9001", "externalId": "SF-0031"}
        )
        [result] = conn.write([new])
        posts = [
            c
            for c in rsps.calls
            if c.request.method == "POST" and c.request.url.endswith("/customer")
        ]
    assert len(posts) == 1
    assert result.status == ResultStatus.ALREADY_APPLIED and result.target_id == "9001"


def test_record_changed_is_not_resent_and_reports_unknown() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0041",
            status=400,
            json={
                "o:errorDetails": [
                    {"detail": "Record has been changed", "o:errorCode": "RCRD_HAS_BEEN_CHANGED"}
                ]
            },
        )
        rsps.get(BASE + "record/v1/customer/eid:SF-0041", json={"id": "77"})
        [result] = conn.write([intent("SF-0041")])
        assert len([c for c in rsps.calls if c.request.method == "PUT"]) == 1
    assert result.status == ResultStatus.UNKNOWN and result.target_id == "77"


def test_user_error_is_retried_a_few_times_then_rejected() -> None:
    sleep = NoSleep()
    conn = connect(m2m_settings(user_error_attempts=3), sleep=sleep)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0051",
            status=400,
            json={
                "o:errorDetails": [
                    {"detail": "Record is locked by a workflow", "o:errorCode": "USER_ERROR"}
                ]
            },
        )
        [result] = conn.write([intent("SF-0051")])
        assert len([c for c in rsps.calls if c.request.method == "PUT"]) == 3
    assert result.status == ResultStatus.REJECTED and result.error_code == "USER_ERROR"
    assert len(sleep.waits) == 2


def test_insufficient_permission_stops_the_run() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0061",
            status=403,
            json={
                "o:errorDetails": [
                    {
                        "detail": "Permission Violation: you need 'Lists -> Customers'.",
                        "o:errorCode": "INSUFFICIENT_PERMISSION",
                    }
                ]
            },
        )
        with pytest.raises(FatalError, match="INSUFFICIENT_PERMISSION"):
            conn.write([intent("SF-0061"), intent("SF-0062")])


def test_describe_reads_the_metadata_catalog_schema() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.get(
            BASE + "record/v1/metadata-catalog/customer",
            json=fixture_json("customer_metadata.json"),
            match=[matchers.header_matcher({"Accept": "application/schema+json"})],
        )
        fields = {f.name: f for f in conn.describe("customer")}
    assert fields["custentity_sf_account_id"].custom is True
    assert fields["companyName"].required and not fields["companyName"].custom
    assert fields["subsidiary"].type == "reference"
    assert fields["dateCreated"].type == "datetime" and not fields["dateCreated"].updateable


def test_tba_requests_are_signed_and_secrets_never_logged() -> None:
    conn = connect(tba_settings(retry_attempts=2), sleep=NoSleep())
    with (
        structlog.testing.capture_logs() as logs,
        responses.RequestsMock(assert_all_requests_are_fired=True) as rsps,
    ):
        rsps.post(
            SUITEQL,
            status=429,
            json={
                "o:errorDetails": [
                    {"detail": "blocked", "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}
                ]
            },
        )
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0071",
            status=500,
            json={"o:errorDetails": [{"detail": "boom", "o:errorCode": "UNEXPECTED_ERROR"}]},
        )
        with pytest.raises(RetryableError) as info:
            list(conn.read("customer"))
        results = conn.write([intent("SF-0071")])
        header = rsps.calls[0].request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert 'realm="1234567_SB1"' in header and "HMAC-SHA256" in header
    assert results[0].status == ResultStatus.RETRYABLE
    everything = repr(logs) + str(info.value) + repr(results)
    for secret in (CONSUMER_SECRET, TOKEN_SECRET):
        assert secret not in everything
    assert logs, "expected retry/error log events"


def test_a_record_deleted_between_query_and_fetch_is_skipped() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    rows = [
        {
            "links": [],
            "id": i,
            "tranid": f"INV-{i}",
            "externalid": None,
            "lastmodified": "2024-05-02 07:03:11",
        }
        for i in ("8937", "8938")
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(rsps, limit=1000, offset=0, body=page(rows, offset=0, total=2, has_more=False))
        rsps.get(
            BASE + "record/v1/invoice/8937",
            status=404,
            json={
                "o:errorDetails": [
                    {
                        "detail": "The record instance does not exist.",
                        "o:errorCode": "NONEXISTENT_ID",
                    }
                ]
            },
        )
        rsps.get(
            BASE + "record/v1/invoice/8938",
            body=fixture_text("invoice_8938.json"),
            content_type="application/json",
        )
        stream = conn.read("invoice")
        assert [r.source_id for r in stream] == ["8938"]
    assert stream.errors == []


def test_suiteql_timestamps_use_the_configured_account_timezone() -> None:
    conn = connect(m2m_settings(account_timezone="Europe/Berlin"), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=1000,
            offset=0,
            body=page([customer_row(1, "2024-05-01 10:00:00")], offset=0, total=1, has_more=False),
        )
        [record] = list(conn.read("customer"))
    assert record.updated_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # CEST is UTC+2


def test_check_reports_missing_permissions_without_failing() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=5,
            offset=0,
            body=page([{"links": [], "id": "1"}], offset=0, total=1, has_more=False),
        )
        rsps.post(
            SUITEQL,
            status=403,
            json={
                "o:errorDetails": [
                    {
                        "detail": "Permission Violation: you need 'Transactions -> Invoice'.",
                        "o:errorCode": "INSUFFICIENT_PERMISSION",
                    }
                ]
            },
        )
        report = conn.check()
    assert report.authenticated and not report.ok
    assert report.permissions == {"customer": True, "invoice": False}
    assert any("invoice" in m for m in report.messages)
    assert report.api_budget_limit == 5


def test_customer_payments_keep_only_applied_documents() -> None:
    conn = connect(m2m_settings(), sleep=NoSleep())
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        suiteql_page(
            rsps,
            limit=1000,
            offset=0,
            body=page(
                [
                    {
                        "links": [],
                        "id": "7001",
                        "tranid": "PYMT-0451",
                        "externalid": None,
                        "lastmodified": "2024-05-20 09:45:02",
                    }
                ],
                offset=0,
                total=1,
                has_more=False,
            ),
        )
        rsps.get(
            BASE + "record/v1/customerPayment/7001",
            body=fixture_text("customer_payment_7001.json"),
            content_type="application/json",
            match=[matchers.query_param_matcher({"expandSubResources": "true"})],
        )
        [payment] = list(conn.read("payment"))
        assert "t.type = 'CustPymt'" in sent_query(rsps.calls[1])
    assert isinstance(payment, Payment)
    assert payment.amount == Money("1500.25", "USD")
    assert [a.invoice_number for a in payment.applications] == ["INV-1001"]
    assert payment.unapplied_amount == Money("289.75", "USD")


def test_sales_order_upsert_replaces_the_item_sublist_and_customer_upsert_does_not() -> None:
    """connectors.md 1.4: without ?replace=item a line removed from the contract stays in
    NetSuite and lines are added again; our sales-order body carries every line."""
    conn = connect(m2m_settings(), sleep=NoSleep())
    order = intent(
        "SF-0061",
        entity="contract",
        item={"items": [{"item": {"externalId": "SKU-SEAT"}, "quantity": "15"}]},
    )
    customer = intent("SF-0011")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(TOKEN_URL, json=token_response())
        rsps.put(
            BASE + "record/v1/salesOrder/eid:SF-0061",
            status=204,
            headers={"Location": BASE + "record/v1/salesOrder/8001"},
            match=[matchers.query_param_matcher({"replace": "item"})],
        )
        rsps.put(
            BASE + "record/v1/customer/eid:SF-0011",
            status=204,
            headers={"Location": BASE + "record/v1/customer/4711"},
            match=[matchers.query_param_matcher({})],
        )
        results = conn.write([order, customer])
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.APPLIED]
