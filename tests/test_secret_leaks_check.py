"""``connectors check`` prints vendor error text; a vendor (or a proxy in front of it) that
echoes the credential it was sent must not get the secret onto the terminal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from responses import matchers
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app
from billbridge.errors import FatalError
from connectors.salesforce import SalesforceConnector, SalesforceSettings

HOST = "https://acme.my.salesforce.com"
ZUORA = "https://rest.apisandbox.zuora.com"
SF_SECRET = "9F3C1A7E5B2D4C6E8A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2"
Z_SECRET = "zs-2b7e151628aed2a6abf7158809cf4f3c"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    logs.clear_secrets()
    monkeypatch.setenv("BB_LEAK_SF_SECRET", SF_SECRET)
    monkeypatch.setenv("BB_LEAK_ZUORA_SECRET", Z_SECRET)
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\n"
        "connections:\n"
        "  sf:\n    system: salesforce\n"
        f"    instance_url: {HOST}\n    auth_mode: client_credentials\n"
        "    consumer_key: 3MVG9ck\n    consumer_secret: {secret: BB_LEAK_SF_SECRET}\n"
        "    max_attempts: 1\n"
        "  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n    client_id: cid-1\n"
        "    client_secret: {secret: BB_LEAK_ZUORA_SECRET}\n    max_attempts: 1\n"
    )
    return path


def _sf_token_refused(rsps: responses.RequestsMock) -> None:
    rsps.post(
        f"{HOST}/services/oauth2/token",
        status=400,
        json={
            "error": "invalid_client",
            "error_description": f"invalid client credentials: client_secret={SF_SECRET}",
        },
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "client_credentials",
                    "client_id": "3MVG9ck",
                    "client_secret": SF_SECRET,
                }
            )
        ],
    )


def test_salesforce_check_does_not_print_an_echoed_consumer_secret(
    rsps: responses.RequestsMock, config: Path
) -> None:
    _sf_token_refused(rsps)
    result = CliRunner().invoke(app, ["connectors", "check", "sf", "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert "invalid_client" in result.stdout
    assert SF_SECRET not in result.stdout
    # the table wraps long cells: no fragment of the secret survives either
    assert SF_SECRET[:16] not in re.sub(r"[\s│]", "", result.stdout)


def test_salesforce_token_error_never_carries_the_secret_it_was_sent(
    rsps: responses.RequestsMock,
) -> None:
    """Even when the connector was built without the config loader (nothing registered)."""
    logs.clear_secrets()
    _sf_token_refused(rsps)
    settings = SalesforceSettings(
        instance_url=HOST,
        auth_mode="client_credentials",
        consumer_key="3MVG9ck",
        consumer_secret=SF_SECRET,
        max_attempts=1,
    )
    connector = SalesforceConnector(settings, sleep=lambda _s: None)
    with pytest.raises(FatalError) as caught:
        connector.client.tokens.get()
    assert "invalid_client" in str(caught.value)
    assert SF_SECRET not in str(caught.value)


def test_zuora_check_does_not_print_an_echoed_client_secret(
    rsps: responses.RequestsMock, config: Path
) -> None:
    rsps.post(
        f"{ZUORA}/oauth/token",
        json={
            "access_token": "3f2c5a9b8e7d4c1a0b9e8d7c6b5a4f3e",
            "token_type": "bearer",
            "expires_in": 3599,
            "scope": "entity.1",
            "jti": "j1",
        },
    )
    # the shape of Zuora's gateway 403 (a top-level message), echoing the client it saw
    echoed = {"message": f"client {Z_SECRET} is not allowed to call this API"}
    rsps.post(f"{ZUORA}/v1/action/query", status=403, json=echoed)
    rsps.get(f"{ZUORA}/v1/orders", status=403, json=echoed)
    result = CliRunner().invoke(app, ["connectors", "check", "zuora", "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert "NO" in result.stdout
    flat = re.sub(r"[\s│]", "", result.stdout)
    assert Z_SECRET not in result.stdout and Z_SECRET[:12] not in flat
