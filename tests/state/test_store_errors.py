"""A state store that is locked by another process, or fails while in use, is one line
naming the store (password masked), exit 2: not "unexpected OperationalError", exit 1."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from billbridge.cli import main
from billbridge.state import Store
from billbridge.state import db as state_db
from billbridge.state.db import StateStoreUnavailable


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated store whose file another connection holds with BEGIN EXCLUSIVE."""
    monkeypatch.setattr(state_db, "BUSY_TIMEOUT_S", 0)
    url = f"sqlite:///{tmp_path / 'lk' / 's.db'}"
    Store(url).close()
    holder = sqlite3.connect(tmp_path / "lk" / "s.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield url
    finally:
        holder.rollback()
        holder.close()


def test_a_locked_store_names_the_store_and_the_wait(locked: str) -> None:
    store = Store(locked)
    try:
        with pytest.raises(StateStoreUnavailable) as err, store.session() as s:
            s.execute(text("INSERT INTO audit_events (at, actor, action) VALUES (0, 'a', 'b')"))
    finally:
        store.close()
    assert str(err.value) == (
        f"state store {locked} is locked by another process (waited 0 s); "
        "try again when that process has finished"
    )


def test_a_locked_store_on_the_command_line_is_exit_2(
    locked: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "billbridge",
            "exceptions",
            "suppress",
            "--recon",
            "r",
            "--category",
            "X",
            "--expires",
            "2099-01-01",
            "--reason",
            "why",
            "--owner",
            "ar",
            "--state-url",
            locked,
        ],
    )
    with pytest.raises(SystemExit) as done:
        main.run()
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err.startswith(f"error: state store {locked} is locked by another process")
    assert "unexpected" not in err and err.count("\n") == 1


def test_a_store_error_never_shows_the_password() -> None:
    from sqlalchemy.exc import OperationalError

    exc = OperationalError("SELECT 1", {}, Exception("server closed the connection\nmore"))
    shown = state_db.store_error(exc, "postgresql://bb:s3cret-pw@db/x", opening=False)
    assert str(shown) == "state store postgresql://bb:***@db/x failed: server closed the connection"
