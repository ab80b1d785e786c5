"""A run's exceptions as one Arrow table that DuckDB queries in place.

The engine hands over its exception rows as tuples with each exception's details as JSON
text. Root causes and expectations look at a handful of values per exception, so DuckDB
takes those out of the JSON once, for all exceptions, instead of Python decoding 20k
documents. Columns of ``Frame.table``:

- ``i``: position in the engine's rows (their order: category, id); ``category``,
  ``base`` (the details' base category), ``currency``;
- ``key_text`` ("name=value, ..." as the reports show a record), ``k0..`` the key texts;
- per compared field (definition order) ``a0..``/``b0..`` its text on each side (NULL when
  absent) and ``d0..`` whether it differs; ``has_a``/``has_b``: the side has the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.engine.prepare import arrow_table, database
from reconcile.engine.rows import CATEGORY, CURRENCY, DETAILS, KEYS, ExceptionRows
from reconcile.engine.sql import literal


@dataclass(frozen=True)
class Frame:
    rows: ExceptionRows
    #: compared field names, in the order of the ``a``/``b``/``d`` columns
    fields: tuple[str, ...]
    table: pa.Table

    def key(self, name: str) -> str:
        """SQL for key ``name`` (NULL when the recon has no such key)."""
        names = self.rows.key_names
        return f"k{names.index(name)}" if name in names else "NULL"

    def value(self, side: str, name: str) -> str:
        """SQL for field ``name`` on side ``a`` or ``b`` (NULL when it is not compared)."""
        return f"{side}{self.fields.index(name)}" if name in self.fields else "NULL"

    @contextmanager
    def _cursor(self, tables: dict[str, pa.Table]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the engine's database with this table as ``x`` and ``tables``."""
        con = database().cursor()
        try:
            con.register("x", self.table)
            for name, table in tables.items():
                con.register(name, table)
            yield con
        finally:
            con.close()

    def query(self, sql: str, **tables: pa.Table) -> list[tuple[Any, ...]]:
        """Run ``sql`` with this table as ``x`` (and ``tables`` under their names)."""
        with self._cursor(tables) as con:
            return con.execute(sql).fetchall()

    def arrow(self, sql: str, **tables: pa.Table) -> pa.Table:
        """The result of ``sql`` as an Arrow table (as ``query`` runs it)."""
        with self._cursor(tables) as con:
            return arrow_table(con, sql)

    def with_columns(self, sql: str, **tables: pa.Table) -> Frame:
        """This frame with the columns ``sql`` computes per row: its first column is
        ``i``, its rows in ``i`` order (one per row of the frame)."""
        table, found = self.table, self.arrow(sql, **tables)
        if not found.column(0).equals(table.column("i")):
            raise ValueError("the new columns do not follow the frame's rows")
        for name in found.column_names[1:]:
            table = table.append_column(name, found.column(name))
        return replace(self, table=table)


def _path(*names: str) -> str:
    """A JSON path with each member quoted (field names may hold dots or spaces)."""
    return "$" + "".join("." + json.dumps(n, ensure_ascii=False) for n in names)


def _key_text(keys: Sequence[str]) -> str:
    """SQL for "name=value, ..." over the key columns ``k0..``."""
    text = " || ', ' || ".join(
        f"{literal(k + '=')} || coalesce(k{j}, 'None')" for j, k in enumerate(keys)
    )
    return text or literal("")


def exception_frame(
    rows: ExceptionRows, fields: Sequence[str], by_field: pa.Table | None = None
) -> Frame:
    """The frame of ``rows`` for a definition comparing ``fields`` (its compare order).

    ``by_field``: the engine's per-field columns of the same rows (``ReconResult.by_field``);
    without it the values are read from each exception's details JSON."""
    if by_field is not None:
        return _engine_frame(rows, fields, by_field)
    keys = rows.key_names
    columns = list(zip(*rows.rows, strict=True)) or [()] * (KEYS + len(keys))
    raw = pa.table(
        {
            "i": pa.array(range(len(rows)), pa.int64()),
            "category": pa.array(columns[CATEGORY], pa.string()),
            "details": pa.array(columns[DETAILS], pa.string()),
            "currency": pa.array(columns[CURRENCY], pa.string()),
            **{f"k{j}": pa.array(columns[KEYS + j], pa.string()) for j in range(len(keys))},
        }
    )
    # one parse per document: every wanted path in one json_extract_string call
    paths = [_path("base_category"), _path("a"), _path("b"), _path("diff_columns")]
    paths += [_path(side, f) for f in fields for side in ("a", "b")]
    picked = [
        "i", "category", "coalesce(v[1], category) AS base", "currency",
        f"{_key_text(keys)} AS key_text", *(f"k{j}" for j in range(len(keys))),
        "coalesce(v[2] <> '{}', false) AS has_a", "coalesce(v[3] <> '{}', false) AS has_b",
    ]  # fmt: skip
    for n, f in enumerate(fields):
        picked += [f"v[{5 + 2 * n}] AS a{n}", f"v[{6 + 2 * n}] AS b{n}"]
        picked.append(f"coalesce(list_contains(diff, {literal(f)}), false) AS d{n}")
    # the differing fields' names: the small array text parsed again, not the document
    sql = (
        f"SELECT {', '.join(picked)} FROM (SELECT *, from_json(v[4], '[\"VARCHAR\"]') AS diff "
        f"FROM (SELECT i, category, currency{''.join(f', k{j}' for j in range(len(keys)))}, "
        f"json_extract_string(details, [{', '.join(map(literal, paths))}]) AS v FROM x)) "
        "ORDER BY i"
    )
    frame = Frame(rows, tuple(fields), raw)
    return replace(frame, table=frame.arrow(sql))


def _engine_frame(rows: ExceptionRows, fields: Sequence[str], by_field: pa.Table) -> Frame:
    """The frame from the engine's own columns (in the rows' order), renamed and with the
    key text added by Arrow compute: no JSON to parse, no Python value to convert."""
    if by_field.num_rows != len(rows):
        raise ValueError(f"{by_field.num_rows} engine rows for {len(rows)} exceptions")
    keys = rows.key_names
    parts: list[Any] = []
    for j, name in enumerate(keys):
        parts += [", " if j else "", name + "=", pc.fill_null(by_field.column(f"k{j}"), "None")]
    if parts:
        key_text = pc.binary_join_element_wise(*parts, "")
    else:
        key_text = pa.array([""] * len(rows), pa.string())
    columns: dict[str, Any] = {
        "i": pa.array(np.arange(len(rows), dtype=np.int64)),
        "category": by_field.column("_name"),
        "base": by_field.column("_base"),
        "currency": by_field.column("_ccy"),
        "key_text": key_text,
        **{f"k{j}": by_field.column(f"k{j}") for j in range(len(keys))},
        "has_a": by_field.column("_has_a"),
        "has_b": by_field.column("_has_b"),
    }
    for n in range(len(fields)):
        for side in ("a", "b", "d"):
            columns[f"{side}{n}"] = by_field.column(f"_{side}{n}")
    return Frame(rows, tuple(fields), pa.table(columns))
