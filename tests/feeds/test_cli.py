"""``billbridge feeds parse|import`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.feeds.cli import app
from tests.feeds.conftest import FIXTURES

runner = CliRunner()


def test_parse_json_lines_one_per_transaction_and_remittance_line() -> None:
    res = runner.invoke(app, ["parse", str(FIXTURES / "camt/camt053_v02_quirks.xml"), "--json"])
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    kinds = [r["kind"] for r in rows]
    assert kinds.count("bank_transaction") == 4
    assert kinds.count("remittance_line") == 3
    first = next(r for r in rows if r["kind"] == "bank_transaction")
    assert (first["amount"], first["currency"]) == ("1000.12345", "EUR")
    assert isinstance(first["amount"], str)
    assert "4 transactions, 2 remittances" in res.stderr
    assert "warning unknown_currency" in res.stderr


def test_parse_text_output_and_forced_format() -> None:
    path = FIXTURES / "bai2/quirks.bai2"
    res = runner.invoke(app, ["parse", str(path), "--format", "bai2"])
    assert res.exit_code == 0
    assert "-1.500 BHD" in res.stdout
    assert len(res.stdout.splitlines()) == 9


def test_parse_error_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bai2"
    bad.write_bytes((FIXTURES / "bai2/quirks.bai2").read_bytes().replace(b"49,+215000", b"49,1"))
    res = runner.invoke(app, ["parse", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}, line 14" in res.stderr
    assert "control total" in res.stderr
    assert res.stdout == ""


def test_parse_csv_with_profile_file(tmp_path: Path) -> None:
    profile = Path("connectors/feeds/csv_profiles/example_de_semicolon.yaml").resolve()
    res = runner.invoke(
        app, ["parse", str(FIXTURES / "csv/de_semicolon.csv"), "--profile", str(profile), "--json"]
    )
    assert res.exit_code == 0, res.stderr
    amounts = [json.loads(line)["amount"] for line in res.stdout.splitlines()]
    assert amounts == ["1234.56", "-89.90"]


def test_parse_unknown_csv_asks_for_profile(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    res = runner.invoke(app, ["parse", str(path)])
    assert res.exit_code == 2
    assert "--profile" in res.stderr


def test_import_uses_env_state_url_and_skips_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "state.db"
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", f"sqlite:///{db}")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "s.sta").write_bytes((FIXTURES / "mt940/mt940_quirks.sta").read_bytes())
    res = runner.invoke(app, ["import", str(drop)])
    assert res.exit_code == 0, res.stderr
    assert "imported" in res.stdout
    assert db.exists()
    res = runner.invoke(app, ["import", str(drop / "s.sta")])
    assert res.exit_code == 0
    assert "skipped" in res.stdout
    assert "already imported" in res.stdout


def test_import_failure_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01 nothing we know")
    res = runner.invoke(app, ["import", str(bad), "--state-url", f"sqlite:///{tmp_path}/s.db"])
    assert res.exit_code == 2
    assert "failed" in res.stderr
