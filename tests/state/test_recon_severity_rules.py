"""A reconciliation's own severity rules size its exceptions wherever they are shown (F3).

The rules a run sized its exceptions by are kept with the run (``run_log.severity_rules``);
the exception list, ``show`` and the report recompute an open exception's level with them
(age escalates it), never with the defaults, and never below the level the run stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from billbridge.state import Store
from billbridge.state.db import alembic_config, make_engine
from billbridge.state.schema import ExceptionRow, RunLogRow
from reconcile.definitions import SeverityRule, parse_definitions
from reconcile.engine import ExceptionCandidate, reconcile
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports import render_html, report_from_store
from tests.conftest import _PG_SKIP, PG_URL

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)

DEFINITION = """
name: small_ledger
a: {label: left}
b: {label: right}
keys: [{name: invoice}]
compare: [{name: amount, kind: amount}]
amount_field: amount
severity:
  - {level: CRITICAL, min_amount: 10}
  - {level: HIGH, min_age_days: 2}
  - {level: LOW}
"""


def _record(xs: ExceptionStore, b_amounts: dict[str, str], run_id: str, now: datetime) -> None:
    (definition,) = parse_definitions(DEFINITION)
    a = [{"invoice": k, "amount": "100.00"} for k in b_amounts]
    b = [{"invoice": k, "amount": v} for k, v in b_amounts.items()]
    result = reconcile(definition, a, b)
    xs.record_run(result.recon, run_id, result.rows, now)  # as `reconcile run` records it


def _levels(xs: ExceptionStore, now: datetime) -> dict[str, str]:
    return {v.keys["invoice"]: v.severity for v in xs.list(now=now)}


def test_the_list_and_show_size_by_the_definitions_rules_not_the_defaults(store: Store) -> None:
    recorder = ExceptionStore(store)
    _record(recorder, {"I1": "80.00", "I2": "95.00"}, "r1", T0)  # gaps 20.00 and 5.00
    with store.session() as s:
        stored = {r.key_text: r.severity for r in s.scalars(select(ExceptionRow))}
    assert stored == {"I1": "CRITICAL", "I2": "LOW"}

    reader = ExceptionStore(store)  # what `exceptions list` and `report` open: default rules
    assert _levels(reader, T0) == {"I1": "CRITICAL", "I2": "LOW"}
    # a day on: the defaults would make I2 MEDIUM (>= 1 day); this definition has no MEDIUM
    assert _levels(reader, T0 + timedelta(days=1)) == {"I1": "CRITICAL", "I2": "LOW"}
    # two days on: the definition's own age rule escalates it
    assert _levels(reader, T0 + timedelta(days=2)) == {"I1": "CRITICAL", "I2": "HIGH"}
    i1 = next(v for v in reader.list(now=T0) if v.keys["invoice"] == "I1")
    shown = reader.get(i1.id[:10], now=T0 + timedelta(days=1))
    assert shown is not None and shown.severity == "CRITICAL"

    report = report_from_store(reader, [("small_ledger", "Small ledger")], title="AR", now=T0)
    levels = {i.keys["invoice"]: i.severity for i in report.sections[0].items}
    assert levels == {"I1": "CRITICAL", "I2": "LOW"}
    assert 'class="sev-critical">critical' in render_html(report)


def test_the_run_log_keeps_each_runs_rules(store: Store) -> None:
    xs = ExceptionStore(store)
    _record(xs, {"I1": "80.00"}, "r1", T0)
    cand = ExceptionCandidate(
        exception_id=exception_id("other", {"k": "1"}, "NOT_SYNCED"),
        recon="other",
        category="NOT_SYNCED",
        keys={"k": "1"},
        fingerprint="f",
        details={},
        severity="LOW",
        amount=Decimal("5"),
        currency="USD",
    )
    xs.record_run("other", "r2", [cand], T0, rules=[SeverityRule(level="HIGH")])
    with store.session() as s:
        logged = {
            r.job: (r.run_id, r.kind, r.event, r.severity_rules, r.counts["NEW"])
            for r in s.scalars(select(RunLogRow))
        }
    assert logged == {
        "small_ledger": (
            "r1",
            "reconcile",
            "recorded",
            [
                {"level": "CRITICAL", "min_amount": "10", "min_age_days": None},
                {"level": "HIGH", "min_amount": None, "min_age_days": 2},
                {"level": "LOW", "min_amount": None, "min_age_days": None},
            ],
            1,
        ),
        "other": (
            "r2",
            "reconcile",
            "recorded",
            [{"level": "HIGH", "min_amount": None, "min_age_days": None}],
            1,
        ),
    }
    levels = {v.key_text: v.severity for v in xs.list(now=T0 + timedelta(days=30))}
    assert levels == {"I1": "CRITICAL", "1": "HIGH"}


def test_a_stored_level_is_never_shown_lower(store: Store) -> None:
    """Exceptions whose runs kept no rules (a store recorded before the rules were logged,
    sync dead letters) are recomputed with the store's rules, but never below their level."""
    with store.session() as s:
        s.add(
            ExceptionRow(
                exception_id="e1",
                recon="legacy",
                category="AMOUNT_MISMATCH",
                keys={"invoice": "I1"},
                key_text="I1",
                fingerprint="f",
                details={},
                severity="CRITICAL",
                amount=Decimal("20.00"),
                currency="USD",
                first_seen=T0,
                last_seen=T0,
                run_state="NEW",
                status="OPEN",
            )
        )
    xs = ExceptionStore(store)
    assert xs.get("e1", now=T0 + timedelta(days=1)).severity == "CRITICAL"  # type: ignore[union-attr]
    assert [v.severity for v in xs.list(now=T0)] == ["CRITICAL"]


# -- the migration -----------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database (no migration run yet) on each backend."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
        yield engine
        engine.dispose()
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def test_the_severity_rules_migration_goes_both_ways(bare_engine: Engine) -> None:
    from alembic import command

    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0002_exceptions_recon_status")
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO run_log (run_id, job, kind, event, at, counts, mapping_versions) "
                "VALUES ('r1', 'j', 'sync', 'started', '2026-12-01 06:00:00', '{}', '{}')"
            )
        )
    command.upgrade(cfg, "heads")
    columns = {c["name"] for c in inspect(bare_engine).get_columns("run_log")}
    assert "severity_rules" in columns
    with bare_engine.begin() as conn:
        conn.execute(text("UPDATE run_log SET severity_rules = '[]'"))
    command.downgrade(cfg, "0002_exceptions_recon_status")
    columns = {c["name"] for c in inspect(bare_engine).get_columns("run_log")}
    assert "severity_rules" not in columns
    with bare_engine.connect() as conn:
        assert conn.execute(text("SELECT run_id FROM run_log")).scalar_one() == "r1"
    command.upgrade(cfg, "heads")
    assert "severity_rules" in {c["name"] for c in inspect(bare_engine).get_columns("run_log")}
