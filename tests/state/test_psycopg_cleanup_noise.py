"""A PostgreSQL connection lost mid-run shows its error once: psycopg's extra warning that
ending the pipeline failed too (``error ignored terminating <psycopg.Pipeline [BAD]>``) is
dropped; its other warnings are not."""

from __future__ import annotations

import logging

import pytest

from billbridge.state.db import make_engine


def test_pipeline_cleanup_warning_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    make_engine("postgresql://u@127.0.0.1:1/none").dispose()
    log = logging.getLogger("psycopg")
    with caplog.at_level(logging.WARNING, logger="psycopg"):
        log.warning("error ignored terminating %r: %s", "<psycopg.Pipeline [BAD]>", "lost")
        log.warning("some other psycopg warning")
    assert [r.getMessage() for r in caplog.records] == ["some other psycopg warning"]
