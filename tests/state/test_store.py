"""The state store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from billbridge.state import Store
from billbridge.state.schema import (
    AuditEventRow,
    CursorRow,
    ExceptionRow,
    OutboxIntentRow,
    RunLogRow,
)

EXPECTED_TABLES = {
    "run_log",
    "cursors",
    "job_leases",
    "sync_snapshots",
    "outbox_intents",
    "outbox_events",
    "exceptions",
    "exception_history",
    "suppressions",
    "match_decisions",
    "audit_events",
    "feed_files",
    "feed_statements",
    "feed_records",
}


def test_migrations_create_every_table(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert names >= EXPECTED_TABLES
    assert "alembic_version" in names


def test_migrating_twice_is_a_no_op(store: Store) -> None:
    from billbridge.state.db import migrate

    migrate(store.engine)
    assert set(inspect(store.engine).get_table_names()) >= EXPECTED_TABLES


def test_timestamps_come_back_aware_utc(store: Store) -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    with store.session() as s:
        s.add(RunLogRow(run_id="r1", job="j", kind="sync", event="started", at=at))
    with store.session() as s:
        row = s.scalars(select(RunLogRow)).one()
    assert row.at.tzinfo is not None
    assert row.at == at
    assert row.at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"), store.session() as s:
        s.add(
            RunLogRow(run_id="r1", job="j", kind="sync", event="started", at=datetime(2026, 1, 1))
        )


def test_decimals_round_trip_exactly(store: Store) -> None:
    now = datetime.now(UTC)
    amount = Decimal("12345678901234.56789")
    with store.session() as s:
        s.add(
            ExceptionRow(
                exception_id="e1",
                recon="r",
                category="AMOUNT_MISMATCH",
                keys={"invoice": "I1"},
                key_text="invoice=I1",
                fingerprint="f",
                details={"delta": "0.01"},
                severity="low",
                amount=amount,
                currency="USD",
                first_seen=now,
                last_seen=now,
                run_state="NEW",
                status="OPEN",
            )
        )
    with store.session() as s:
        row = s.get(ExceptionRow, "e1")
        assert row is not None
        assert row.amount == amount
        assert row.details == {"delta": "0.01"}


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    now = datetime.now(UTC)

    def intent(key: str) -> OutboxIntentRow:
        return OutboxIntentRow(
            idempotency_key=key,
            run_id="r",
            job="j",
            seq=1,
            target_system="zuora",
            entity="subscription",
            op="create",
            external_id="x",
            payload={},
            payload_hash="h",
            source_system="salesforce",
            source_id="s",
            source_version="1",
            mapping_version="m",
            status="pending",
            created_at=now,
            updated_at=now,
        )

    with store.session() as s:
        s.add(intent("k1"))

    def advance_cursor_and_write_duplicate() -> None:
        with store.session() as s:
            s.add(CursorRow(job="j", stream="contract", cursor="{}"))
            s.flush()
            s.add(intent("k1"))  # duplicate idempotency key
            s.flush()

    with pytest.raises(IntegrityError):
        advance_cursor_and_write_duplicate()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxIntentRow)) == 1
        assert s.scalar(select(func.count()).select_from(CursorRow)) == 0


def test_audit_events_append(store: Store) -> None:
    with store.session() as s:
        for i in range(3):
            s.add(
                AuditEventRow(
                    actor="ana",
                    action="ack",
                    subject_type="exception",
                    subject_id=f"e{i}",
                    ticket="AR-1",
                )
            )
    with store.session() as s:
        ids = s.scalars(select(AuditEventRow.id).order_by(AuditEventRow.id)).all()
    assert len(ids) == 3 and ids == sorted(ids)


def test_unreachable_store_is_one_clear_line_without_the_password() -> None:
    from billbridge.state.db import StateStoreUnavailable

    with pytest.raises(StateStoreUnavailable) as err:
        Store("postgresql://bb:s3cret-pw@127.0.0.1:1/none")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("cannot open the state store postgresql+psycopg://bb:***@")
    assert "s3cret-pw" not in message


def test_a_new_sqlite_file_gets_large_pages_and_an_existing_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    import sqlite3

    from billbridge.state.db import PAGE_SIZE

    fresh = Store(f"sqlite:///{tmp_path}/new.db")
    fresh.close()
    older = tmp_path / "old.db"
    with sqlite3.connect(older) as con:  # a store file made before the pragma existed
        con.execute("PRAGMA page_size=4096")
        con.execute("CREATE TABLE t (x)")
    kept = Store(f"sqlite:///{older}")
    with kept.session() as s:
        s.add(RunLogRow(run_id="r1", job="j", kind="sync", event="started"))
    kept.close()
    sizes = {}
    for name in ("new.db", "old.db"):
        with sqlite3.connect(tmp_path / name) as con:
            sizes[name] = con.execute("PRAGMA page_size").fetchone()[0]
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            assert mode == "wal"
    assert sizes == {"new.db": PAGE_SIZE, "old.db": 4096}
    with sqlite3.connect(older) as con:
        assert con.execute("SELECT count(*) FROM run_log").fetchone() == (1,)


def _run_row(run_id: str) -> RunLogRow:
    return RunLogRow(run_id=run_id, job="j", kind="reconcile", event="done", at=datetime.now(UTC))


def _commit_wait(s: object, dialect: str) -> str:
    """What the session's connection does at commit: SQLite's synchronous level, or
    PostgreSQL's synchronous_commit."""
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    setting = "PRAGMA synchronous" if dialect == "sqlite" else "SHOW synchronous_commit"
    return str(s.connection().exec_driver_sql(setting).scalar())


def test_a_non_durable_session_commits_without_waiting_for_the_disk(store: Store) -> None:
    with store.session() as s:
        durable = _commit_wait(s, store.dialect)
    with store.session(durable=False) as s:
        relaxed = _commit_wait(s, store.dialect)
        raw = s.connection().connection.driver_connection
        s.add(_run_row("r1"))
    if store.dialect == "sqlite":  # the very connection goes back to the pool as it came
        assert raw is not None
        assert raw.execute("PRAGMA synchronous").fetchone() == (2,)
    # SQLite: FULL (2) -> NORMAL (1); PostgreSQL: on -> off
    assert (durable, relaxed) == (("2", "1") if store.dialect == "sqlite" else ("on", "off"))
    with store.session() as s:
        assert s.scalars(select(RunLogRow.run_id)).all() == ["r1"]
        # the level is this transaction's only: the next one waits for the disk again
        assert _commit_wait(s, store.dialect) == durable


def test_a_failed_non_durable_session_rolls_back_and_restores_the_level(store: Store) -> None:
    def fail_midway() -> None:
        with store.session(durable=False) as s:
            s.add(_run_row("r1"))
            s.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    with store.session() as s:
        assert s.scalars(select(RunLogRow)).all() == []
        level = _commit_wait(s, store.dialect)
    assert level == ("2" if store.dialect == "sqlite" else "on")


def test_migrations_build_the_schema_the_models_declare(store: Store) -> None:
    """Alembic's own comparison finds nothing between the migrated database and the models:
    every table, column and index a model declares, a migration made."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from billbridge.state.schema import Base

    with store.engine.connect() as conn:
        opts = {"include_schemas": False}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_exceptions_have_one_recon_status_index(store: Store) -> None:
    """A run inserting 20k exceptions maintains one (recon, status) index, not one on each."""
    indexes = {
        ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("exceptions")
    }
    assert indexes == {"ix_exceptions_recon_status": ["recon", "status"]}


def test_the_recon_status_index_migration_goes_both_ways(tmp_path: Path) -> None:
    """From the first schema (with its rows) to the newest and back again."""
    from alembic import command
    from sqlalchemy import text

    from billbridge.state.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        cfg = alembic_config(engine)
        command.upgrade(cfg, "0001_initial")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO exceptions (exception_id, recon, category, keys, key_text, "
                    "fingerprint, details, severity, first_seen, last_seen, times_seen, "
                    "run_state, status) VALUES ('e1', 'r', 'c', '{}', 'k', 'f', '{}', 'LOW', "
                    "'2026-01-01', '2026-01-01', 1, 'NEW', 'OPEN')"
                )
            )
        command.upgrade(cfg, "heads")
        names = {ix["name"] for ix in inspect(engine).get_indexes("exceptions")}
        assert names == {"ix_exceptions_recon_status"}
        command.downgrade(cfg, "0001_initial")
        names = {ix["name"] for ix in inspect(engine).get_indexes("exceptions")}
        assert names == {"ix_exceptions_recon", "ix_exceptions_status"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT exception_id FROM exceptions")).scalar_one() == "e1"
    finally:
        engine.dispose()
