"""Salesforce auth modes, settings, budget arithmetic, SOQL builders and secret hygiene."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal

import jwt
import pytest
import responses
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError
from responses import matchers
from structlog.testing import capture_logs

from billbridge.errors import BudgetExhausted, FatalError
from connectors.salesforce import SalesforceConnector, SalesforceSettings, soql
from connectors.salesforce.budget import ApiBudget

HOST = "https://acme--uat.sandbox.my.salesforce.com"


def rsa_pem() -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


def test_jwt_bearer_posts_a_signed_assertion_to_the_my_domain_host() -> None:
    pem, public = rsa_pem()
    settings = SalesforceSettings(
        instance_url=HOST,
        environment="sandbox",
        auth_mode="jwt",
        consumer_key="3MVG9ck",
        username="int@acme.com.uat",
        private_key=pem,
    )
    sf = SalesforceConnector(settings, sleep=lambda _: None)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        call = rsps.post(
            f"{HOST}/services/oauth2/token",
            json={
                "access_token": "00D!jwt",
                "instance_url": HOST,
                "token_type": "Bearer",
                "id": "x",
                "scope": "api",
            },
        )
        assert sf.client.tokens.get().get_secret_value() == "00D!jwt"
    form = dict(pair.split("=", 1) for pair in call.calls[0].request.body.split("&"))
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    claims = jwt.decode(
        form["assertion"], public, algorithms=["RS256"], audience="https://test.salesforce.com"
    )  # sandbox audience
    assert claims["iss"] == "3MVG9ck" and claims["sub"] == "int@acme.com.uat"


def test_refused_login_is_fatal_and_names_the_cause_not_the_secret() -> None:
    secret = "cc-secret-never-shown-42"
    settings = SalesforceSettings(
        instance_url=HOST, auth_mode="client_credentials", consumer_key="ck", consumer_secret=secret
    )
    sf = SalesforceConnector(settings, sleep=lambda _: None)
    with capture_logs() as logs, responses.RequestsMock() as rsps:
        rsps.post(
            f"{HOST}/services/oauth2/token",
            status=400,
            json={"error": "invalid_client", "error_description": "invalid client credentials"},
            match=[
                matchers.urlencoded_params_matcher(
                    {"grant_type": "client_credentials", "client_id": "ck", "client_secret": secret}
                )
            ],
        )
        report = sf.check()
        with pytest.raises(FatalError, match="invalid_client") as info:
            sf.client.tokens.get()
        structlog.get_logger("t").error("login failed", exc_info=info.value)
    assert report.ok is False and report.authenticated is False
    assert secret not in str(info.value) and secret not in " ".join(report.messages)
    assert logs and all(secret not in repr(event) for event in logs)
    assert secret not in repr(settings)


def test_password_login_still_works_but_warns() -> None:
    with pytest.warns(DeprecationWarning, match="retiring"):
        settings = SalesforceSettings(
            instance_url="https://acme.my.salesforce.com",
            auth_mode="password",
            username="u@acme.com",
            password="pw",
            security_token="tok",
        )
    sf = SalesforceConnector(settings, sleep=lambda _: None)
    soap = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.'
        'xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse>"
        "<result><serverUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D</serverUrl>"
        "<sessionId>00D!soap</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post("https://acme.my.salesforce.com/services/Soap/u/62.0", body=soap)
        assert sf.client.tokens.get().get_secret_value() == "00D!soap"


def test_settings_refuse_incomplete_auth_and_bad_hosts() -> None:
    with pytest.raises(ValidationError, match="needs consumer_key, username, private_key"):
        SalesforceSettings(instance_url=HOST, auth_mode="jwt")
    with pytest.raises(ValidationError, match="https"):
        SalesforceSettings(
            instance_url="http://acme.my.salesforce.com",
            auth_mode="client_credentials",
            consumer_key="k",
            consumer_secret="s",
        )
    with pytest.raises(ValidationError, match="leading 'v'"):
        SalesforceSettings(
            instance_url=HOST,
            api_version="v62.0",
            auth_mode="client_credentials",
            consumer_key="k",
            consumer_secret="s",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # modern auth modes must not warn
        SalesforceSettings(
            instance_url=HOST, auth_mode="client_credentials", consumer_key="k", consumer_secret="s"
        )


def test_budget_stops_at_run_share_and_overall_ceiling() -> None:
    budget = ApiBudget(Decimal("0.25"), Decimal("0.80"))
    budget.observe("api-usage=7000/10000")
    budget.start_run()
    budget.observe("api-usage=7900/10000")
    budget.check()  # 900 this run, 79 % overall: still fine
    budget.observe("api-usage=8000/10000")
    with pytest.raises(BudgetExhausted, match="80%"):
        budget.check()
    fresh = ApiBudget(Decimal("0.25"), Decimal("0.80"))
    fresh.observe("api-usage=100/10000")
    fresh.observe("api-usage=2600/10000")
    with pytest.raises(BudgetExhausted, match="25%"):
        fresh.check()


def test_soql_literals_and_escaping() -> None:
    assert soql.dt(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000Z"
    with pytest.raises(ValueError, match="timezone"):
        soql.dt(datetime(2024, 1, 1))
    assert soql.quote("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    query = soql.by_values(["Id"], "Account", None, "Ext__c", ["a'b", "c"])
    assert query == "SELECT Id FROM Account WHERE Ext__c IN ('a\\'b', 'c')"


def test_builtin_conversions_handle_discounts_currency_and_tombstones() -> None:
    """The fallback conversions (used where no shipped mapping spec covers an entity)."""
    from connectors.salesforce import to_canonical

    ctx = to_canonical.Context("USD", {"zuora": "Zuora_Account_Number__c"})
    opportunity = {
        "attributes": {"type": "Opportunity"},
        "Id": "006A",
        "AccountId": "001A",
        "Name": "Deal",
        "IsWon": True,
        "IsClosed": True,
        "CloseDate": "2024-05-01",
        "CurrencyIsoCode": "EUR",
        "SystemModstamp": "2024-05-01T10:00:00.000+0000",
        "IsDeleted": True,
        "OpportunityLineItems": {
            "totalSize": 1,
            "done": True,
            "records": [
                {
                    "Id": "00kA",
                    "ProductCode": "SKU-1",
                    "Quantity": Decimal(4),
                    "UnitPrice": Decimal("100.00"),
                    "ListPrice": Decimal("120.00"),
                    "Discount": Decimal("12.5"),
                    "ServiceDate": "2024-06-01",
                }
            ],
        },
    }
    contract = to_canonical.contract(opportunity, ctx)
    [line] = contract.lines
    assert contract.currency == "EUR" and str(contract.start_date) == "2024-06-01"
    assert line.net_unit_price.amount == Decimal("87.5") and line.line_total.amount == Decimal(
        "350"
    )
    assert contract.extra == {"is_deleted": True}
    price = to_canonical.price(
        {"Id": "01u", "ProductCode": "SKU-1", "UnitPrice": Decimal("9.99")}, ctx
    )
    assert price.unit_price.currency == "USD" and price.sku == "SKU-1"
    account = to_canonical.customer(
        {"Id": "001A", "Name": "Acme", "Zuora_Account_Number__c": "A1"}, ctx
    )
    assert account.crosswalk == {"zuora": "A1"}


def test_a_broken_private_key_is_reported_without_its_content() -> None:
    body = "TUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFD"
    broken = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    settings = SalesforceSettings(
        instance_url=HOST,
        auth_mode="jwt",
        consumer_key="ck",
        username="u@acme.com",
        private_key=broken,
    )
    sf = SalesforceConnector(settings, sleep=lambda _: None)
    with capture_logs() as logs, pytest.raises(FatalError, match="not a usable RSA PEM") as info:
        sf.client.tokens.get()
    assert "TUlJRXZR" not in str(info.value) and "TUlJRXZR" not in repr(logs)
