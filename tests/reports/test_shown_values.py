"""Numbers and dates as people read them (F18): amounts keep their currency's minor units
(1000.00, not the engine's exact 1000) in `exceptions show` and the report's "What differs",
currency codes are upper-case as the systems write them, XLSX first/last seen are date
cells, and a closed exception stops ageing."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from billbridge.state import Store
from config.loader import load_config
from reconcile import exceptions_cli
from reconcile.definitions import parse_definitions
from reconcile.engine import ExceptionCandidate, reconcile
from reconcile.exceptions import ExceptionStore, Status, exception_id
from reconcile.exceptions.display import known_kinds
from reconcile.reports import render_csv, render_xlsx, report_from_store

T0 = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
DEFINITION = """
name: orders
a: {label: left}
b: {label: right}
keys: [{name: order}]
compare:
  - {name: quantity, kind: number}
  - {name: subtotal, kind: amount}
  - {name: currency, kind: text, casefold: true}
amount_field: subtotal
currency_field: currency
"""
A = [
    {"order": "O1", "quantity": "10", "subtotal": "1000.00", "currency": "USD"},
    {"order": "O2", "quantity": "1", "subtotal": "1000.00", "currency": "EUR"},
    {"order": "O3", "quantity": "1", "subtotal": "1000", "currency": "JPY"},
    {"order": "O4", "quantity": "1", "subtotal": "12", "currency": "BHD"},
]
B = [
    {"order": "O1", "quantity": "20", "subtotal": "1050.30", "currency": "usd"},
    {"order": "O2", "quantity": "1", "subtotal": "1000.00", "currency": "USD"},
    {"order": "O3", "quantity": "1", "subtotal": "1001", "currency": "JPY"},
    {"order": "O4", "quantity": "1", "subtotal": "12.005", "currency": "BHD"},
]
EXPECTED = {
    "O1": "quantity: 10 vs 20; subtotal: 1000.00 vs 1050.30",
    "O2": "currency: EUR vs USD",
    "O3": "subtotal: 1000 vs 1001",
    "O4": "subtotal: 12.000 vs 12.005",
}


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A state store with the orders run, and a config naming its definition file."""
    for name in ("BILLBRIDGE_STATE_URL", "BILLBRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    defs = tmp_path / "orders.yaml"
    defs.write_text(DEFINITION)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(
        f"state:\n  url: {url}\nreconciliations:\n  orders:\n    definition: {defs}\n"
        "    sides: {a: left/order, b: right/order}\n"
        "connections:\n"
        f"  left: {{system: files, path: {tmp_path / 'a.csv'}, spec: {tmp_path / 's.yaml'}}}\n"
        f"  right: {{system: files, path: {tmp_path / 'b.csv'}, spec: {tmp_path / 's.yaml'}}}\n"
    )
    (definition,) = parse_definitions(DEFINITION)
    store = Store(url)
    result = reconcile(definition, A, B)
    ExceptionStore(store).record_run(result.recon, "r1", result.rows, T0)
    store.close()
    return url, cfg


def _descriptions(url: str, cfg: Path | None) -> dict[str, str]:
    store = Store(url)
    kinds = known_kinds(load_config(cfg) if cfg else None)
    report = report_from_store(
        ExceptionStore(store), [("orders", "Orders")], title="AR", now=T0, kinds=kinds
    )
    store.close()
    return {i.keys["order"]: i.description for i in report.sections[0].items}


def test_what_differs_keeps_minor_units_and_upper_case_codes(recorded: tuple[str, Path]) -> None:
    url, cfg = recorded
    assert _descriptions(url, cfg) == EXPECTED


def test_without_the_definition_codes_are_still_upper_case(recorded: tuple[str, Path]) -> None:
    url, _ = recorded
    shown = _descriptions(url, None)
    assert shown["O2"] == "currency: EUR vs USD"
    assert shown["O1"] == "quantity: 10 vs 20; subtotal: 1000 vs 1050.3"  # as stored


def test_builtin_definitions_are_known_without_a_config() -> None:
    kinds = known_kinds()
    assert {"subtotal", "tax", "total"} <= kinds["billing_vs_erp_invoices"].amounts
    assert {"net_unit_price", "mrr", "acv"} <= kinds["crm_vs_billing"].amounts
    assert "quantity" not in kinds["crm_vs_billing"].amounts
    assert kinds["crm_vs_billing"].currencies == {"currency"}


def test_exceptions_show_keeps_minor_units_and_upper_case_codes(
    recorded: tuple[str, Path],
) -> None:
    _, cfg = recorded
    runner = CliRunner()
    listed = runner.invoke(exceptions_cli.app, ["list", "--json", "--config", str(cfg)])
    ids = {r["keys"]["order"]: r["id"] for r in json.loads(listed.output)}
    res = runner.invoke(exceptions_cli.app, ["show", ids["O1"], "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    rows = {
        cells[0]: cells[1:]
        for line in res.output.splitlines()
        if len(cells := [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]) == 4
    }
    assert rows["subtotal*"] == ["1000.00", "1050.30", "-50.30"]
    assert rows["quantity*"] == ["10", "20", "-10"]
    assert rows["currency"] == ["USD", "USD", ""]
    res = runner.invoke(exceptions_cli.app, ["show", ids["O4"], "--config", str(cfg)])
    assert "12.000" in res.output and "12.005" in res.output and "-0.005" in res.output
    assert "BHD" in res.output and "bhd" not in res.output


def test_xlsx_first_and_last_seen_are_date_cells(recorded: tuple[str, Path]) -> None:
    url, _ = recorded
    store = Store(url)
    report = report_from_store(ExceptionStore(store), [("orders", "Orders")], title="AR", now=T0)
    store.close()
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))["Orders"]
    header = [c.value for c in sheet[1]]
    for name in ("first_seen", "last_seen"):
        cell = sheet.cell(row=2, column=header.index(name) + 1)
        assert cell.is_date and cell.value == datetime(2026, 12, 1, 6, 30)
        assert cell.number_format == "yyyy-mm-dd hh:mm"
    csv_text = render_csv(report.sections[0].items)
    assert ",2026-12-01 06:30,2026-12-01 06:30," in csv_text


def test_a_closed_exception_stops_ageing(store: Store) -> None:
    xs = ExceptionStore(store)

    def cand(key: str) -> ExceptionCandidate:
        keys = {"invoice": key}
        return ExceptionCandidate(
            exception_id=exception_id("inv", keys, "NOT_SYNCED"),
            recon="inv",
            category="NOT_SYNCED",
            keys=keys,
            fingerprint="f",
            details={},
            severity="LOW",
            amount=Decimal("10.00"),
            currency="USD",
        )

    xs.record_run("inv", "r1", [cand("I1"), cand("I2"), cand("I3"), cand("I4")], T0)
    ids = {v.key_text: v.id for v in xs.list(now=T0)}
    day = timedelta(days=1)
    xs.resolve(ids["I2"], "FIXED_IN_SOURCE", actor="ana", now=T0 + 2 * day)
    xs.transition(ids["I3"], Status.WONT_FIX, actor="ana", now=T0 + 3 * day)
    xs.record_run("inv", "r2", [cand("I1"), cand("I3")], T0 + 4 * day)  # I4 resolved by data
    ages = {v.key_text: v.age_days for v in xs.list(statuses=None, now=T0 + 10 * day)}
    assert ages == {"I1": 10, "I2": 2, "I3": 3, "I4": 4}
    assert xs.get(ids["I4"], now=T0 + 30 * day).age_days == 4  # type: ignore[union-attr]
