"""Salesforce connector against the HTTPS loopback FakeSalesforce: the shared contract and
end-to-end runs through simple-salesforce, TLS, timeouts, retries and faults."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from billbridge.errors import BudgetExhausted
from billbridge.testing.fake_salesforce import FakeSalesforce
from canonical import ResultStatus, WriteIntent, WriteOp
from connectors.base import Cursor, RawRecord
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.salesforce.reader import ReadBudgetExhausted
from tests.connectors.contract import ConnectorContract, Harness


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    server = FakeSalesforce(page_size=2, slow_seconds=0.6)
    server.add_field("Account", "BillBridge_Id__c")
    server.add_field("Account", "Zuora_Account_Number__c")
    for n in range(3):
        server.add(
            "Account",
            Name=f"Customer {n}",
            BillBridge_Id__c=f"NS-{n}",
            Zuora_Account_Number__c=f"A0000000{n}",
        )
    with server:
        yield server


def connector(
    fake: FakeSalesforce, sleeps: list[float] | None = None, **options: Any
) -> SalesforceConnector:
    settings = SalesforceSettings(
        instance_url=fake.url,
        auth_mode="client_credentials",
        consumer_key="fake-key",
        consumer_secret="fake-secret",
        ca_bundle=fake.ca_file,
        **{"bulk_threshold": None, "request_timeout": 5.0, **options},
    )
    return SalesforceConnector(settings, sleep=(sleeps if sleeps is not None else []).append)


def upsert(ext: str, name: str, version: str = "1") -> WriteIntent:
    return WriteIntent.build(
        target_system="salesforce",
        entity="customer",
        op=WriteOp.UPSERT,
        external_id=ext,
        payload={"Name": name},
        source_system="zuora",
        source_id=ext,
        source_version=version,
        mapping_version="m1",
    )


class TestSalesforceContract(ConnectorContract):
    @pytest.fixture
    def harness(self, fake: FakeSalesforce) -> Harness:
        return Harness(
            connector=connector(fake),
            entity="customer",
            expected_count=3,
            known_external_id="NS-1",
            lookup_entity="customer",
            make_intents=lambda: [upsert("ZU-1", "New One"), upsert("NS-2", "Renamed")],
        )


def test_incremental_sync_end_to_end_with_faults(fake: FakeSalesforce) -> None:
    sleeps: list[float] = []
    sf = connector(fake, sleeps)
    fake.fail_next("503", path="/services/data/v62.0/sobjects")
    stream = sf.read("customer")
    first = list(stream)
    assert len(first) == 3 and sleeps == [2.0]
    assert {r.crosswalk["zuora"] for r in first} == {"A00000000", "A00000001", "A00000002"}
    cursor = stream.cursor
    assert cursor is not None and cursor.last_id == max(r.source_id for r in first)

    # Bulk update: three rows share one SystemModstamp and straddle a page boundary (2/page).
    fake.advance(3600)
    ids = [fake.add("Account", Name=f"Bulk {n}", BillBridge_Id__c=f"B-{n}") for n in range(3)]
    gone = next(iter(fake.objects["Account"]))
    fake.delete("Account", gone)
    fake.expire_tokens()  # the token dies before the run ...
    fake.fail_next("401", path="/services/data/v62.0/query/")  # ... and again mid-paging
    raws = list(sf.read_raw("customer", cursor))
    # the lookback (600 s) re-reads the rows at the old watermark; the merge absorbs them
    survivors = {r.source_id for r in first} - {gone}
    assert sorted(r.data["Id"] for r in raws if not r.deleted) == sorted({*ids, *survivors})
    assert [r.data["Id"] for r in raws if r.deleted] == [gone]
    assert sf.client.tokens.fetch_count == 3  # one renewal per 401, the read never fails
    assert fake.pending_faults == 0

    # Writes: per-record results, a lock on the first try, HTTP 300 for an ambiguous id.
    fake.add("Account", Name="Dup A", BillBridge_Id__c="DUP")
    fake.add("Account", Name="Dup B", BillBridge_Id__c="DUP")
    fake.fail_next("lock", path="/services/data/v62.0/composite")
    results = sf.write([upsert("NS-0", "Renamed 0"), upsert("ZU-9", "Brand new")])
    assert [r.status for r in results] == [ResultStatus.APPLIED, ResultStatus.APPLIED]
    [ambiguous] = sf.write([upsert("DUP", "Which one?")])
    assert ambiguous.status is ResultStatus.REJECTED and ambiguous.error_code == "MULTIPLE_MATCHES"
    assert fake.calls["PATCH sobjects/Account/BillBridge_Id__c/DUP"] == 1
    names = {r["BillBridge_Id__c"]: r["Name"] for r in fake.objects["Account"].values()}
    assert names["NS-0"] == "Renamed 0" and names["ZU-9"] == "Brand new"

    status = sf.write_sync_status("customer", {results[1].target_id or "": ("Synced", None)})
    assert all(r.status is ResultStatus.APPLIED for r in status.values())
    assert (
        fake.objects["Account"][results[1].target_id or ""]["BillBridge_Sync_Status__c"] == "Synced"
    )


def test_timeout_after_commit_retries_the_upsert_without_duplicates(fake: FakeSalesforce) -> None:
    sf = connector(fake, request_timeout=0.25)
    fake.fail_next("timeout_after_commit", path="/services/data/v62.0/sobjects/Account/BillBridge")
    [result] = sf.write([upsert("ZU-77", "Slow Co")])
    assert result.status is ResultStatus.APPLIED
    assert [r["Name"] for r in fake.objects["Account"].values()].count("Slow Co") == 1
    assert fake.calls["PATCH sobjects/Account/BillBridge_Id__c/{id}"] == 2  # upsert is idempotent


def test_budget_share_stops_the_run_and_resumes(fake: FakeSalesforce) -> None:
    fake.daily_limit = 40
    for n in range(6):
        fake.advance(1)
        fake.add("Account", Name=f"More {n}")
    sf = connector(
        fake,
        max_daily_api_share=Decimal("0.1"),
        stop_at_overall_share=Decimal("0.9"),
        lookback_seconds=0,
    )
    seen: list[str] = []
    with pytest.raises(ReadBudgetExhausted) as info:
        seen.extend(drain(sf.read_raw("customer"), seen))
    resume = info.value.resume
    assert resume == Cursor(watermark=resume.watermark if resume else None, last_id=seen[-1])
    fake.daily_limit = 10_000  # a new day
    rest = [r.data["Id"] for r in connector(fake, lookback_seconds=0).read_raw("customer", resume)]
    assert len(seen) + len(rest) == 9 and not set(seen) & set(rest)
    fake.api_used = fake.daily_limit  # quota gone: the run stops instead of sleeping
    fake.fail_next("request_limit")
    with pytest.raises(BudgetExhausted):
        list(connector(fake).read_raw("customer"))


def test_describe_drives_cpq_and_currency(fake: FakeSalesforce) -> None:
    with FakeSalesforce(multi_currency=True, cpq=True) as org:
        org.add("Account", Name="Euro AG", CurrencyIsoCode="EUR")
        sf = connector(org)
        assert "SBQQ__Quote__c" in sf.available_objects()
        [customer] = list(sf.read("customer"))
        assert customer.currency == "EUR"
    assert "SBQQ__Quote__c" not in connector(fake).available_objects()


def drain(raws: Iterator[RawRecord], seen: list[str]) -> list[str]:
    """Collect ids into ``seen`` as they arrive (kept when the read stops half way)."""
    for raw in raws:
        seen.append(raw.data["Id"])
    return []


def test_calls_are_logged_without_secrets_tokens_or_soql(fake: FakeSalesforce) -> None:
    from structlog.testing import capture_logs

    sf = connector(fake)
    with capture_logs() as logs:
        assert len(list(sf.read("customer"))) == 3
        fake.expire_tokens()
        sf.write([upsert("NS-1", "Renamed")])
    calls = [e for e in logs if e["event"] == "salesforce.call"]
    assert {e["path"] for e in calls} >= {
        "/services/data/v62.0/queryAll/",
        "/services/oauth2/token",
    }
    assert all(e["api_used"] is None or e["api_used"] > 0 for e in calls)
    banned = [*fake.issued, "fake-secret", "SELECT"]  # ids may be logged, SOQL may not
    assert len(fake.issued) == 2
    assert not [b for b in banned for e in logs if b in repr(e)]


def test_records_that_fail_mapping_are_collected_and_the_rest_goes_on(
    fake: FakeSalesforce,
) -> None:
    account = next(iter(fake.objects["Account"]))
    product = fake.add("Product2", Name="Seat", ProductCode="SKU-SEAT", Family="Subscription")
    good = fake.add(
        "Opportunity",
        Name="Good",
        AccountId=account,
        StageName="Closed Won",
        IsWon=True,
        IsClosed=True,
        CloseDate="2024-05-01",
    )
    fake.add(
        "OpportunityLineItem",
        OpportunityId=good,
        Product2Id=product,
        Quantity=Decimal(5),
        UnitPrice=Decimal("12.50"),
        ServiceDate="2024-06-01",
    )
    fake.add("Opportunity", Name="No account", StageName="Prospecting", CloseDate="2024-05-02")
    stream = connector(fake).read("contract")
    [contract] = list(stream)
    assert contract.source_id == good and contract.customer_id == account
    [line] = contract.lines
    assert line.sku == "SKU-SEAT" and line.quantity == 5  # Product2.ProductCode via lookup
    assert len(stream.errors) == 1 and "customer_id" in str(stream.errors[0])


def test_cpq_objects_are_read_raw_when_the_package_is_installed() -> None:
    with FakeSalesforce(cpq=True) as org:
        quote = org.add("SBQQ__Quote__c", Name="Q-0001")
        raws = list(connector(org).read_raw("SBQQ__Quote__c"))
    assert [r.data["Id"] for r in raws] == [quote]
    assert raws[0].data["attributes"]["type"] == "SBQQ__Quote__c"


def test_single_currency_org_records_take_the_orgs_currency() -> None:
    with FakeSalesforce(org_currency="EUR") as org:
        org.add("Account", Name="Euro AG")
        org.add("Account", Name="Euro SE")
        sf = connector(org)
        assert {c.currency for c in sf.read("customer")} == {"EUR"}  # type: ignore[attr-defined]
        assert org.calls["GET query"] == 1  # the Organization query, once per connection
        [customer] = list(connector(org, currency="CHF").read("customer", limit=1))
        assert customer.currency == "CHF"  # type: ignore[attr-defined]
        assert org.calls["GET query"] == 1  # configured: the org is not asked
    with FakeSalesforce(org_currency="EUR", org_readable=False) as org:
        org.add("Account", Name="Hidden Org Inc")
        [customer] = list(connector(org).read("customer"))
        assert customer.currency == "USD"  # type: ignore[attr-defined]
