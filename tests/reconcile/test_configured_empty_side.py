"""A configured built-in reconciliation refuses a side that read no records (a header-only
export): over it every open exception would be recorded as resolved by the data."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from billbridge.demo.pipeline import DATA
from billbridge.errors import ConfigError
from billbridge.state import Store
from config.loader import load_config
from reconcile.configured import run_configured
from reconcile.exceptions import ExceptionStore

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "mappings" / "specs" / "exports"
DEMO_SPECS = ROOT / "billbridge" / "demo" / "specs"


def _config(tmp: Path) -> Path:
    for name in ("zuora_invoices.csv", "netsuite_invoices.csv", "customer_crosswalk.csv"):
        shutil.copy(DATA / name, tmp / name)

    def conn(name: str, file: str, spec: str) -> str:
        return f"  {name}:\n    system: files\n    path: {tmp / file}\n    spec: {SPECS / spec}\n"

    path = tmp / "billbridge.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp / 'state.db'}\nconnections:\n"
        + conn("zinv", "zuora_invoices.csv", "zuora_invoices.yaml")
        + conn("nsinv", "netsuite_invoices.csv", "netsuite_invoices.yaml")
        + conn("xwalk", "customer_crosswalk.csv", str(DEMO_SPECS / "customer_crosswalk.yaml"))
        + "reconciliations:\n  invoices:\n    definition: billing_vs_erp_invoices\n"
        "    sides: {a: zinv/invoice, b: nsinv/invoice, customers: xwalk/customer}\n"
    )
    return path


def test_a_header_only_export_is_refused_and_nothing_is_resolved(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    store = Store(config.state.url)
    try:
        day1 = datetime(2026, 12, 1, 6, tzinfo=UTC)
        first = run_configured(config, "invoices", store=store, now=day1)
        assert first.new  # the demo's planted invoice breaks
        erp = tmp_path / "netsuite_invoices.csv"
        header = erp.read_text(encoding="utf-8").splitlines()[0]
        erp.write_text(header + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"side b \(nsinv/invoice\) read no records"):
            run_configured(config, "invoices", store=store, now=day1 + timedelta(days=1))
        open_now = ExceptionStore(store).list("billing_vs_erp_invoices", now=day1)
        assert sorted(v.id for v in open_now) == sorted(first.new)
        assert all(v.run_state == "NEW" for v in open_now)
    finally:
        store.close()


def test_run_all_goes_on_past_a_failed_reconciliation_and_exits_2(tmp_path: Path) -> None:
    """A late or broken export fails its own reconciliation; the others still run and are
    recorded, and the command ends with exit 2 naming the failed one."""
    from typer.testing import CliRunner

    from reconcile.cli import app

    path = _config(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  aging:\n    definition: ar_aging\n    sides: {invoices: nsinv/invoice}\n",
        encoding="utf-8",
    )
    billing = tmp_path / "zuora_invoices.csv"
    billing.write_text(billing.read_text(encoding="utf-8").splitlines()[0] + "\n", "utf-8")
    result = CliRunner().invoke(app, ["run", "--all", "--config", str(path)])
    assert result.exit_code == 2
    assert "error: invoices: reconciliations.invoices: side a (zinv/invoice)" in result.stderr
    assert "1 of 2 reconciliations failed: invoices" in result.stderr
    assert "aging: NEW" in result.stdout
    store = Store(load_config(path).state.url)
    try:
        xs = ExceptionStore(store)
        assert xs.list("ar_aging") and not xs.list("billing_vs_erp_invoices")
    finally:
        store.close()
