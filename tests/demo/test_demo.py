"""The demo end to end: every planted discrepancy is reported, nothing else, and a second
run reports the same exceptions as still open (with their age), not new."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from billbridge.demo.pipeline import DATA
from billbridge.demo.run import run_demo
from reconcile.reports import Report

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _key(keys: dict[str, Any]) -> str:
    return "/".join(str(v) for v in keys.values()).lower()


def planted() -> set[tuple[str, str, str]]:
    manifest = json.loads((DATA / "planted.json").read_text())
    return {
        (recon, p["category"], p["key"].lower()) for recon, items in manifest.items() for p in items
    }


def found(report: Report) -> set[tuple[str, str, str]]:
    return {(s.name, i.category, _key(i.keys)) for s in report.sections for i in s.open_items}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report, Report, Any]:
    tmp = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{tmp / 'state.db'}"
    first, _ = run_demo(out_dir=tmp / "out1", state_url=url, now=T0)
    second, deltas = run_demo(out_dir=tmp / "out2", state_url=url, now=T0 + timedelta(days=1))
    return tmp, first, second, deltas


def test_every_planted_discrepancy_is_reported_and_nothing_else(two_runs: Any) -> None:
    _tmp, first, _second, _deltas = two_runs
    expected = planted()
    assert len(expected) >= 15
    assert found(first) == expected


def test_each_kind_of_discrepancy_is_planted() -> None:
    kinds = {(r, c) for r, c, _k in planted()}
    assert {
        ("crm_vs_billing", "WON_NOT_PROVISIONED"),
        ("crm_vs_billing", "SUBSCRIPTION_WITHOUT_BOOKING"),
        ("crm_vs_billing", "AMOUNT_MISMATCH"),
        ("crm_vs_billing", "DATE_MISMATCH"),
        ("billing_vs_erp_invoices", "NOT_SYNCED"),
        ("billing_vs_erp_invoices", "AMOUNT_MISMATCH"),
        ("billing_vs_erp_invoices", "DUPLICATE_SYNC"),
        ("cash_application", "UNAPPLIED"),
        ("cash_application", "SHORT_PAY"),
    } <= kinds


def test_second_run_reports_the_same_exceptions_as_still_open(two_runs: Any) -> None:
    _tmp, first, second, deltas = two_runs
    assert found(second) == found(first)
    for delta in deltas.values():
        assert delta.new == [] and delta.reopened == [] and delta.changed == []
    items = [i for s in second.sections for i in s.open_items]
    assert {i.run_state for i in items} == {"STILL_OPEN"}
    assert {i.age_days for i in items} == {1}
    assert {i.exception_id for i in items} == {
        i.exception_id for s in first.sections for i in s.open_items
    }


def test_report_files_name_every_planted_record(two_runs: Any) -> None:
    tmp, first, _second, _deltas = two_runs
    html = (tmp / "out1" / "report.html").read_text()
    book = openpyxl.load_workbook(io.BytesIO((tmp / "out1" / "exceptions.xlsx").read_bytes()))
    cells = {
        str(c.value).lower()
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    }
    for _recon, _category, key in planted():
        last = key.split("/")[-1]
        assert last in html.lower()
        assert any(key.split("/")[0] in cell for cell in cells)
    assert len(book.sheetnames) == 1 + len(first.sections)


def test_demo_command_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--out", str(tmp_path / "out"), "--state-url", f"sqlite:///{tmp_path / 's.db'}"],
    )
    assert result.exit_code == 0, result.output
    assert "reconciliation summary" in result.stdout
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "exceptions.xlsx").is_file()
