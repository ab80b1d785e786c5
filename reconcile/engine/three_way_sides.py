"""Side preparation for the three-sided engine: columns checked, sources registered, values that
must parse checked (naming the line), each side normalised into a view ``n_<side>`` of keys
``k0..``, raw compared values ``r0..``, raw context ``x0..`` and ``_line``; then the keys that
repeat on a non-aggregated side.

Kept apart from the two-sided engine's private helpers on purpose: it only uses the public
SQL fragments of ``reconcile.engine.sql``.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from billbridge.errors import ConfigError, ParseError
from reconcile.definitions import ReconDefinition
from reconcile.engine import sql
from reconcile.engine.sides import LINE, Side
from reconcile.engine.three_way_sql import plain_number


def source_types(data: Side) -> dict[str, str]:
    """Column -> DuckDB type name; every Arrow text type is VARCHAR."""
    out = {}
    for f in data.schema:
        is_text = pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        out[f.name] = "VARCHAR" if is_text else str(f.type)
    return out


def check_columns(d: ReconDefinition, side: str, data: Side) -> Side:
    """Fail on missing columns; an empty side (no rows) gets them as null text."""
    spec = getattr(d, side)
    have = set(data.column_names)
    refs = [*d.keys, *d.compare, *d.context]
    need = {ref.col(side) for ref in refs} | {f.field for f in spec.filters}
    missing = sorted(need - have)
    if missing and data.table is not None and data.num_rows == 0:
        table = data.table
        for name in missing:
            table = table.append_column(name, pa.array([], pa.string()))
        return Side(table, data.source)
    if missing:
        raise ConfigError(
            f"{d.name}: side {side.upper()} ({spec.label}, {data.source}) lacks columns "
            f"{missing}; it has {sorted(have - {LINE})}"
        )
    return data


def register(con: duckdb.DuckDBPyConnection, side: str, data: Side) -> None:
    """``src_<side>``: the Arrow table, or the Parquet file scanned in place."""
    if data.table is not None:
        con.register(f"src_{side}", data.table)
        return
    path = sql.literal(data.parquet)
    extra = "" if LINE in data.column_names else f", file_row_number + 1 AS {LINE}"
    con.execute(
        f"CREATE TEMP VIEW src_{side} AS SELECT * EXCLUDE (file_row_number){extra} "
        f"FROM read_parquet({path}, file_row_number = true)"
    )


def check_values(con: duckdb.DuckDBPyConnection, d: ReconDefinition, side: str, data: Side) -> None:
    """Refuse text that is not a number or date where one is expected, naming the line.

    One scan per side: the first bad line of every text column that must parse.
    """
    types = source_types(data)
    checks = []
    for cmp in d.compare:
        column = cmp.col(side)
        pred = sql.unparsable(column, cmp.kind) if types.get(column) == "VARCHAR" else None
        if pred is not None and cmp.kind in sql.NUMERIC_KINDS:
            # a plain number parses: only the other rows pay for the spreadsheet formats
            fast = plain_number(sql.ident(column))
            pred = f"(CASE WHEN {fast} IS NOT NULL THEN FALSE ELSE {pred} END)"
        if pred is not None:
            checks.append((cmp.kind, column, f"arg_min({LINE}, {LINE}) FILTER (WHERE {pred})"))
    if not checks:
        return
    firsts = one_row(con, f"SELECT {', '.join(c[2] for c in checks)} FROM src_{side}")
    bad = [
        (line, kind, col)
        for line, (kind, col, _) in zip(firsts, checks, strict=True)
        if line is not None
    ]
    if not bad:
        return
    line, kind, column = min(bad, key=lambda b: b[0])
    value = con.execute(
        f"SELECT CAST({sql.ident(column)} AS VARCHAR) FROM src_{side} WHERE {LINE} = ?", [line]
    ).fetchone()
    expected = "a decimal number" if kind in sql.NUMERIC_KINDS else "an ISO date"
    raise ParseError(
        f"field {column!r}: {value[0] if value else None!r} is not {expected}",
        file=data.source,
        line=int(line),
        expected=expected,
    )


def normalised_view(con: duckdb.DuckDBPyConnection, d: ReconDefinition, side: str) -> None:
    """``n_<side>``: normalised keys, raw compared values and context, line; filters applied."""
    cols = [f"{sql.key_expr(k, k.col(side))} AS k{i}" for i, k in enumerate(d.keys)]
    cols += [f"{sql.ident(c.col(side))} AS r{i}" for i, c in enumerate(d.compare)]
    cols += [f"{sql.ident(x.col(side))} AS x{i}" for i, x in enumerate(d.context)]
    cols.append(f"{LINE} AS _line")
    spec = getattr(d, side)
    where = " AND ".join(sql.filter_expr(f, f.field) for f in spec.filters) or "TRUE"
    con.execute(
        f"CREATE TEMP VIEW n_{side} AS SELECT {', '.join(cols)} FROM src_{side} WHERE {where}"
    )


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition
) -> tuple[int, dict[str, int]]:
    """Keys that repeat on a non-aggregated side -> temp table ``_dk``; rows per side.

    A cheap exact test first: as many distinct 64-bit key hashes as rows means no key repeats.
    Only when it fails are the repeated keys themselves grouped.
    """
    keys = ", ".join(f"k{i}" for i in range(len(d.keys)))
    rows: dict[str, int] = {}
    repeated = []
    for side in d.sides:
        if getattr(d, side).aggregate:
            rows[side] = int(one_row(con, f"SELECT count(*) FROM n_{side}")[0])
            continue
        total, distinct = one_row(
            con, f"SELECT count(*), count(DISTINCT hash({keys})) FROM n_{side}"
        )
        rows[side] = int(total)
        if total != distinct:
            repeated.append(f"SELECT {keys} FROM n_{side} GROUP BY {keys} HAVING count(*) > 1")
    if not repeated:
        return 0, rows
    con.execute(f"CREATE TEMP TABLE _dk AS SELECT DISTINCT * FROM ({' UNION ALL '.join(repeated)})")
    return int(one_row(con, "SELECT count(*) FROM _dk")[0]), rows


def one_row(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = con.execute(query).fetchone()
    assert row is not None  # aggregates always return a row
    return tuple(row)
