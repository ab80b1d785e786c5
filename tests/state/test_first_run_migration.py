"""Revision 0005: an exception's NEW event moves from a history row to the row itself
(``first_run_id``). Exceptions recorded before it keep their stored NEW event; none is shown
twice or lost, on upgrade or downgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import sessionmaker

from billbridge.state import Store
from billbridge.state.db import alembic_config
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from tests.state.test_recon_severity_rules import bare_engine  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)

_OLD_ROW = (
    "INSERT INTO exceptions (exception_id, recon, category, keys, key_text, fingerprint, "
    "details, severity, amount, currency, first_seen, last_seen, times_seen, run_state, "
    "status, owner, last_run_id, resolved_at) VALUES ('old1', 'inv', 'MISSING_IN_B', "
    "'{\"k\": \"1\"}', '1', 'fp', '{}', 'LOW', NULL, NULL, '2026-12-01 06:00:00', "
    "'2026-12-01 06:00:00', 1, 'NEW', 'OPEN', NULL, 'r0', NULL)"
)
_OLD_EVENT = (
    "INSERT INTO exception_history (exception_id, run_id, at, event, fingerprint, details, "
    "actor, note) VALUES ('old1', 'r0', '2026-12-01 06:00:00', 'NEW', 'fp', NULL, 'system', "
    "NULL)"
)


def _events(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT exception_id, event FROM exception_history ORDER BY exception_id, id")
        )
        return [(r[0], r[1]) for r in rows]


def test_new_events_survive_the_first_run_revision_both_ways(bare_engine: Engine) -> None:  # noqa: F811
    from alembic import command

    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0004_run_log_field_kinds")
    with bare_engine.begin() as conn:  # recorded before 0005: its NEW event is a history row
        conn.execute(text(_OLD_ROW))
        conn.execute(text(_OLD_EVENT))
    command.upgrade(cfg, "heads")

    xs = ExceptionStore(_store_on(bare_engine))
    new = candidate("2")
    xs.record_run("inv", "r1", [new], T0 + timedelta(days=1))  # old1 resolved, 2 is new
    assert [(e.event, e.run_id) for e in xs.history("old1")] == [
        ("NEW", "r0"),
        ("RESOLVED_BY_DATA", "r1"),
    ]
    assert [(e.event, e.run_id, e.at) for e in xs.history(new.exception_id)] == [
        ("NEW", "r1", T0 + timedelta(days=1))
    ]
    assert _events(bare_engine) == [("old1", "NEW"), ("old1", "RESOLVED_BY_DATA")]

    command.downgrade(cfg, "0004_run_log_field_kinds")  # the implied event is stored again
    assert sorted(_events(bare_engine)) == sorted(
        [("old1", "NEW"), ("old1", "RESOLVED_BY_DATA"), (new.exception_id, "NEW")]
    )


def candidate(key: str) -> ExceptionCandidate:
    return ExceptionCandidate(
        exception_id=exception_id("inv", {"k": key}, "MISSING_IN_B"),
        recon="inv",
        category="MISSING_IN_B",
        keys={"k": key},
        fingerprint="fp" + key,
        details={"a": {"k": key}},
    )


def _store_on(engine: Engine) -> Store:
    """A store on an engine already migrated here (the fixture's engine knows its schema)."""
    store = Store.__new__(Store)
    store.url, store.engine = str(engine.url), engine
    store._sessions = sessionmaker(engine, expire_on_commit=False)
    return store
