"""The whole chain over real sockets: FakeSalesforce -> Salesforce connector -> sync ->
Zuora connector -> FakeZuora. A won Opportunity becomes a subscription; a quantity change
on its line becomes an UpdateProduct; nothing is written twice."""

from __future__ import annotations

from decimal import Decimal

from billbridge.state import Store
from billbridge.testing.fake_salesforce import FakeSalesforce
from billbridge.testing.fake_zuora import FakeZuora
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from connectors.zuora import ZuoraConnector, ZuoraSettings
from sync.runner import RunReport, run_job
from sync.settings import SyncJobSettings

JOB = SyncJobSettings(
    name="sf_to_zuora",
    source="sf",
    target="zuora",
    target_kind="zuora",
    catalog={"SKU-SEAT": ("PRP-SEAT", "PRPC-SEAT")},
)


def test_opportunity_to_subscription_and_a_quantity_change(sqlite_store: Store) -> None:
    with FakeSalesforce(multi_currency=True) as sf, FakeZuora() as zu:
        zu.add_product(
            "PRP-SEAT",
            "SKU-SEAT",
            [{"productRatePlanChargeId": "PRPC-SEAT", "name": "Seat", "price": "10"}],
        )
        account = sf.add("Account", Name="Acme", BillingCity="Berlin", CurrencyIsoCode="USD")
        opp = sf.add(
            "Opportunity",
            Name="Acme 2025",
            AccountId=account,
            IsWon=True,
            CurrencyIsoCode="USD",
            IsClosed=True,
            StageName="Closed Won",
            CloseDate="2025-01-01",
        )
        seat = sf.add(
            "Product2", Name="Seat", ProductCode="SKU-SEAT", Family="Subscription", IsActive=True
        )
        item = sf.add(
            "OpportunityLineItem",
            OpportunityId=opp,
            Product2Id=seat,
            ProductCode="SKU-SEAT",
            Quantity=Decimal(3),
            UnitPrice=Decimal("12.50"),
            ServiceDate="2025-01-01",
        )
        source = SalesforceConnector(
            SalesforceSettings(
                instance_url=sf.url,
                auth_mode="client_credentials",
                consumer_key="fake-key",
                consumer_secret="fake-secret",
                ca_bundle=sf.ca_file,
                bulk_threshold=None,
                request_timeout=5.0,
            ),
            sleep=lambda s: None,
        )
        target = ZuoraConnector(
            ZuoraSettings(
                tenant="us_api_sandbox",
                base_url=zu.url,
                client_id="fake-client",
                client_secret="fake-secret",
                read_timeout=2.0,
            ),
            sleep=lambda s: None,
        )

        def sync() -> RunReport:
            return run_job(
                JOB,
                source=source,
                target=target,
                store=sqlite_store,
                mode="apply",
                sleep=lambda s: None,
            )

        first = sync()
        assert first.counts["applied"] == 2, (first.counts, first.plan.errors)
        number = f"SF-{opp}"
        sub = zu.subscriptions[number][-1]
        assert sub["accountNumber"] == f"SF-{account}"
        charge = sub["ratePlans"][0]["ratePlanCharges"][0]
        assert (Decimal(str(charge["price"])), Decimal(str(charge["quantity"]))) == (
            Decimal("12.50"),
            Decimal(3),
        )

        sf.advance(120)
        sf.touch("OpportunityLineItem", item, Quantity=Decimal(5))
        sf.touch("Opportunity", opp)  # a line change moves the parent's SystemModstamp
        second = sync()
        assert [i.action for i in second.plan.intents()] == ["UpdateProduct"]
        charge = zu.subscriptions[number][-1]["ratePlans"][0]["ratePlanCharges"][0]
        assert Decimal(str(charge["quantity"])) == 5

        orders = len(zu.orders)
        assert sync().api_calls == 0 and len(zu.orders) == orders  # nothing changed
        assert len(zu.accounts) == 1 and len(zu.subscriptions) == 1
