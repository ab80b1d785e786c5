"""The AR suite's calculators run from the config file like any reconciliation: sides read
from connections, findings recorded (and kept across runs) in the exception store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from billbridge.demo.pipeline import DATA
from billbridge.errors import ConfigError
from billbridge.state import Store
from config.loader import load_config
from reconcile.configured import run_configured
from reconcile.exceptions import ExceptionStore

SPECS = Path(__file__).resolve().parents[2] / "mappings" / "specs" / "exports"


def _config(tmp: Path, *, bad: bool = False) -> Path:
    def conn(name: str, file: str, spec: str) -> str:
        return f"  {name}:\n    system: files\n    path: {DATA / file}\n    spec: {SPECS / spec}\n"

    path = tmp / "billbridge.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp / 'state.db'}\nconnections:\n"
        + conn("sf", "salesforce_opportunity_lines.csv", "salesforce_opportunity_lines.yaml")
        + conn("zsubs", "zuora_subscription_charges.csv", "zuora_subscription_charges.yaml")
        + conn("zinv", "zuora_invoices.csv", "zuora_invoices.yaml")
        + conn("nsinv", "netsuite_invoices.csv", "netsuite_invoices.yaml")
        + "reconciliations:\n"
        "  aging:\n    definition: ar_aging\n    sides: {invoices: nsinv/invoice}\n"
        "  leakage:\n    definition: revenue_leakage\n"
        "    sides: {invoices: zinv/invoice, contracts: sf/contract,\n"
        "            subscriptions: zsubs/subscription}\n"
        "  leakage_unlinked:\n    definition: revenue_leakage\n"
        "    sides: {invoices: zinv/invoice, contracts: sf/contract}\n"
        + (
            "  bad:\n    definition: revenue_leakage\n"
            "    sides: {invoices: zinv/invoice, gl: zinv/invoice}\n"
            if bad
            else ""
        )
    )
    return path


def test_suite_reconciliations_run_from_the_config_and_keep_their_identity(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    store = Store(config.state.url)
    try:
        day1 = datetime(2026, 12, 1, tzinfo=UTC)
        aging = run_configured(config, "aging", store=store, now=day1)
        linked = run_configured(config, "leakage", store=store, now=day1)
        xs = ExceptionStore(store)
        # two entries run revenue_leakage: each is recorded under its own config key
        categories = {v.category for v in xs.list("leakage", now=day1)}
        assert categories == {"EXPECTED_CHARGE_NOT_BILLED"}
        # linked through the subscriptions' charges: invoices belong to contracts
        assert "INVOICE_WITHOUT_CONTRACT" not in categories
        assert all(v.recon == "ar_aging" for v in xs.list("ar_aging", now=day1))
        again = run_configured(config, "aging", store=store, now=datetime(2026, 12, 2, tzinfo=UTC))
        assert sorted(again.still_open) == sorted(aging.new) and not again.new
        assert linked.new  # the demo's planted breaks include unbilled and duplicate charges
    finally:
        store.close()
    # the config loader refuses an entry missing a side the calculator needs
    with pytest.raises(ConfigError, match=r"reconciliations\.bad\.sides: needs contracts"):
        load_config(_config(tmp_path, bad=True))


def test_without_subscriptions_zuora_invoices_link_to_no_contract(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    store = Store(config.state.url)
    try:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        run_configured(config, "leakage_unlinked", store=store, now=now)
        cats = [v.category for v in ExceptionStore(store).list("leakage_unlinked", now=now)]
        assert "INVOICE_WITHOUT_CONTRACT" in cats
    finally:
        store.close()


def test_the_report_shows_a_suite_reconciliation_under_its_config_entry(tmp_path: Path) -> None:
    from billbridge.cli.report_cmd import build_report

    config = load_config(_config(tmp_path))
    store = Store(config.state.url)
    try:
        delta = run_configured(config, "aging", store=store, now=datetime(2026, 12, 1, tzinfo=UTC))
    finally:
        store.close()
    report = build_report(config, now=datetime(2026, 12, 1, tzinfo=UTC))
    (aging,) = [s for s in report.sections if s.name == "ar_aging"]
    assert len(delta.new) > 0 and len(aging.open_items) == len(delta.new)


def test_entries_sharing_a_definition_keep_each_others_exceptions(tmp_path: Path) -> None:
    """Two entries run revenue_leakage on different sides: the second's run must not
    resolve the first's exceptions as "no longer found" (one shared recon name did)."""
    from reconcile.configured import recorded_name

    config = load_config(_config(tmp_path))
    assert recorded_name(config, "leakage") == "leakage"
    assert recorded_name(config, "aging") == "ar_aging"  # the only ar_aging entry
    store = Store(config.state.url)
    try:
        day1, day2 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
        first = run_configured(config, "leakage", store=store, now=day1)
        other = run_configured(config, "leakage_unlinked", store=store, now=day1)
        assert first.new and other.new and not other.resolved_by_data
        again = run_configured(config, "leakage", store=store, now=day2)
        assert sorted(again.still_open) == sorted(first.new) and not again.resolved_by_data
        xs = ExceptionStore(store)
        assert {str(v.status) for v in xs.list("leakage", now=day2)} == {"OPEN"}
        assert len(xs.list("leakage_unlinked", now=day2)) == len(other.new)
    finally:
        store.close()
