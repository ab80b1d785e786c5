"""``connectors check`` prints vendor error text; a vendor (or a proxy in front of it) that
echoes the credential it was sent must not get the secret onto the terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses
from responses import matchers
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app
from billbridge.errors import FatalError
from connectors.salesforce import SalesforceConnector, SalesforceSettings
from tests.secret_leaks_helpers import (
    HOST,
    SF_CONNECTION,
    SF_SECRET,
    Z_SECRET,
    ZUORA,
    ZUORA_CONNECTION,
    ZUORA_TOKEN,
    leaky_config,
    zuora_token,
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    body = "connections:\n" + SF_CONNECTION + ZUORA_CONNECTION + "    max_attempts: 1\n"
    return leaky_config(tmp_path, monkeypatch, body)


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
    zuora_token(rsps, ZUORA_TOKEN, scope="entity.1", jti="j1")
    # the shape of Zuora's gateway 403 (a top-level message), echoing the client it saw
    echoed = {"message": f"client {Z_SECRET} is not allowed to call this API"}
    rsps.post(f"{ZUORA}/v1/action/query", status=403, json=echoed)
    rsps.get(f"{ZUORA}/v1/orders", status=403, json=echoed)
    result = CliRunner().invoke(app, ["connectors", "check", "zuora", "-c", str(config)])
    assert result.exit_code == 1, result.output
    assert "NO" in result.stdout
    flat = re.sub(r"[\s│]", "", result.stdout)
    assert Z_SECRET not in result.stdout and Z_SECRET[:12] not in flat
