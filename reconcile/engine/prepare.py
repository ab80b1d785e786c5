"""Side preparation shared by the two- and three-sided engines: a side's columns checked,
its source registered (Arrow, Parquet in place, code translations joined in), text that must
parse checked (naming the line), and the normalised view ``n_<side>`` of keys ``k0..``, raw
compared values ``r0..``, raw context ``x0..`` and ``_line``, filters applied.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from typing import Any

import duckdb
import pyarrow as pa

from billbridge.errors import ConfigError, ParseError
from reconcile.definitions import KeySpec, ReconDefinition
from reconcile.engine import sql
from reconcile.engine.sides import LINE, Side, register_side


def register(con: duckdb.DuckDBPyConnection, side: str, data: Side) -> None:
    """``src_<side>``: see :func:`reconcile.engine.sides.register_side`."""
    register_side(con, f"src_{side}", data)


def source_types(data: Side) -> dict[str, str]:
    out = {}
    for f in data.schema:
        is_text = pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        out[f.name] = "VARCHAR" if is_text else str(f.type)
    return out


def check_columns(definition: ReconDefinition, side: str, data: Side) -> Side:
    """Fail on missing columns; an empty side (no rows) gets them as null text."""
    spec = getattr(definition, side)
    have = set(data.column_names)
    refs = [*definition.keys, *definition.compare, *definition.context]
    need = {ref.col(side) for ref in refs} | {f.field for f in spec.filters}
    missing = sorted(need - have)
    if missing and data.table is not None and data.num_rows == 0:
        table = data.table
        for name in missing:
            table = table.append_column(name, pa.array([], pa.string()))
        return replace(data, table=table)
    if missing:
        raise ConfigError(
            f"{definition.name}: side {side.upper()} ({spec.label}, {data.source}) lacks columns "
            f"{missing}; it has {sorted(have - {LINE})}"
        )
    return data


def check_values(
    con: duckdb.DuckDBPyConnection, definition: ReconDefinition, side: str, data: Side
) -> None:
    """Refuse text that is not a number or date where one is expected, naming the line.

    One scan per side: the first bad line of every text column that must parse.
    """
    types = source_types(data)
    checks = []
    for cmp in definition.compare:
        column = cmp.col(side)
        pred = sql.unparsable(column, cmp.kind) if types.get(column) == "VARCHAR" else None
        if pred is not None:
            checks.append((cmp, column, f"arg_min({LINE}, {LINE}) FILTER (WHERE {pred})"))
    if not checks:
        return
    firsts = one_row(con, f"SELECT {', '.join(c[2] for c in checks)} FROM src_{side}")
    bad = [
        (line, cmp, col)
        for line, (cmp, col, _) in zip(firsts, checks, strict=True)
        if line is not None
    ]
    if not bad:
        return
    line, cmp, column = min(bad, key=lambda b: b[0])
    value = next(
        iter(
            con.execute(
                f"SELECT CAST({sql.ident(column)} AS VARCHAR) FROM src_{side} WHERE {LINE} = ?",
                [line],
            ).fetchall()
        ),
        None,
    )
    text = str(value[0]) if value else ""
    if cmp.kind not in sql.NUMERIC_KINDS:
        expected = "an ISO date (YYYY-MM-DD)"
    elif re.search(rf"\.[0-9]{{{sql.MAX_SCALE + 1},}}", text):
        expected = f"at most {sql.MAX_SCALE} decimal places"
    else:
        expected = "a decimal number"
    raise ParseError(
        f"field {column!r}: {value[0] if value else None!r}",
        file=data.source,
        line=int(line),
        expected=expected,
    )


def normalised_view(
    con: duckdb.DuckDBPyConnection,
    d: ReconDefinition,
    side: str,
    typed_keys: frozenset[int] = frozenset(),
    data: Side | None = None,
    *,
    wide: bool = False,
) -> None:
    """``n_<side>``: normalised keys, raw compared values and context, line; filters applied.

    Keys in ``typed_keys`` (see :func:`integer_keys`) stay as the source's integers. With the
    side's ``data``, key columns it proves free of nulls skip the null-to-'' step."""

    def key(i: int, k: KeySpec) -> str:
        column = k.col(side)
        if i in typed_keys:
            return sql.ident(column)
        nullable = data is None or _null_count(data, column) != 0
        source = source_types(data).get(column) if data is not None else None
        return sql.key_expr(k, column, nullable=nullable, source_type=source, wide=wide)

    cols = [f"{key(i, k)} AS k{i}" for i, k in enumerate(d.keys)]
    cols += [f"{sql.ident(c.col(side))} AS r{i}" for i, c in enumerate(d.compare)]
    cols += [f"{sql.ident(x.col(side))} AS x{i}" for i, x in enumerate(d.context)]
    cols.append(f"{LINE} AS _line")
    spec = getattr(d, side)
    where = " AND ".join(sql.filter_expr(f, f.field) for f in spec.filters) or "TRUE"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW n_{side} AS SELECT {', '.join(cols)} FROM src_{side} "
        f"WHERE {where}"
    )


def arrow_table(
    con: duckdb.DuckDBPyConnection, query: str, batch_size: int | None = None
) -> pa.Table:
    """The result of ``query`` as Arrow, through ``execute``.

    The relation API (``con.sql(...).to_arrow_table()``) tokenizes the text in Python and
    binds it twice: 5-20 ms on the engine's long generated statements, several times the
    copy of the few thousand result rows this DuckDB build warns that ``execute`` makes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        result = con.execute(query)
        if batch_size is None:
            return result.to_arrow_table()
        return result.to_arrow_table(batch_size=batch_size)


def one_row(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    """The single row of an aggregate query, fetched to the end (DuckDB refuses new work on
    a connection whose last result was not finished)."""
    (row,) = con.execute(query).fetchall()
    return tuple(row)


_DB: list[duckdb.DuckDBPyConnection] = []


def database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; each run works in its own cursor.

    Its time zone is UTC: a timestamp with a zone becomes the same calendar date on every
    machine (the default, the machine's zone, made results depend on where they ran)."""
    if not _DB:
        con = duckdb.connect()
        con.execute("SET GLOBAL TimeZone = 'UTC'")  # GLOBAL: every cursor (run) too
        _DB.append(con)
    return _DB[0]


def fetch_dicts(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    cur = con.execute(query)
    names = [c[0] for c in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


INTEGER_TYPES = frozenset(
    ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
)
#: normalisations that leave an integer's text as it is
_NO_OP_ON_INTEGERS = frozenset(("trim", "casefold", "strip_leading_zeros"))


def integer_keys(d: ReconDefinition, data: dict[str, Side]) -> frozenset[int]:
    """Keys both sides hold as the same integer type with no nulls: joined as integers, not
    as text (casting a million integers to text and normalising it was most of a join on a
    line-number key). Their text (ids, details) is the same either way."""
    out = set()
    for i, key in enumerate(d.keys):
        if key.regex or not set(key.normalize) <= _NO_OP_ON_INTEGERS:
            continue
        types = {source_types(data[s]).get(key.col(s)) for s in data}
        if len(types) != 1 or not types <= INTEGER_TYPES:
            continue
        if all(_null_count(data[s], key.col(s)) == 0 for s in data):
            out.add(i)
    return frozenset(out)


def _null_count(data: Side, column: str) -> int | None:
    """Nulls in a column, from the Arrow table or the Parquet statistics (None: unknown)."""
    if any(name == column for name, _ in data.translations):
        return None  # a translated code is text
    if data.table is not None:
        return int(data.table.column(column).null_count)
    return data.parquet_nulls.get(column)
