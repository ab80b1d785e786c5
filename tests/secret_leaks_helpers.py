"""Shared setup for the secret-leak tests: the secrets a vendor (or a proxy in front of it)
echoes back, the configuration that reads them from the environment, Zuora's token answer,
and the CLI run the way a user starts it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import responses

from billbridge import logs
from billbridge.cli import main

HOST = "https://acme.my.salesforce.com"
ZUORA = "https://rest.apisandbox.zuora.com"
SF_SECRET = "9F3C1A7E5B2D4C6E8A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2"
Z_SECRET = "zs-2b7e151628aed2a6abf7158809cf4f3c"
ZUORA_TOKEN = "3f2c5a9b8e7d4c1a0b9e8d7c6b5a4f3e"

#: the environment variables the connections below read their secrets from
_SECRET_ENV = {"BB_LEAK_SF_SECRET": SF_SECRET, "BB_LEAK_ZUORA_SECRET": Z_SECRET}

SF_CONNECTION = (
    "  sf:\n    system: salesforce\n"
    f"    instance_url: {HOST}\n    auth_mode: client_credentials\n"
    "    consumer_key: 3MVG9ck\n    consumer_secret: {secret: BB_LEAK_SF_SECRET}\n"
    "    max_attempts: 1\n"
)
ZUORA_CONNECTION = (
    "  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n    client_id: cid-1\n"
    "    client_secret: {secret: BB_LEAK_ZUORA_SECRET}\n"
)


def leaky_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """``billbridge.yaml`` with a SQLite state store and ``body``; the secrets it names are
    set in the environment, none registered for redaction yet."""
    logs.clear_secrets()
    for name, value in _SECRET_ENV.items():
        if name in body:
            monkeypatch.setenv(name, value)
    path = tmp_path / "billbridge.yaml"
    path.write_text(f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\n" + body)
    return path


def zuora_token(rsps: responses.RequestsMock, value: str, **extra: Any) -> None:
    """Zuora's OAuth answer handing out bearer token ``value``."""
    rsps.post(
        f"{ZUORA}/oauth/token",
        json={"access_token": value, "token_type": "bearer", "expires_in": 3599, **extra},
    )


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int | str | None:
    """``billbridge ARGS`` as started from a shell; the code it exits with."""
    monkeypatch.setattr(sys, "argv", ["billbridge", *args])
    with pytest.raises(SystemExit) as done:
        main.run()
    return done.value.code
