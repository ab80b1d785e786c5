"""The nightly chain from one config file: reconcile configured connections (here the demo's
file exports through their mapping specs), store the exceptions, e-mail (.eml) the report."""

from __future__ import annotations

import re
from email import message_from_bytes
from pathlib import Path

import pytest

import billbridge.cli.main  # noqa: F401 - registers the nightly steps
from billbridge.demo.pipeline import DATA, SPECS
from billbridge.state import Store
from reconcile.exceptions import ExceptionStore
from sync.nightly import run_nightly
from sync.serve import _steps
from sync.settings import NightlySettings

SPECS_DIR = Path(__file__).resolve().parents[2] / "mappings" / "specs" / "exports"


def _config(tmp: Path) -> Path:
    def conn(name: str, file: str, spec: Path) -> str:
        return f"  {name}:\n    system: files\n    path: {DATA / file}\n    spec: {spec}\n"

    text = (
        f"state:\n  url: sqlite:///{tmp / 'state.db'}\n"
        "connections:\n"
        + conn(
            "sf",
            "salesforce_opportunity_lines.csv",
            SPECS_DIR / "salesforce_opportunity_lines.yaml",
        )
        + conn(
            "zsubs", "zuora_subscription_charges.csv", SPECS_DIR / "zuora_subscription_charges.yaml"
        )
        + conn("zinv", "zuora_invoices.csv", SPECS_DIR / "zuora_invoices.yaml")
        + conn("nsinv", "netsuite_invoices.csv", SPECS_DIR / "netsuite_invoices.yaml")
        + conn("xwalk", "customer_crosswalk.csv", SPECS / "customer_crosswalk.yaml")
        + "reconciliations:\n"
        "  crm_vs_billing:\n    definition: crm_vs_billing\n"
        "    sides: {a: sf/contract, b: zsubs/subscription}\n"
        "  billing_vs_erp_invoices:\n    definition: billing_vs_erp_invoices\n"
        "    sides: {a: zinv/invoice, b: nsinv/invoice, customers: xwalk/customer}\n"
        f"reports:\n  recipients: [ar@example.com]\n  out_dir: {tmp / 'out'}\n"
    )
    path = tmp / "billbridge.yaml"
    path.write_text(text)
    return path


def test_nightly_reconciles_configured_connections_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLBRIDGE_CONFIG", str(_config(tmp_path)))
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    settings = NightlySettings(reconciliations=("crm_vs_billing", "billing_vs_erp_invoices"))
    report = run_nightly(
        settings,
        run_id="n1",
        store=store,
        run_sync=lambda _n: None,
        reconcile=_steps["reconcile"],
        report=_steps["report"],
    )
    assert report.ok, report.steps
    assert [(s.kind, s.name) for s in report.steps][-1][0] == "report"

    open_by_recon: dict[str, set[str]] = {}
    for view in ExceptionStore(store).list():
        open_by_recon.setdefault(view.recon, set()).add(view.category)
    store.close()
    assert open_by_recon["crm_vs_billing"] >= {"WON_NOT_PROVISIONED", "AMOUNT_MISMATCH"}
    # the crosswalk maps NetSuite customers to Zuora accounts: no customer false positives
    assert open_by_recon["billing_vs_erp_invoices"] == {
        "NOT_SYNCED",
        "DUPLICATE_SYNC",
        "AMOUNT_MISMATCH",
    }

    (eml,) = (tmp_path / "out").glob("*.eml")
    msg = message_from_bytes(eml.read_bytes())
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "CRM vs billing" in body and "WON_NOT_PROVISIONED" in body


def test_reconcile_run_uses_the_config_files_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from billbridge.cli.main import app

    monkeypatch.setenv("BILLBRIDGE_CONFIG", str(_config(tmp_path)))
    runner = CliRunner()
    result = runner.invoke(app, ["reconcile", "run", "billing_vs_erp_invoices"])
    assert result.exit_code == 1, result.output  # exceptions are open
    assert "billing_vs_erp_invoices: NEW 4, STILL_OPEN 0" in result.stdout

    again = runner.invoke(app, ["reconcile", "run", "--all"])
    assert again.exit_code == 1, again.output
    assert "billing_vs_erp_invoices: NEW 0, STILL_OPEN 4" in again.stdout
    assert "crm_vs_billing: NEW 13" in again.stdout

    missing = runner.invoke(app, ["reconcile", "run", "nope"])
    assert missing.exit_code == 2
    assert "no reconciliation named 'nope'" in missing.output


def test_nightly_steps_use_the_config_the_chain_was_started_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --config FILE` without BILLBRIDGE_CONFIG: the steps reconcile into and report
    from FILE's store, to FILE's recipients (was: the defaults, a new empty store in the
    working directory, an empty report to nobody, and the steps ok)."""
    from config.loader import load_config

    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    config = load_config(_config(tmp_path))
    store = Store(config.state.url)
    settings = NightlySettings(reconciliations=("billing_vs_erp_invoices",))
    report = run_nightly(
        settings,
        run_id="n1",
        store=store,
        run_sync=lambda _n: None,
        reconcile=_steps["reconcile"],
        report=_steps["report"],
        config=config,
    )
    store.close()
    assert report.ok, report.steps
    assert list(cwd.iterdir()) == []  # no store (or anything else) made in the cwd
    (eml,) = (tmp_path / "out").glob("*.eml")
    msg = message_from_bytes(eml.read_bytes())
    assert msg["To"] == "ar@example.com"
    assert msg["Subject"].endswith("4 new, 4 open")


def test_nightly_steps_without_a_config_fail_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'chain.db'}")
    report = run_nightly(
        NightlySettings(reconciliations=("billing_vs_erp_invoices",)),
        run_id="n1",
        store=store,
        run_sync=lambda _n: None,
        reconcile=_steps["reconcile"],
        report=_steps["report"],
    )
    store.close()
    assert [(s.kind, s.ok) for s in report.steps] == [("reconcile", False), ("report", False)]
    assert "the nightly report step has no config file" in (report.steps[-1].message or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.db"]


def test_the_report_step_refuses_a_state_store_that_does_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.loader import load_config

    config = load_config(_config(tmp_path))  # its state.db was never made
    store = Store(f"sqlite:///{tmp_path / 'chain.db'}")
    report = run_nightly(
        NightlySettings(reconciliations=()),
        run_id="n1",
        store=store,
        run_sync=lambda _n: None,
        reconcile=_steps["reconcile"],
        report=_steps["report"],
        config=config,
    )
    store.close()
    (step,) = report.steps
    assert not step.ok and "state.db" in (step.message or "")
    assert not (tmp_path / "state.db").exists() and not (tmp_path / "out").exists()


def test_the_report_names_the_steps_that_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sync/nightly.py: "the report must still go out saying what failed" (was: "0 new,
    0 open" and not a word about it). The error is scrubbed of secrets."""
    from billbridge import logs
    from config.loader import load_config

    config = load_config(_config(tmp_path))
    store = Store(config.state.url)  # the store exists: the report step can read it
    monkeypatch.setattr(logs, "_secret_pattern", re.compile("s3cr3t-pw"))  # a loaded secret

    def sync_fails(_name: str) -> object:
        raise ConnectionError("zuora.example.com:443 refused the login (password s3cr3t-pw)")

    report = run_nightly(
        NightlySettings(sync_jobs=("contracts",), reconciliations=("crm_vs_billing",)),
        run_id="n1",
        store=store,
        run_sync=sync_fails,
        reconcile=lambda _n: (_ for _ in ()).throw(ValueError("definition crm_vs_billing: bad")),
        report=_steps["report"],
        config=config,
    )
    store.close()
    assert [(s.kind, s.ok) for s in report.steps][-1] == ("report", True), report.steps
    (eml,) = (tmp_path / "out").glob("*.eml")
    raw = eml.read_bytes()
    assert b"s3cr3t-pw" not in raw
    msg = message_from_bytes(raw)
    subject = " ".join(msg["Subject"].split())  # unfolded
    assert subject.startswith(
        "[billbridge] AR reconciliation exceptions: FAILED sync contracts, reconcile "
        "crm_vs_billing; 0 new"
    ), subject
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    plain = text.get_payload(decode=True).decode()
    assert "FAILED sync contracts: ConnectionError: zuora.example.com:443 refused" in plain
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "Steps that failed (2)" in body
    assert "ValueError: definition crm_vs_billing: bad" in body
