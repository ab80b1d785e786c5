"""A run keeps its definition's amount and currency fields in the run log, so exceptions
of a recon no config names (`reconcile run --definitions FILE`, a UAT entity) still show
their amounts with the currency's minor units in `exceptions show` and the report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from billbridge.cli import report_cmd
from billbridge.state import Store
from billbridge.state.db import alembic_config, make_engine
from reconcile import cli as recon_cli
from reconcile import exceptions_cli
from reconcile.definitions import parse_definitions
from reconcile.engine import reconcile
from reconcile.exceptions import ExceptionStore
from reconcile.exceptions.display import FieldKinds, kinds_of
from reconcile.reports import report_from_store

T0 = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
DEFINITIONS = """
reconciliations:
  - name: orders
    a: {label: left, path: left.csv}
    b: {label: right, path: right.csv}
    keys: [{name: order}]
    compare:
      - {name: subtotal, kind: amount}
      - {name: ccy, kind: text}
    amount_field: subtotal
    currency_field: ccy
"""
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", url)
    monkeypatch.setattr(recon_cli, "now", lambda: T0)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    (tmp_path / "orders.yaml").write_text(DEFINITIONS)
    (tmp_path / "left.csv").write_text("order,subtotal,ccy\nO1,1000,USD\nO2,12,BHD\n")
    (tmp_path / "right.csv").write_text("order,subtotal,ccy\nO1,1050.3,USD\nO2,12.005,BHD\n")
    return tmp_path, url


def _table(output: str) -> dict[str, list[str]]:
    return {
        cells[0]: cells[1:]
        for line in output.splitlines()
        if len(cells := [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]) == 4
    }


def test_a_definitions_run_shows_minor_units_without_a_config(env: tuple[Path, str]) -> None:
    folder, _ = env
    res = runner.invoke(
        recon_cli.app, ["run", "--all", "--definitions", str(folder / "orders.yaml")]
    )
    assert res.exit_code == 1, res.output
    listed = json.loads(runner.invoke(exceptions_cli.app, ["list", "--json"]).output)
    ids = {r["keys"]["order"]: r["id"] for r in listed}
    shown = {
        order: _table(runner.invoke(exceptions_cli.app, ["show", eid]).output)["subtotal*"]
        for order, eid in ids.items()
    }
    assert shown == {
        "O1": ["1000.00", "1050.30", "-50.30"],
        "O2": ["12.000", "12.005", "-0.005"],
    }


def test_the_report_reads_the_recorded_fields(env: tuple[Path, str]) -> None:
    folder, url = env
    res = runner.invoke(
        recon_cli.app, ["run", "--all", "--definitions", str(folder / "orders.yaml")]
    )
    assert res.exit_code == 1, res.output
    store = Store(url)
    try:
        xs = ExceptionStore(store)
        assert xs.recorded_kinds() == {
            "orders": FieldKinds(frozenset({"subtotal"}), frozenset({"ccy"}))
        }
        report = report_from_store(xs, [("orders", "Orders")], title="AR", now=T0)
    finally:
        store.close()
    described = {i.keys["order"]: i.description for i in report.sections[0].items}
    assert described == {"O1": "subtotal: 1000.00 vs 1050.30", "O2": "subtotal: 12.000 vs 12.005"}
    # `report render` (no config: no definition names the recon) reads them too
    out = folder / "out"
    res = runner.invoke(report_cmd.app, ["render", "--out", str(out), "--csv"])
    assert res.exit_code == 0, res.output
    html = next(out.glob("*.html")).read_text()
    assert "1000.00" in html and "1050.30" in html


def test_the_latest_run_decides_and_older_runs_fall_back(tmp_path: Path) -> None:
    """A run recorded without fields (an older billbridge) leaves the recon unknown here,
    so the config's or built-ins' kinds apply; a later run with fields replaces them."""
    (definition,) = parse_definitions(DEFINITIONS)
    result = reconcile(
        definition,
        [{"order": "O1", "subtotal": "1000", "ccy": "USD"}],
        [{"order": "O1", "subtotal": "1001", "ccy": "USD"}],
    )
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        xs = ExceptionStore(store)
        xs.record_run("orders", "r1", result.rows, T0)
        assert xs.recorded_kinds() == {}
        xs.record_run("orders", "r2", result.rows, T0, kinds=kinds_of(definition))
        assert xs.recorded_kinds(["orders"])["orders"].amounts == {"subtotal"}
    finally:
        store.close()


@pytest.fixture
def bare_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    yield engine
    engine.dispose()


def test_the_field_kinds_migration_goes_both_ways(bare_engine: Engine) -> None:
    from alembic import command

    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0003_run_log_severity_rules")
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO run_log (run_id, job, kind, event, at, counts, mapping_versions) "
                "VALUES ('r1', 'j', 'reconcile', 'recorded', '2026-12-01 06:00:00', '{}', '{}')"
            )
        )
    command.upgrade(cfg, "heads")
    assert "field_kinds" in {c["name"] for c in inspect(bare_engine).get_columns("run_log")}
    command.downgrade(cfg, "0003_run_log_severity_rules")
    assert "field_kinds" not in {c["name"] for c in inspect(bare_engine).get_columns("run_log")}
    with bare_engine.connect() as conn:
        assert conn.execute(text("SELECT run_id FROM run_log")).scalar_one() == "r1"
