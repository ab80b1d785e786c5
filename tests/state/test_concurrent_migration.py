"""Processes opening a new store at the same moment migrate it one after the other: two
`reconcile run` on a fresh database both created alembic_version before (PostgreSQL:
duplicate key on pg_type; SQLite: table alembic_version already exists)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from billbridge.state.db import make_engine
from tests.conftest import ROOT

OPENERS = 3
#: each process waits for the others' go file, then opens the store (alembic's context is
#: per process, so processes, not threads)
_OPEN = """
import sys, time, pathlib
from billbridge.state import Store
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.005)
Store(sys.argv[2], schema=sys.argv[3] or None).close()
"""


def _open_at_once(tmp_path: Path, url: str, schema: str = "") -> list[str]:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN, str(go), url, schema],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(OPENERS)
    ]
    import time

    time.sleep(2.5)  # every process imported and waiting
    go.touch()
    errors = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        if p.returncode:
            errors.append(out.strip().splitlines()[-1])
    return errors


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = make_engine(pg_url)
    with eng.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


@pytest.mark.parametrize("attempt", range(2))
def test_a_new_postgresql_store_opened_at_once(
    tmp_path: Path, pg_url: str, pg_schema: str, attempt: int
) -> None:
    assert _open_at_once(tmp_path, pg_url, pg_schema) == []
    eng = make_engine(pg_url, schema=pg_schema)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    eng.dispose()


@pytest.mark.parametrize("attempt", range(2))
def test_a_new_sqlite_store_opened_at_once(tmp_path: Path, attempt: int) -> None:
    assert _open_at_once(tmp_path, f"sqlite:///{tmp_path / 'state.db'}") == []
