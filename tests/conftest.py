"""Fixtures shared by every test package.

``store`` runs a test on both state-store backends: a SQLite file and the PostgreSQL server
at 127.0.0.1:5432 (database ``test``), each test in its own schema. The PostgreSQL half skips
with the reason when no server is reachable. ``shared_dir`` skips when ../shared is absent.
``rsps`` is a strict ``responses`` mock: every request must match one registered, and every
registered one must be requested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from sqlalchemy import text

from billbridge.state import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BILLBRIDGE_SHARED", ROOT.parent / "shared"))
PG_URL = os.environ.get("BILLBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unreachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "skip the PostgreSQL half"
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


_PG_SKIP = _pg_unreachable()


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """CLI tests configure structlog (level filter, stream); undo it so later tests that
    capture logs see every event."""
    yield
    import structlog

    from billbridge import logs

    structlog.reset_defaults()
    logs.clear_secrets()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A freshly migrated state store on each backend."""
    if request.param == "sqlite":
        st = Store(f"sqlite:///{tmp_path / 'state.db'}")
        yield st
        st.close()
        return
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    st = Store(PG_URL, schema=schema)
    yield st
    st.close()
    from billbridge.state.db import make_engine

    eng = make_engine(PG_URL)
    with eng.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    eng.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    st = Store(f"sqlite:///{tmp_path / 'state.db'}")
    yield st
    st.close()


@pytest.fixture
def pg_url() -> str:
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    return PG_URL


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference material not present at {SHARED}")
    return SHARED


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
