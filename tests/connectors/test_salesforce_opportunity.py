"""Salesforce Opportunity + OpportunityLineItems (real queryAll JSON) -> canonical Contract
through the shipped mapping spec, as the connector runs it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import responses
from responses import matchers
from structlog.testing import capture_logs

from billbridge.errors import BudgetExhausted
from billbridge.testing.fake_salesforce import BASE_FIELDS, describe_fields
from canonical import Contract, Money
from connectors.base import ReadStream
from connectors.salesforce import SalesforceConnector, SalesforceSettings

HOST = "https://acme.my.salesforce.com"
API = f"{HOST}/services/data/v62.0"
ORG_QUERY = "SELECT DefaultCurrencyIsoCode FROM Organization"
CHILD = {
    "childSObject": "OpportunityLineItem",
    "field": "OpportunityId",
    "relationshipName": "OpportunityLineItems",
}


def opportunity(lines: list[dict[str, Any]] | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attributes": {
            "type": "Opportunity",
            "url": "/services/data/v62.0/sobjects/Opportunity/006A",
        },
        "Id": "006RO00000AAAAAYA4",
        "IsDeleted": False,
        "SystemModstamp": "2024-05-01T10:00:00.000+0000",
        "Name": "Big deal",
        "AccountId": "001RO000001AAAAYA4",
        "StageName": "Closed Won",
        "IsWon": True,
        "IsClosed": True,
        "CloseDate": "2024-04-30",
        "Amount": 1080.0,
        "Pricebook2Id": None,
        "OpportunityLineItems": None
        if lines is None
        else {"totalSize": len(lines), "done": True, "records": lines},
    }
    body.update(fields)
    return body


def line_item(n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "attributes": {
            "type": "OpportunityLineItem",
            "url": f"/sobjects/OpportunityLineItem/00k{n}",
        },
        "Id": f"00kRO00000{n}",
        "OpportunityId": "006RO00000AAAAAYA4",
        "Product2Id": "01tA",
        "ProductCode": "SKU-1",
        "Quantity": 10.0,
        "UnitPrice": 120.0,
        "ListPrice": 120.0,
        "TotalPrice": 1080.0,
        "Discount": 10.0,
        "ServiceDate": "2024-05-01",
        "Product2": {
            "attributes": {
                "type": "Product2",
                "url": "/services/data/v62.0/sobjects/Product2/01tA",
            },
            "ProductCode": "SKU-1",
            "Name": "Pro plan",
            "Family": "Subscription",
        },
    }
    body.update(fields)
    return body


def organization(currency: str) -> dict[str, Any]:
    """The REST query answer to ``ORG_QUERY``, as an org returns it."""
    return {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {
                    "type": "Organization",
                    "url": "/services/data/v62.0/sobjects/Organization/00D5g000004ABCDEA2",
                },
                "DefaultCurrencyIsoCode": currency,
            }
        ],
    }


def org_query(rsps: responses.RequestsMock, **reply: Any) -> Any:
    return rsps.get(
        f"{API}/query/", match=[matchers.query_param_matcher({"q": ORG_QUERY})], **reply
    )


def connector_for(**settings: Any) -> SalesforceConnector:
    return SalesforceConnector(
        SalesforceSettings(
            instance_url=HOST,
            auth_mode="client_credentials",
            consumer_key="ck",
            consumer_secret="s",
            **settings,
        ),
        sleep=lambda _: None,
    )


ACCOUNT = {"Id": "001A", "Name": "Acme", "SystemModstamp": "2024-05-01T10:00:00.000+0000"}


def read(
    records: list[dict[str, Any]],
    *,
    multi_currency: bool = False,
    org_currency: str | None = "USD",
    **settings: Any,
) -> tuple[list[Contract], ReadStream]:
    """Read ``records`` as contracts; the org is asked its currency (``org_currency``) when
    ``currency`` is not configured, and no other request may be made."""
    connector = SalesforceConnector(
        SalesforceSettings(
            instance_url=HOST,
            auth_mode="client_credentials",
            consumer_key="ck",
            consumer_secret="sf-consumer-secret-xyz-123",
            bulk_threshold=None,
            **settings,
        ),
        sleep=lambda _: None,
    )
    objects = ("Opportunity", "OpportunityLineItem", "Product2")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{HOST}/services/oauth2/token",
            json={"access_token": "00D!tok", "instance_url": HOST, "token_type": "Bearer"},
        )
        rsps.get(f"{API}/sobjects", json={"sobjects": [{"name": n} for n in objects]})
        for name in objects:
            rsps.get(
                f"{API}/sobjects/{name}/describe",
                json={
                    "name": name,
                    "childRelationships": [CHILD] if name == "Opportunity" else [],
                    "fields": describe_fields(
                        BASE_FIELDS[name], multi_currency=multi_currency, extra={}
                    ),
                },
            )
        rsps.get(
            f"{API}/queryAll/", json={"totalSize": len(records), "done": True, "records": records}
        )
        if org_currency is not None and "currency" not in settings:
            org_query(rsps, json=organization(org_currency))
        stream = connector.read("contract")
        found = list(stream)
    assert all(isinstance(c, Contract) for c in found)
    return found, stream  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("unit", "discount", "quantity", "total", "net"),
    [
        (120.0, 10.0, 10.0, 1080.0, "108"),
        # exact 87.49125 × 3 = 262.47375; Salesforce stores 262.47 and the line must sum to it
        (99.99, 12.5, 3.0, 262.47, "87.49"),
        # 89.99 / 3 does not terminate: the exact discounted price is kept
        (33.33, 10.0, 3.0, 89.99, "29.997"),
        (50.0, None, 2.0, 100.0, "50"),
    ],
)
def test_line_discount_is_applied_to_the_net_unit_price(
    unit: float, discount: float | None, quantity: float, total: float, net: str
) -> None:
    item = line_item(1, UnitPrice=unit, Discount=discount, Quantity=quantity, TotalPrice=total)
    [contract], stream = read([opportunity([item])])
    [line] = contract.lines
    assert not stream.errors
    assert line.net_unit_price == Money(net, "USD")
    assert line.discount_percent == (None if discount is None else Decimal(str(discount)))
    assert line.list_unit_price == Money("120", "USD")  # ListPrice, untouched
    if Decimal(net) * Decimal(str(quantity)) == Decimal(str(total)) or discount is None:
        assert line.line_total == Money(str(total), "USD")


def test_total_price_that_contradicts_the_discount_rejects_the_opportunity() -> None:
    items = [line_item(1, TotalPrice=1200.0)]  # 120 × 10 with a 10 % discount is 1080
    found, stream = read([opportunity(items), opportunity([], Id="006B")])
    assert [c.source_id for c in found] == ["006B"]
    [error] = stream.errors
    assert "00kRO000001" in str(error) and "TotalPrice 1200" in str(error)


def test_line_without_a_product2_relationship_takes_its_own_product_code() -> None:
    """Product2 can come back null (no read access to the product, or a removed one);
    the whole Opportunity was rejected with ``lines[0].sku: required``."""
    items = [line_item(1, Product2=None, ProductCode="SKU-OWN"), line_item(2)]
    [contract, empty], stream = read([opportunity(items), opportunity(None, Id="006B")])
    assert not stream.errors
    assert [line.sku for line in contract.lines] == ["SKU-OWN", "SKU-1"]
    assert empty.lines == ()
    # neither source: still a clear, named rejection
    [], stream = read([opportunity([line_item(1, Product2=None, ProductCode=None)])])
    [error] = stream.errors
    assert "006RO00000AAAAAYA4" in str(error) and "lines[0].sku" in str(error)


def test_single_currency_org_takes_the_configured_currency() -> None:
    """Single-currency orgs have no CurrencyIsoCode; the shipped specs hard-coded USD (and
    gave customers no currency), so ``currency="EUR"`` was never consulted."""
    [contract], stream = read([opportunity([line_item(1)])], currency="eur")
    assert not stream.errors and contract.currency == "EUR"
    [line] = contract.lines
    assert line.net_unit_price == Money("108", "EUR")
    assert line.list_unit_price == Money("120", "EUR")
    connector = connector_for(currency="EUR")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        customer = connector._converter("customer", "Account")(ACCOUNT)
        assert not rsps.calls  # a configured currency wins: the org is not asked
    assert customer.currency == "EUR"  # type: ignore[attr-defined]


def test_unconfigured_currency_is_the_orgs_own() -> None:
    """Without ``currency`` a EUR org's records (no CurrencyIsoCode) come out in EUR: the
    connector asks Organization.DefaultCurrencyIsoCode, once per connection."""
    [contract], stream = read([opportunity([line_item(1)])], org_currency="EUR")
    assert not stream.errors and contract.currency == "EUR"
    assert contract.lines[0].net_unit_price == Money("108", "EUR")
    connector = connector_for()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(
            f"{HOST}/services/oauth2/token",
            json={"access_token": "00D!tok", "instance_url": HOST, "token_type": "Bearer"},
        )
        org = org_query(rsps, json=organization("EUR"))
        convert = connector._converter("customer", "Account")
        first, second = convert(ACCOUNT), convert({**ACCOUNT, "Id": "001B"})
        assert len(org.calls) == 1
    assert first.currency == second.currency == "EUR"  # type: ignore[attr-defined]


def test_multi_currency_records_do_not_ask_the_org() -> None:
    [contract], stream = read(
        [opportunity([line_item(1)], CurrencyIsoCode="GBP")],
        multi_currency=True,
        org_currency=None,
    )
    assert not stream.errors and contract.currency == "GBP"


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "INSUFFICIENT_ACCESS"), (400, "INVALID_TYPE"), (400, "INVALID_FIELD")],
)
def test_unreadable_org_currency_falls_back_to_usd_with_a_warning(status: int, code: str) -> None:
    connector = connector_for()
    body = [{"message": "no access to Organization", "errorCode": code}]
    with capture_logs() as logs, responses.RequestsMock() as rsps:
        rsps.post(
            f"{HOST}/services/oauth2/token",
            json={"access_token": "00D!tok", "instance_url": HOST, "token_type": "Bearer"},
        )
        org = org_query(rsps, status=status, json=body)
        convert = connector._converter("customer", "Account")
        assert convert(ACCOUNT).currency == "USD"  # type: ignore[attr-defined]
        assert convert(ACCOUNT).currency == "USD"  # type: ignore[attr-defined]
        assert len(org.calls) == 1
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"] == "salesforce.org_currency_unreadable"
    assert "`currency`" in warning["message"] and code in warning["reason"]


def test_other_org_query_failures_are_not_taken_for_usd() -> None:
    connector = connector_for()
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    with responses.RequestsMock() as rsps:
        rsps.post(
            f"{HOST}/services/oauth2/token",
            json={"access_token": "00D!tok", "instance_url": HOST, "token_type": "Bearer"},
        )
        org_query(rsps, status=403, json=body)
        with pytest.raises(BudgetExhausted):
            connector._converter("customer", "Account")(ACCOUNT)


def test_a_record_with_its_own_currency_keeps_it() -> None:
    [contract], stream = read(
        [opportunity([line_item(1)], CurrencyIsoCode="GBP")], multi_currency=True, currency="EUR"
    )
    assert not stream.errors and contract.currency == "GBP"
    assert contract.lines[0].net_unit_price == Money("108", "GBP")


def test_currency_defaults_to_the_orgs_and_is_normalized_when_given() -> None:
    assert connector_for().settings.currency is None
    assert connector_for(currency="eur").settings.currency == "EUR"


def test_configured_currency_must_be_iso_4217() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        SalesforceSettings(
            instance_url=HOST,
            auth_mode="client_credentials",
            consumer_key="ck",
            consumer_secret="s",
            currency="EURO",
        )
