"""The generated SQL fragments evaluated by DuckDB against Python's own reading."""

from __future__ import annotations

import duckdb
import pytest

from reconcile.engine.sql import trimmed

EDGES = ["", " ", "  ", "a", " a", "a ", "  a  ", " a b ", "a b", "%", " %", "_ ", "a\t", "\ta "]


@pytest.mark.parametrize("value", EDGES)
def test_trimmed_strips_edge_spaces_only(value: str) -> None:
    row = duckdb.execute(f"SELECT {trimmed('v')} FROM (SELECT CAST(? AS VARCHAR) AS v)", [value])
    assert row.fetchone() == (value.strip(" "),)


def test_trimmed_keeps_null() -> None:
    assert duckdb.execute(f"SELECT {trimmed('CAST(NULL AS VARCHAR)')}").fetchone() == (None,)
