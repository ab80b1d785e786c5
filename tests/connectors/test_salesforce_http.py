"""Salesforce connector against strict ``responses`` mocks of the real REST shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from billbridge.errors import BudgetExhausted, ConfigError
from billbridge.testing.fake_salesforce import BASE_FIELDS, describe_fields
from canonical import FailureType, ResultStatus, WriteIntent, WriteOp
from connectors.base import Cursor, RawRecord
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.salesforce.reader import ReadBudgetExhausted

FIX = Path(__file__).parent / "salesforce_fixtures"
HOST = "https://acme.my.salesforce.com"
API = f"{HOST}/services/data/v62.0"
SECRET = "sf-consumer-secret-xyz-123"
NOW = datetime(2024, 5, 2, 0, 0, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text())


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make(sleeps: list[float], **overrides: Any) -> SalesforceConnector:
    options: dict[str, Any] = {"bulk_threshold": None, **overrides}
    settings = SalesforceSettings(
        instance_url=HOST,
        auth_mode="client_credentials",
        consumer_key="ck",
        consumer_secret=SECRET,
        **options,
    )
    return SalesforceConnector(settings, sleep=sleeps.append, now=lambda: NOW)


@pytest.fixture
def sf(sleeps: list[float]) -> SalesforceConnector:
    return make(sleeps)


def token(rsps: responses.RequestsMock, value: str = "00D!tok1") -> None:
    rsps.post(
        f"{HOST}/services/oauth2/token",
        json={
            "access_token": value,
            "instance_url": HOST,
            "token_type": "Bearer",
            "id": f"{HOST}/id/00D/005",
            "issued_at": "1714557600000",
            "signature": "s",
        },
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "client_credentials", "client_id": "ck", "client_secret": SECRET}
            )
        ],
    )


def describe(
    rsps: responses.RequestsMock,
    objects: tuple[str, ...] = ("Account",),
    multi_currency: bool = False,
    usage: str = "api-usage=100/10000",
    fields: bool = True,
) -> None:
    rsps.get(
        f"{API}/sobjects",
        json={
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [{"name": n, "queryable": True} for n in (*objects, "Product2")],
        },
        headers={"Sforce-Limit-Info": usage},
    )
    for name in objects if fields else ():
        rsps.get(
            f"{API}/sobjects/{name}/describe",
            json={
                "name": name,
                "childRelationships": [],
                "fields": describe_fields(
                    BASE_FIELDS.get(name, {"Name": "string"}),
                    multi_currency=multi_currency,
                    extra={"BillBridge_Id__c": "string"},
                ),
            },
            headers={"Sforce-Limit-Info": usage},
        )


def soql_of(call: Any) -> str:
    return parse_qs(urlsplit(call.request.url).query)["q"][0]


def bearer(value: str) -> Any:
    return matchers.header_matcher({"Authorization": f"Bearer {value}"})


def upsert(ext: str, payload: dict[str, Any] | None = None, n: int = 0) -> WriteIntent:
    return WriteIntent.build(
        target_system="salesforce",
        entity="customer",
        op=WriteOp.UPSERT,
        external_id=ext,
        payload=payload or {"Name": f"Customer {n}"},
        source_system="netsuite",
        source_id=f"ns-{n}",
        source_version="1",
        mapping_version="m1",
    )


def test_keyset_read_pages_with_equal_stamps_across_the_boundary(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps)
    first = rsps.get(
        f"{API}/queryAll/", json=fixture("accounts_page1.json"), match=[bearer("00D!tok1")]
    )
    # the accounts carry no CurrencyIsoCode (single-currency org): the org's currency is read
    org = rsps.get(
        f"{API}/query/",
        match=[
            matchers.query_param_matcher({"q": "SELECT DefaultCurrencyIsoCode FROM Organization"})
        ],
        json={
            "totalSize": 1,
            "done": True,
            "records": [
                {
                    "attributes": {
                        "type": "Organization",
                        "url": "/services/data/v62.0/sobjects/Organization/00D5g000004ABCDEA2",
                    },
                    "DefaultCurrencyIsoCode": "EUR",
                }
            ],
        },
    )
    more = rsps.get(
        f"{HOST}/services/data/v62.0/query/01gRO0000016PIAYA2-2",
        json=fixture("accounts_page2.json"),
    )
    since = Cursor(watermark=datetime(2024, 5, 1, 10, 10, tzinfo=UTC), last_id="001OLD")
    raws = list(sf.read_raw("customer", since))
    query = soql_of(first.calls[0])
    assert query.startswith("SELECT Id, IsDeleted, SystemModstamp, Name")
    assert "CurrencyIsoCode" not in query  # single-currency org: describe says so
    # lookback 600 s, tie-break cleared at run start, upper bound fixed, keyset order
    assert query.endswith(
        "FROM Account WHERE SystemModstamp >= 2024-05-01T10:00:00.000Z AND "
        "SystemModstamp <= 2024-05-02T00:00:00.000Z ORDER BY SystemModstamp, Id"
    )
    assert first.calls[0].request.headers["Sforce-Query-Options"] == "batchSize=2000"
    assert len(more.calls) == 1
    assert [r.data["Id"][-7:] for r in raws] == ["AAAAYA4", "BBBBYA4", "CCCCYA4"]
    assert [r.deleted for r in raws] == [False, False, True]  # queryAll tombstone
    assert raws[0].data["attributes"]["type"] == "Account"

    stream = sf.read("customer", since)  # canonical records through the mapping spec
    rsps.get(f"{API}/queryAll/", json=fixture("accounts_page1.json"))
    records = list(stream)
    assert [r.name for r in records] == ["Acme Corp", "Beta GmbH", "Gamma Ltd"]
    assert {r.currency for r in records} == {"EUR"} and len(org.calls) == 1  # type: ignore[attr-defined]
    assert [r.extra.get("is_deleted", False) for r in records] == [False, False, True]
    assert stream.cursor == Cursor(
        watermark=datetime(2024, 5, 1, 10, 5, tzinfo=UTC), last_id="001RO000001CCCCYA4"
    )


def test_tie_break_resumes_inside_a_group_of_equal_stamps(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    sf = make(sleeps, lookback_seconds=0)
    token(rsps)
    describe(rsps)
    call = rsps.get(f"{API}/queryAll/", json=fixture("accounts_page2.json"))
    since = Cursor(watermark=datetime(2024, 5, 1, 10, 5, tzinfo=UTC), last_id="001RO000001BBBBYA4")
    assert [r.data["Id"] for r in sf.read_raw("customer", since)] == ["001RO000001CCCCYA4"]
    assert (
        "WHERE (SystemModstamp > 2024-05-01T10:05:00.000Z OR (SystemModstamp = "
        "2024-05-01T10:05:00.000Z AND Id > '001RO000001BBBBYA4')) AND SystemModstamp <= "
        "2024-05-02T00:00:00.000Z"
    ) in soql_of(call.calls[0])


def test_token_expiring_mid_run_restarts_from_the_keyset(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps, "00D!tok1")
    describe(rsps)
    rsps.get(f"{API}/queryAll/", json=fixture("accounts_page1.json"), match=[bearer("00D!tok1")])
    rsps.get(
        f"{HOST}/services/data/v62.0/query/01gRO0000016PIAYA2-2",
        status=401,
        json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
    token(rsps, "00D!tok2")
    again = rsps.get(
        f"{API}/queryAll/", json=fixture("accounts_page2.json"), match=[bearer("00D!tok2")]
    )
    ids = [r.data["Id"] for r in sf.read_raw("customer")]
    assert ids == ["001RO000001AAAAYA4", "001RO000001BBBBYA4", "001RO000001CCCCYA4"]
    assert "Id > '001RO000001BBBBYA4'" in soql_of(again.calls[0])
    assert sf.client.tokens.fetch_count == 2


def test_transient_503_is_retried_and_daily_limit_stops_the_run(
    rsps: responses.RequestsMock, sf: SalesforceConnector, sleeps: list[float]
) -> None:
    token(rsps)
    rsps.get(
        f"{API}/sobjects",
        status=503,
        json=[{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
    )
    describe(rsps)
    rsps.get(
        f"{API}/queryAll/",
        status=403,
        json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    with pytest.raises(BudgetExhausted, match="resume later"):
        list(sf.read_raw("customer"))
    assert sleeps == [2.0]  # one back-off for the 503, none for the quota


def test_budget_share_stops_cleanly_with_a_resume_cursor(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    sf = make(sleeps, lookback_seconds=0)
    token(rsps)
    describe(rsps, usage="api-usage=1000/10000")
    rsps.get(
        f"{API}/queryAll/",
        json=fixture("accounts_page1.json"),
        headers={"Sforce-Limit-Info": "api-usage=2000/10000"},
    )
    rsps.get(
        f"{HOST}/services/data/v62.0/query/01gRO0000016PIAYA2-2",
        json=fixture("accounts_page2.json"),
        headers={"Sforce-Limit-Info": "api-usage=3600/10000; per-app-api-usage=17/250(appName=bb)"},
    )
    seen: list[str] = []
    with pytest.raises(ReadBudgetExhausted) as info:
        seen.extend(drain(sf.read_raw("customer"), seen))
    assert seen[-1] == "001RO000001CCCCYA4"
    assert "25%" in str(info.value)
    assert info.value.resume == Cursor(
        watermark=datetime(2024, 5, 1, 10, 5, tzinfo=UTC), last_id="001RO000001CCCCYA4"
    )


def test_query_timeout_halves_the_window(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps)
    timeout = rsps.get(
        f"{API}/queryAll/",
        status=400,
        json=[
            {
                "message": "Your query request was running for too long.",
                "errorCode": "QUERY_TIMEOUT",
            }
        ],
    )
    since = Cursor(watermark=datetime(2024, 5, 1, 0, 10, tzinfo=UTC))
    rsps.get(f"{API}/queryAll/", json={"totalSize": 0, "done": True, "records": []})
    list(sf.read_raw("customer", since))
    first, second, third = (soql_of(c) for c in rsps.calls if "queryAll" in c.request.url)
    assert "SystemModstamp <= 2024-05-02T00:00:00.000Z" in first
    assert "SystemModstamp <= 2024-05-01T12:00:00.000Z" in second  # half of [00:00, 24:00]
    assert "SystemModstamp <= 2024-05-02T00:00:00.000Z" in third
    assert len(timeout.calls) == 1


def test_collections_upsert_unpacks_per_record_results(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps, fields=False)
    call = rsps.patch(
        f"{API}/composite/sobjects/Account/BillBridge_Id__c", json=fixture("upsert_mixed.json")
    )
    intents = [upsert(f"NS-{n}", n=n) for n in range(3)]
    results = sf.write(intents)
    assert [r.status for r in results] == [
        ResultStatus.APPLIED,
        ResultStatus.REJECTED,
        ResultStatus.RETRYABLE,
    ]
    assert results[0].target_id == "001RO000001DDDDYA4"
    assert (
        results[1].error_code == "DUPLICATE_VALUE" and results[1].failure_type is FailureType.DATA
    )
    sent = json.loads(call.calls[0].request.body)
    assert sent["allOrNone"] is False
    assert sent["records"][2] == {
        "attributes": {"type": "Account"},
        "Name": "Customer 2",
        "BillBridge_Id__c": "NS-2",
    }


def test_batch_level_rejection_is_bisected(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps, fields=False)
    intents = [upsert(f"NS-{n}", n=n) for n in range(4)]
    url = f"{API}/composite/sobjects/Account/BillBridge_Id__c"
    refused = [
        {"message": "Cannot deserialize instance of double", "errorCode": "JSON_PARSER_ERROR"}
    ]
    rsps.patch(
        url,
        status=400,
        json=refused,
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "Account"},
                            "Name": f"Customer {n}",
                            "BillBridge_Id__c": f"NS-{n}",
                        }
                        for n in range(4)
                    ],
                }
            )
        ],
    )
    rsps.patch(
        url,
        json=[
            {"id": f"001X{n}", "success": True, "errors": [], "created": False} for n in range(2)
        ],
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "Account"},
                            "Name": f"Customer {n}",
                            "BillBridge_Id__c": f"NS-{n}",
                        }
                        for n in range(2)
                    ],
                }
            )
        ],
    )
    rsps.patch(url, status=400, json=refused)
    rsps.patch(
        f"{API}/sobjects/Account/BillBridge_Id__c/NS-2",
        status=201,
        json={"id": "001X2", "success": True, "errors": [], "created": True},
    )
    rsps.patch(f"{API}/sobjects/Account/BillBridge_Id__c/NS-3", status=400, json=refused)
    results = sf.write(intents)
    assert [r.status for r in results] == [ResultStatus.APPLIED] * 3 + [ResultStatus.REJECTED]
    assert results[3].error_code == "JSON_PARSER_ERROR"
    assert [r.target_id for r in results[:3]] == ["001X0", "001X1", "001X2"]


def test_http_300_multiple_match_is_a_reconciliation_exception(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps, fields=False)
    call = rsps.patch(
        f"{API}/sobjects/Account/BillBridge_Id__c/NS%2F7",
        status=300,
        json=fixture("upsert_300.json"),
    )
    [result] = sf.write([upsert("NS/7")])
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "MULTIPLE_MATCHES" and result.failure_type is FailureType.DATA
    assert len(call.calls) == 1  # never retried


def test_sync_status_is_written_back_onto_source_records(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps, fields=False)
    call = rsps.patch(
        f"{API}/composite/sobjects",
        json=[
            {"id": "001A", "success": True, "errors": []},
            {
                "success": False,
                "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}],
            },
        ],
    )
    results = sf.write_sync_status(
        "customer", {"001A": ("Synced", None), "001B": ("Failed", "x" * 300)}
    )
    assert (
        results["001A"].status is ResultStatus.APPLIED
        and results["001B"].status is ResultStatus.REJECTED
    )
    records = json.loads(call.calls[0].request.body)["records"]
    assert records[0] == {
        "attributes": {"type": "Account"},
        "id": "001A",
        "BillBridge_Sync_Status__c": "Synced",
        "BillBridge_Sync_Message__c": None,
    }
    assert len(records[1]["BillBridge_Sync_Message__c"]) == 255


def test_field_lists_and_objects_come_from_describe(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    describe(rsps, multi_currency=True)
    call = rsps.get(f"{API}/queryAll/", json={"totalSize": 0, "done": True, "records": []})
    assert list(sf.read_raw("customer")) == []
    assert "CurrencyIsoCode" in soql_of(call.calls[0])
    assert "SBQQ__Quote__c" not in sf.available_objects()  # no CPQ package in this org
    with pytest.raises(ConfigError, match="not available"):
        sf.read_raw("SBQQ__Quote__c")
    with pytest.raises(ConfigError, match="does not handle"):
        sf.read_raw("User")


def test_large_windows_stream_through_bulk_2(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    sf = make(sleeps, bulk_threshold=50_000, bulk_poll_seconds=0)
    token(rsps)
    describe(rsps)
    count = rsps.get(f"{API}/query/", json={"totalSize": 75_000, "done": True, "records": []})
    job = rsps.post(
        f"{API}/jobs/query",
        json={
            "id": "750R0000000zlh9IAA",
            "operation": "queryAll",
            "object": "Account",
            "state": "UploadComplete",
        },
    )
    rsps.get(
        f"{API}/jobs/query/750R0000000zlh9IAA",
        json={"id": "750R0000000zlh9IAA", "state": "JobComplete"},
    )
    csv_1 = (
        '"Id","IsDeleted","SystemModstamp","Name"\n'
        '"001B","false","2024-05-01T10:00:00.000+0000","Beta"\n'
    )
    csv_2 = (
        '"Id","IsDeleted","SystemModstamp","Name"\n'
        '"001A","true","2024-05-01T11:00:00.000+0000",""\n'
    )
    rsps.get(
        f"{API}/jobs/query/750R0000000zlh9IAA/results",
        body=csv_1,
        headers={"Sforce-Locator": "MjAwMDAw", "Sforce-NumberOfRecords": "1"},
        match=[matchers.query_param_matcher({"maxRecords": "50000"})],
    )
    rsps.get(
        f"{API}/jobs/query/750R0000000zlh9IAA/results",
        body=csv_2,
        headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
        match=[matchers.query_param_matcher({"maxRecords": "50000", "locator": "MjAwMDAw"})],
    )
    reader_rows = list(sf.read_raw("customer"))
    assert [(r.data["Id"], r.deleted, r.data["Name"]) for r in reader_rows] == [
        ("001B", False, "Beta"),
        ("001A", True, None),
    ]
    assert soql_of(count.calls[0]).startswith("SELECT COUNT() FROM Account WHERE")
    body = json.loads(job.calls[0].request.body)
    assert body["operation"] == "queryAll" and "ORDER BY" not in body["query"]
    assert "BillingAddress" not in body["query"]  # Bulk 2.0 refuses compound fields


def drain(raws: Iterator[RawRecord], seen: list[str]) -> list[str]:
    """Collect ids into ``seen`` as they arrive (kept when the read stops half way)."""
    for raw in raws:
        seen.append(raw.data["Id"])
    return []


def test_child_lines_past_the_inline_limit_are_fetched(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    token(rsps)
    rsps.get(
        f"{API}/sobjects",
        json={
            "sobjects": [{"name": n} for n in ("Opportunity", "OpportunityLineItem", "Product2")]
        },
    )
    rsps.get(
        f"{API}/sobjects/Opportunity/describe",
        json={
            "name": "Opportunity",
            "fields": describe_fields(BASE_FIELDS["Opportunity"], multi_currency=False, extra={}),
            "childRelationships": [
                {
                    "childSObject": "OpportunityLineItem",
                    "field": "OpportunityId",
                    "relationshipName": "OpportunityLineItems",
                }
            ],
        },
    )
    rsps.get(
        f"{API}/sobjects/OpportunityLineItem/describe",
        json={
            "name": "OpportunityLineItem",
            "childRelationships": [],
            "fields": describe_fields(
                BASE_FIELDS["OpportunityLineItem"], multi_currency=False, extra={}
            ),
        },
    )
    rsps.get(
        f"{API}/sobjects/Product2/describe",
        json={
            "name": "Product2",
            "childRelationships": [],
            "fields": describe_fields(BASE_FIELDS["Product2"], multi_currency=False, extra={}),
        },
    )

    def line(n: int) -> dict[str, Any]:
        return {
            "attributes": {"type": "OpportunityLineItem"},
            "Id": f"00k{n}",
            "Quantity": 1,
            "Product2": {"attributes": {"type": "Product2"}, "ProductCode": f"SKU-{n}"},
        }

    query = rsps.get(
        f"{API}/queryAll/",
        json={
            "totalSize": 1,
            "done": True,
            "records": [
                {
                    "attributes": {"type": "Opportunity"},
                    "Id": "006A",
                    "IsDeleted": False,
                    "SystemModstamp": "2024-05-01T10:00:00.000+0000",
                    "OpportunityLineItems": {
                        "totalSize": 3,
                        "done": False,
                        "records": [line(0), line(1)],
                        "nextRecordsUrl": "/services/data/v62.0/query/01gCHILD-2",
                    },
                }
            ],
        },
    )
    rsps.get(f"{API}/query/01gCHILD-2", json={"totalSize": 3, "done": True, "records": [line(2)]})
    [raw] = list(sf.read_raw("contract"))
    block = raw.data["OpportunityLineItems"]
    assert [r["Id"] for r in block["records"]] == ["00k0", "00k1", "00k2"] and block["done"]
    soql = soql_of(query.calls[0])
    assert "(SELECT Id, IsDeleted, SystemModstamp, OpportunityId" in soql
    assert "Product2.ProductCode, Product2.Name, Product2.Family FROM OpportunityLineItems)" in soql


def test_deleted_ids_come_from_the_delete_log_in_utc(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    from zoneinfo import ZoneInfo

    token(rsps)
    describe(rsps, fields=False)
    call = rsps.get(
        f"{API}/sobjects/Account/deleted/",
        json={
            "deletedRecords": [
                {"id": "001RO000001CCCCYA4", "deletedDate": "2024-05-01T10:05:00.000+0000"}
            ],
            "earliestDateAvailable": "2024-04-20T00:00:00.000+0000",
            "latestDateCovered": "2024-05-02T00:00:00.000+0000",
        },
    )
    berlin = ZoneInfo("Europe/Berlin")
    found = sf.deleted_ids(
        "customer",
        datetime(2024, 5, 1, 2, 0, tzinfo=berlin),
        datetime(2024, 5, 2, 2, 0, tzinfo=berlin),
    )
    assert found == [("001RO000001CCCCYA4", datetime(2024, 5, 1, 10, 5, tzinfo=UTC))]
    query = parse_qs(urlsplit(call.calls[0].request.url).query)
    assert query == {"start": ["2024-05-01T00:00:00+00:00"], "end": ["2024-05-02T00:00:00+00:00"]}


QUOTA = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_daily_quota_on_a_write_stops_the_run_and_leaves_the_batch_pending(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    """403 REQUEST_LIMIT_EXCEEDED (daily quota): nothing was written, so the intents stay
    pending (RETRYABLE, not UNKNOWN) and the run stops (connectors.md 2.4, 4.2)."""
    from sync.batching import send_batch

    token(rsps)
    describe(rsps, fields=False)
    call = rsps.patch(f"{API}/composite/sobjects/Account/BillBridge_Id__c", status=403, json=QUOTA)
    out = send_batch(sf, [upsert(f"NS-{n}", n=n) for n in range(3)])
    assert len(call.calls) == 1
    assert isinstance(out.fatal, BudgetExhausted)
    assert [r.status for r in out.results] == [ResultStatus.RETRYABLE] * 3
    assert all(r.message and r.message.startswith("not sent") for r in out.results)


def test_quota_after_part_of_a_batch_was_written_keeps_what_was_written(
    rsps: responses.RequestsMock, sf: SalesforceConnector
) -> None:
    from sync.batching import send_batch

    token(rsps)
    describe(rsps, fields=False)
    intents = [upsert(f"NS-{n}", n=n) for n in range(201)]
    rsps.patch(
        f"{API}/composite/sobjects/Account/BillBridge_Id__c",
        json=[
            {"id": f"001X{n}", "success": True, "errors": [], "created": True} for n in range(200)
        ],
    )
    rsps.patch(f"{API}/sobjects/Account/BillBridge_Id__c/NS-200", status=403, json=QUOTA)
    out = send_batch(sf, intents)
    assert isinstance(out.fatal, BudgetExhausted)
    assert [r.status for r in out.results] == [ResultStatus.APPLIED] * 200 + [
        ResultStatus.RETRYABLE
    ]
    assert out.results[199].target_id == "001X199"


def test_own_budget_share_used_up_mid_batch_stops_before_the_next_call(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    from sync.batching import send_batch

    sf = make(sleeps)
    token(rsps)
    describe(rsps, fields=False)
    rsps.patch(
        f"{API}/composite/sobjects/Account/BillBridge_Id__c",
        json=[
            {"id": f"001X{n}", "success": True, "errors": [], "created": True} for n in range(200)
        ],
        headers={"Sforce-Limit-Info": "api-usage=9000/10000"},
    )
    out = send_batch(sf, [upsert(f"NS-{n}", n=n) for n in range(201)])
    assert isinstance(out.fatal, BudgetExhausted)
    assert out.results[0].status is ResultStatus.APPLIED
    assert out.results[200].status is ResultStatus.RETRYABLE


BULK_JOB = "750R0000000zlh9IAA"
BULK_HEAD = '"Id","IsDeleted","SystemModstamp","Name"\n'


def bulk_job(rsps: responses.RequestsMock, *states: dict[str, Any]) -> None:
    rsps.get(f"{API}/query/", json={"totalSize": 75_000, "done": True, "records": []})
    rsps.post(
        f"{API}/jobs/query",
        json={
            "id": BULK_JOB,
            "operation": "queryAll",
            "object": "Account",
            "state": "UploadComplete",
        },
    )
    for state in states:
        rsps.get(f"{API}/jobs/query/{BULK_JOB}", json={"id": BULK_JOB, **state})


def test_failed_bulk_job_is_a_config_error_naming_the_field(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    sf = make(sleeps, bulk_threshold=50_000, bulk_poll_seconds=0)
    token(rsps)
    describe(rsps)
    bulk_job(
        rsps,
        {
            "state": "Failed",
            "errorMessage": "INVALID_FIELD: \nSELECT Id, Foo__c FROM Account\n"
            "ERROR at Row:1:Column:12\nNo such column 'Foo__c' on entity 'Account'.",
        },
    )
    with pytest.raises(ConfigError, match="'Foo__c'"):
        list(sf.read_raw("customer"))


def test_bulk_results_page_that_fails_is_fetched_again_from_its_locator(
    rsps: responses.RequestsMock, sleeps: list[float]
) -> None:
    sf = make(sleeps, bulk_threshold=50_000, bulk_poll_seconds=0)
    token(rsps)
    describe(rsps)
    bulk_job(rsps, {"state": "JobComplete"})
    results = f"{API}/jobs/query/{BULK_JOB}/results"
    rsps.get(
        results,
        body=BULK_HEAD + '"001A","false","2024-05-01T10:00:00.000+0000","A"\n',
        headers={"Sforce-Locator": "MjAw", "Sforce-NumberOfRecords": "1"},
        match=[matchers.query_param_matcher({"maxRecords": "50000"})],
    )
    second = {"maxRecords": "50000", "locator": "MjAw"}
    rsps.get(
        results,
        status=503,
        json=[{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
        match=[matchers.query_param_matcher(second)],
    )
    rsps.get(
        results,
        body=BULK_HEAD + '"001B","false","2024-05-01T10:01:00.000+0000","B"\n',
        headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
        match=[matchers.query_param_matcher(second)],
    )
    assert [r.data["Id"] for r in sf.read_raw("customer")] == ["001A", "001B"]
    assert len(sleeps) == 1  # one backoff before the page was fetched again


def test_bulk_job_wait_is_bounded(rsps: responses.RequestsMock, sleeps: list[float]) -> None:
    from billbridge.errors import RetryableError

    sf = make(sleeps, bulk_threshold=50_000, bulk_poll_seconds=10, bulk_job_timeout_seconds=25)
    token(rsps)
    describe(rsps)
    bulk_job(rsps, *([{"state": "InProgress"}] * 4))
    with pytest.raises(RetryableError, match="bulk_job_timeout_seconds"):
        list(sf.read_raw("customer"))
    assert sleeps == [10, 10, 5]
