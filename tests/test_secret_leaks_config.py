"""An inline secret is refused whatever YAML type it reads as (an all-digit password is an
int), and ``config validate`` never echoes a secret field's value."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app
from config import load_config, validate_config_file

INLINE = """\
connections:
  zuora:
    system: zuora
    tenant: us_api_sandbox
    client_id: cid-1
    client_secret: 73311357
  sf:
    system: salesforce
    instance_url: https://acme.my.salesforce.com
    auth_mode: client_credentials
    consumer_key: 3MVG9ck
    consumer_secret: 4815162342
reports:
  smtp: {host: smtp.example.com, sender: ar@example.com, username: ar-bot, password: 99887766}
"""


def test_numeric_inline_secrets_are_refused_and_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "billbridge.yaml"
    path.write_text(INLINE)
    _cfg, problems = validate_config_file(path)
    by_path = {p.path: p.message for p in problems}
    inline = "secrets must not be written inline; use {secret: ENV_VAR_NAME}"
    assert by_path == {
        "connections.zuora.client_secret": inline,
        "connections.sf.consumer_secret": inline,
        "reports.smtp.password": inline,
    }
    result = CliRunner().invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 1
    for value in ("73311357", "4815162342", "99887766"):
        assert value not in result.output


def test_a_numeric_secret_inside_a_tagged_auth_block_is_never_echoed(tmp_path: Path) -> None:
    """NetSuite TBA credentials sit under a discriminated union: pydantic's error path
    carries the tag, and the type error still must not show the value."""
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        "connections:\n  netsuite:\n    system: netsuite\n    account: 1234567_SB1\n"
        "    auth:\n      mode: tba\n      consumer_key: ck-1\n"
        "      consumer_secret: 1029384756\n      token_id: tid-1\n"
        "      token_secret: 5647382910\n"
        "    wsdl_version: 2025_2\n    account_timezone: lots\n"
    )
    _cfg, problems = validate_config_file(path)
    text = "\n".join(str(p) for p in problems)
    assert "consumer_secret: secrets must not be written inline" in text
    assert "token_secret: secrets must not be written inline" in text
    assert "1029384756" not in text and "5647382910" not in text


def test_an_env_secret_is_stripped_like_a_secrets_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value set from a file (``export X=$(cat f)`` keeps no newline, a Kubernetes env
    from a secret written with ``echo`` does) is used and redacted as the vendor sees it."""
    logs.clear_secrets()
    monkeypatch.setenv("BB_LEAK_ZUORA_SECRET", "zs-2b7e151628aed2a6abf7\r\n")
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        "connections:\n  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n"
        "    client_id: cid-1\n    client_secret: {secret: BB_LEAK_ZUORA_SECRET}\n"
    )
    config = load_config(path)
    secret = config.connections["zuora"]["client_secret"]
    assert secret.get_secret_value() == "zs-2b7e151628aed2a6abf7"
    assert logs.scrub_text("invalid_client: zs-2b7e151628aed2a6abf7 rejected") == (
        "invalid_client: *** rejected"
    )
    logs.clear_secrets()
