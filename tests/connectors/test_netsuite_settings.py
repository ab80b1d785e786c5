from __future__ import annotations

import pytest
from pydantic import ValidationError

from connectors.netsuite.accounts import parse_account
from tests.connectors.netsuite_fixtures.helpers import m2m_settings, tba_settings


@pytest.mark.parametrize(
    ("given", "realm", "host"),
    [
        ("1234567", "1234567", "1234567"),
        ("1234567_SB1", "1234567_SB1", "1234567-sb1"),
        ("1234567_sb1", "1234567_SB1", "1234567-sb1"),
        ("1234567-SB2", "1234567_SB2", "1234567-sb2"),
        ("tstdrv123", "TSTDRV123", "tstdrv123"),
    ],
)
def test_account_forms_are_derived(given: str, realm: str, host: str) -> None:
    acct = parse_account(given)
    assert acct.realm == realm
    assert acct.host_prefix == host
    assert acct.rest_host == f"{host}.suitetalk.api.netsuite.com"


@pytest.mark.parametrize("bad", ["", "1234 567", "1234567_SB", "1234567|SB1", "acct.1"])
def test_bad_account_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an account id"):
        parse_account(bad)


def test_settings_store_realm_form_and_derive_urls() -> None:
    s = m2m_settings(account="1234567-sb1")
    assert s.account == "1234567_SB1"
    assert s.account_id.sandbox is True
    assert s.rest_base_url == "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/"
    assert s.token_url.endswith("/services/rest/auth/oauth2/v1/token")
    assert s.wsdl_version == "2025_2"
    assert s.soap_endpoint.endswith("/services/NetSuitePort_2025_2")
    assert s.concurrency == 5


def test_soap_requires_tba_and_wsdl_version_is_checked() -> None:
    with pytest.raises(ValidationError, match=r"OAuth 2\.0 does not work with SOAP"):
        m2m_settings(transport="soap")
    assert tba_settings(transport="soap").transport == "soap"
    with pytest.raises(ValidationError, match="wsdl_version"):
        tba_settings(wsdl_version="v2023_2_0")


def test_timezone_and_prefixes_are_validated() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        m2m_settings(account_timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="prefix"):
        m2m_settings(external_id_prefixes={"salesforce": "SF|"})


def test_secrets_are_not_in_settings_repr() -> None:
    s = tba_settings()
    text = repr(s) + str(s.model_dump())
    assert "cs-secret-do-not-log" not in text
    assert "ts-secret-do-not-log" not in text
