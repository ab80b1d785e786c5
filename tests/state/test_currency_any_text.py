"""A currency value the source had is recorded whatever its length (revision 0006): bad data
is what a reconciliation reports, so ``EURO`` in a file must not fail the run on PostgreSQL
while SQLite keeps it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from billbridge.state import Store
from billbridge.state.db import alembic_config, make_engine
from reconcile.engine.result import ExceptionCandidate
from reconcile.exceptions import ExceptionStore

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def _cand(eid: str, number: str, currency: str, fp: str = "f") -> ExceptionCandidate:
    return ExceptionCandidate(
        eid * 64,
        "cur",
        "AMOUNT_MISMATCH",
        {"number": number},
        fp * 64,
        details={},
        amount=Decimal("1.00"),
        currency=currency,
    )


def test_a_long_currency_is_recorded_on_both_stores(store: Store) -> None:
    xs = ExceptionStore(store)
    long = "US Dollar (United States of America)"
    xs.record_run("cur", "r1", [_cand("a", "INV-1", "EURO"), _cand("b", "INV-2", long)], T0)
    assert {v.currency for v in xs.list("cur", now=T0)} == {"EURO", long}
    # seen again with other values: the rewrite path takes it too
    xs.record_run("cur", "r2", [_cand("a", "INV-1", "EUROS", "e"), _cand("b", "INV-2", long)], T0)
    assert {v.currency for v in xs.list("cur", now=T0)} == {"EUROS", long}


def test_the_currency_revision_goes_both_ways(tmp_path: Path) -> None:
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "heads")
        command.downgrade(cfg, "0005_exceptions_first_run_id")
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0006_exceptions_currency_text"
    finally:
        engine.dispose()
    Store(f"sqlite:///{tmp_path / 'state.db'}").close()
