"""AR-suite findings (ar_subledger_gl, revenue, leakage, aging) record flat key/value
details, not the engine's sides a/b: the report's "What differs", `exceptions show` and
`exceptions list --json` show them instead of only the category."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.state import Store
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports import render_csv, render_html, report_from_store

T0 = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)


def _candidate(
    recon: str, category: str, key: str, details: dict, amount: str
) -> ExceptionCandidate:
    keys = {"document": key}
    return ExceptionCandidate(
        exception_id=exception_id(recon, keys, category),
        recon=recon,
        category=category,
        keys=keys,
        fingerprint=key,
        details=details,
        amount=Decimal(amount),
        currency="USD",
    )


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("BILLBRIDGE_STATE_URL", "BILLBRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    rows = [
        _candidate(
            "ar_subledger_gl",
            "ROLLFORWARD_BREAK",
            "D1",
            {"subledger_closing": "6600.0", "rollforward_closing": "7000.00"},
            "-400",
        ),
        _candidate(
            "ar_subledger_gl",
            "PERIOD_CUTOFF",
            "D2",
            {"subledger_periods": ["2026-10"], "gl_periods": ["2026-11"], "account": "1200"},
            "1000",
        ),
        _candidate("ar_subledger_gl", "UNPOSTED", "D3", {}, "5"),
    ]
    ExceptionStore(store).record_run("ar_subledger_gl", "r1", rows, T0)
    store.close()
    return url


def test_what_differs_shows_the_recorded_values(url: str) -> None:
    store = Store(url)
    report = report_from_store(
        ExceptionStore(store), [("ar_subledger_gl", "AR")], title="AR", now=T0
    )
    store.close()
    shown = {i.keys["document"]: i.description for i in report.sections[0].items}
    assert shown == {
        "D1": "subledger_closing 6600.00 · rollforward_closing 7000.00",
        "D2": "subledger_periods 2026-10 · gl_periods 2026-11 · account 1200",
        "D3": "unposted",  # nothing recorded: the category, as before
    }
    assert "subledger_closing 6600.00 · rollforward_closing 7000.00" in render_csv(
        report.sections[0].items
    )
    assert "subledger_closing 6600.00 · rollforward_closing 7000.00" in render_html(report)


def _show_rows(output: str) -> dict[str, str]:
    return {
        cells[0]: cells[1]
        for line in output.splitlines()
        if len(cells := [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]) == 2
    }


def test_show_and_list_json_carry_the_details(url: str) -> None:
    runner = CliRunner()
    listed = runner.invoke(exceptions_cli.app, ["list", "--json", "--state-url", url])
    assert listed.exit_code == 0, listed.output
    rows = {r["keys"]["document"]: r for r in json.loads(listed.output)}
    assert rows["D1"]["details"] == {
        "subledger_closing": "6600.0",
        "rollforward_closing": "7000.00",
    }
    res = runner.invoke(exceptions_cli.app, ["show", rows["D1"]["id"], "--state-url", url])
    assert res.exit_code == 0, res.output
    assert _show_rows(res.output) == {
        "field": "value",
        "subledger_closing": "6600.00",
        "rollforward_closing": "7000.00",
    }
    res = runner.invoke(exceptions_cli.app, ["show", rows["D2"]["id"], "--state-url", url])
    assert _show_rows(res.output)["gl_periods"] == "2026-11"
    assert "NEW" in res.output  # the history still follows
