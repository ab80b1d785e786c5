"""Config → connection registry → real connector → loopback vendor fake, via the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from billbridge.testing.fake_zuora import FakeZuora


@pytest.fixture
def zuora() -> Iterator[FakeZuora]:
    server = FakeZuora()
    server.add_account("A00000042", "Initech LLC", "USD")
    server.add_account("A00000043", "Hooli Inc.", "EUR")
    with server:
        yield server


@pytest.fixture
def config(tmp_path: Path, zuora: FakeZuora, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BB_TEST_ZUORA_SECRET", "fake-secret")
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\n"
        "connections:\n  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n"
        f"    base_url: {zuora.url}\n    client_id: fake-client\n"
        "    client_secret: {secret: BB_TEST_ZUORA_SECRET}\n"
    )
    monkeypatch.setenv("BILLBRIDGE_CONFIG", str(path))
    return path


def test_connectors_read_prints_canonical_records(config: Path) -> None:
    result = CliRunner().invoke(app, ["connectors", "read", "zuora", "customer", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert {r["source_id"] for r in lines} == {"A00000042", "A00000043"}
    assert {r["source_system"] for r in lines} == {"zuora"}
    assert {r["name"] for r in lines} == {"Initech LLC", "Hooli Inc."}


def test_connectors_check_authenticates(config: Path) -> None:
    result = CliRunner().invoke(app, ["connectors", "check", "zuora"])
    assert result.exit_code == 0, result.output
    assert "authenticated" in result.stdout and "yes" in result.stdout


def test_unknown_connection_is_one_clear_error(config: Path) -> None:
    result = CliRunner().invoke(app, ["connectors", "read", "nope", "customer"])
    assert result.exit_code != 0
    assert "no connection named 'nope'" in str(result.exception)


def test_mappings_preview_live_reads_raw_vendor_records(config: Path) -> None:
    spec = Path(__file__).resolve().parents[2] / "mappings/specs/zuora/account_to_customer.yaml"
    result = CliRunner().invoke(
        app, ["mappings", "preview", str(spec), "--live", "zuora", "--limit", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "A00000042" in result.stdout and "Initech LLC" in result.stdout
