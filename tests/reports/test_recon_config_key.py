"""--recon takes the config key (what `reconcile run` takes) as well as the name the runs
are recorded under (the definition's), and refuses an unknown name (exit 2, naming the
known ones) instead of showing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.errors import ConfigError
from billbridge.state import Store
from config.loader import load_config
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.exceptions.queries import resolve_recon_names

T0 = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("BILLBRIDGE_STATE_URL", "BILLBRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    keys = {"document": "D1"}
    found = ExceptionCandidate(
        exception_id=exception_id("ar_subledger_gl", keys, "UNPOSTED"),
        recon="ar_subledger_gl",
        category="UNPOSTED",
        keys=keys,
        fingerprint="f",
        details={"period": "2026-09"},
        amount=Decimal("1000.00"),
        currency="USD",
    )
    ExceptionStore(store).record_run("ar_subledger_gl", "r1", [found], T0)
    store.close()
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        f"state: {{url: '{url}'}}\n"
        "connections:\n"
        f"  f: {{system: files, path: {tmp_path / 'x.csv'}, spec: {tmp_path / 's.yaml'}}}\n"
        "reconciliations:\n"
        "  ar_vs_gl:\n"
        "    definition: ar_subledger_gl\n"
        "    sides: {invoices: f/invoice, payments: f/payment, credit_memos: f/credit_memo,"
        " gl: f/journal_line}\n"
        "    options: {control_accounts: ['1200']}\n"
    )
    return path


def test_list_takes_the_config_key(cfg: Path) -> None:
    runner = CliRunner()
    for name in ("ar_vs_gl", "ar_subledger_gl"):
        res = runner.invoke(
            exceptions_cli.app, ["list", "--json", "--recon", name, "--config", str(cfg)]
        )
        assert res.exit_code == 0, res.output
        assert [r["keys"] for r in json.loads(res.output)] == [{"document": "D1"}]


def test_list_refuses_an_unknown_recon(cfg: Path) -> None:
    res = CliRunner().invoke(
        exceptions_cli.app, ["list", "--recon", "ar_vs_gI", "--config", str(cfg)]
    )
    assert res.exit_code == 2
    assert "ar_vs_gI" in res.output and "ar_vs_gl" in res.output
    assert "ar_subledger_gl" in res.output


def test_resolve_recon_names(cfg: Path) -> None:
    config = load_config(cfg)
    recorded = ["ar_subledger_gl", "sync:invoices"]
    assert resolve_recon_names(["ar_vs_gl"], recorded, config) == ["ar_subledger_gl"]
    assert resolve_recon_names(["ar_vs_gl", "ar_subledger_gl"], recorded, config) == [
        "ar_subledger_gl"
    ]
    assert resolve_recon_names(["sync:invoices"], recorded) == ["sync:invoices"]
    with pytest.raises(ConfigError, match="known: ar_subledger_gl, ar_vs_gl, sync:invoices"):
        resolve_recon_names(["nope"], recorded, config)


def test_report_render_takes_the_config_key_and_refuses_an_unknown_one(
    cfg: Path, tmp_path: Path
) -> None:
    from billbridge.cli.report_cmd import app as report_app

    runner = CliRunner()
    out = tmp_path / "rep"
    res = runner.invoke(
        report_app, ["render", "--recon", "ar_vs_gl", "--config", str(cfg), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "AR subledger GL" in html and "D1" in html
    res = runner.invoke(
        report_app, ["render", "--recon", "nope", "--config", str(cfg), "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "--recon 'nope': no such reconciliation" in res.output


def test_suppress_takes_the_config_key(cfg: Path) -> None:
    res = CliRunner().invoke(
        exceptions_cli.app,
        ["suppress", "--recon", "ar_vs_gl", "--category", "UNPOSTED", "--reason", "cut-off",
         "--owner", "ar", "--expires", "30d", "--actor", "ana", "--config", str(cfg)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    config = load_config(cfg)
    store = Store(config.state.url)
    try:
        (sup,) = ExceptionStore(store).suppressions()
    finally:
        store.close()
    assert sup.recon == "ar_subledger_gl"  # where the runs record it, so it applies
