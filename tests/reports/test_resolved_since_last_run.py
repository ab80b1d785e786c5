"""The report's "resolved since last run" counts what each recon's latest run resolved (F6),
not every exception the data ever resolved."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from billbridge.cli.report_cmd import app, build_report
from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from config.loader import load_config
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports import render_xlsx, report_from_store

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def _cand(recon: str, invoice: str) -> ExceptionCandidate:
    keys = {"invoice_number": invoice}
    return ExceptionCandidate(
        exception_id=exception_id(recon, keys, "NOT_SYNCED"),
        recon=recon,
        category="NOT_SYNCED",
        keys=keys,
        fingerprint=f"f-{invoice}",
        details={"reason": "never reached the ERP"},
        severity="LOW",
        amount=Decimal("10.00"),
        currency="USD",
    )


def _runs(url: str, recon: str, found_per_run: list[list[str]], *, start: int = 0) -> None:
    """One run a day from day ``start`` on, each finding the invoices listed."""
    store = Store(url)
    xs = ExceptionStore(store)
    for day, found in enumerate(found_per_run, start=start):
        cands = [_cand(recon, inv) for inv in found]
        xs.record_run(recon, f"{recon}-run{day + 1}", cands, T0 + timedelta(days=day))
    store.close()


def _forget_the_run_log(url: str) -> None:
    store = Store(url)
    with store.session() as s:
        s.execute(delete(RunLogRow))
    store.close()


def _resolved(url: str, recon: str, tmp_path: Path) -> int:
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(f"state:\n  url: {url}\nreconciliations: {{}}\n")
    report = build_report(load_config(cfg), [recon], now=T0 + timedelta(days=9))
    (section,) = report.sections
    return len(section.resolved)


def test_only_the_latest_runs_resolutions_count(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    # run 2 resolves INV2; runs 3 and 4 resolve nothing
    _runs(url, "inv", [["INV1", "INV2"], ["INV1"], ["INV1"], ["INV1"]])
    assert _resolved(url, "inv", tmp_path) == 0
    _runs(url, "inv", [[]], start=4)  # the next run resolves INV1
    assert _resolved(url, "inv", tmp_path) == 1


def test_each_recon_counts_its_own_latest_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _runs(url, "inv", [["INV1", "INV2"], ["INV1"]])  # its latest run resolved INV2
    _runs(url, "pay", [["P1"], []])  # its latest run resolved P1
    _runs(url, "pay", [[]], start=2)  # ...and a later one nothing
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(f"state:\n  url: {url}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "--out", str(out), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    summary = openpyxl.load_workbook(out / "exceptions.xlsx")["Summary"]
    rows = {r[0]: r[3] for r in summary.iter_rows(min_row=2, values_only=True)}
    assert rows == {"Inv": 1, "Pay": 0}


def test_a_store_recorded_before_runs_were_logged_takes_the_run_that_last_saw_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _runs(url, "inv", [["INV1", "INV2"], ["INV1"], ["INV1"]])
    _forget_the_run_log(url)
    assert _resolved(url, "inv", tmp_path) == 0
    _runs(url, "inv", [["INV1", "INV3"], ["INV3"]], start=3)
    _forget_the_run_log(url)
    assert _resolved(url, "inv", tmp_path) == 1  # INV1, resolved by the last run


def test_a_name_that_never_ran_is_an_error_not_an_empty_section(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _runs(url, "inv", [["INV1"], []])
    config = load_config(_write(tmp_path, url))
    report = build_report(config, ["inv"], now=T0 + timedelta(days=3))
    assert [len(s.resolved) for s in report.sections] == [1]
    assert openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))["Summary"]["D2"].value == 1
    # a name neither configured nor recorded is an error, not an empty section
    with pytest.raises(ConfigError, match="--recon 'other': no such reconciliation; known: inv"):
        build_report(config, ["inv", "other"], now=T0 + timedelta(days=3))


def _write(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"state:\n  url: {url}\n")
    return cfg


def test_latest_run_ids_on_both_backends(store: Store) -> None:
    xs = ExceptionStore(store)
    for day, (run, found) in enumerate([("r1", ["INV1", "INV2"]), ("r2", ["INV1"])]):
        cands = [_cand("inv", inv) for inv in found]
        xs.record_run("inv", run, cands, T0 + timedelta(days=day))
    xs.record_run("pay", "p1", [_cand("pay", "P1")], T0)
    assert xs.latest_run_ids(["inv", "pay", "none"]) == {"inv": "r2", "pay": "p1", "none": None}
    with store.session() as s:
        s.execute(delete(RunLogRow))
    # a run that only resolved (nothing seen again) is found by its resolutions
    xs.record_run("pay", "p2", [], T0 + timedelta(days=5))
    with store.session() as s:
        s.execute(delete(RunLogRow))
    assert xs.latest_run_ids(["inv", "pay"]) == {"inv": "r2", "pay": "p2"}
    report = report_from_store(
        xs, [("inv", "Inv"), ("pay", "Pay")], title="AR", now=T0, run_ids={"inv": "r2"}
    )
    assert [[i.keys["invoice_number"] for i in s.resolved] for s in report.sections] == [
        ["INV2"],
        ["P1"],  # not in run_ids: every resolution (no run_id given either)
    ]
