"""Set-based keyed matching in DuckDB: one FULL OUTER JOIN on normalised keys.

Plan: (1) normalise each side into a view (keys, typed values, context, source line), with
filters applied; (2) keys appearing more than once on a non-aggregated side are set aside as
DUPLICATE exceptions (never paired by row order); (3) aggregated sides are summed per key
(many-to-one); (4) the join keeps only rows that are exclusive or not exactly equal; (5) those
few rows get tolerance checks, categories and deltas. Exact matches never leave DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import structlog

from billbridge.errors import ConfigError, ParseError
from reconcile.definitions import ReconDefinition
from reconcile.engine import sql
from reconcile.engine.build import build_candidates, build_duplicates, gc_paused
from reconcile.engine.result import ReconResult
from reconcile.engine.sides import LINE, Side, SideInput, as_side
from reconcile.engine.summary import summarize

log = structlog.get_logger(__name__)

SIDES = ("a", "b")


@dataclass(frozen=True)
class Plan:
    """Column aliases used in the generated SQL for one definition: keys k0.., raw compared
    values r0.. (typed values v0.. after casting), raw context x0.."""

    definition: ReconDefinition
    #: side -> source column -> DuckDB type name ("AGG" for an aggregated side's output)
    types: dict[str, dict[str, str]]

    def cast(self, side: str, i: int, expr: str) -> str:
        """Typed value of compare field ``i`` from its raw expression on ``side``."""
        c = self.definition.compare[i]
        return sql.value_expr(c, expr, self.source_type(side, c.col(side)), c.kind)

    def raw_cast(self, side: str, i: int, expr: str) -> str:
        """Typed value from a side's source column (before any aggregation)."""
        c = self.definition.compare[i]
        return sql.value_expr(c, expr, self.types[side][c.col(side)], c.kind)

    def context(self, side: str, i: int, expr: str) -> str:
        x = self.definition.context[i]
        return sql.value_expr(None, expr, self.source_type(side, x.col(side)), "text")

    def source_type(self, side: str, column: str) -> str:
        if getattr(self.definition, side).aggregate:
            return "AGG"
        return self.types[side][column]

    def same_type(self, i: int) -> bool:
        """Raw values can be compared as they are (a cheap exact-equality prefilter)."""
        c = self.definition.compare[i]
        return self.source_type("a", c.col("a")) == self.source_type("b", c.col("b")) != "AGG"

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.definition.keys))]

    @property
    def values(self) -> list[str]:
        return [f"v{i}" for i in range(len(self.definition.compare))]

    @property
    def contexts(self) -> list[str]:
        return [f"x{i}" for i in range(len(self.definition.context))]

    def currency_sql(self) -> str | None:
        name = self.definition.currency_field
        if name is None:
            return None
        d = self.definition
        for i, spec in enumerate(d.keys):
            if spec.name == name:
                return f"k{i}"
        for i, cmp in enumerate(d.compare):
            if cmp.name == name:
                return f"coalesce(a_v{i}, b_v{i})"
        for i, ctx in enumerate(d.context):
            if ctx.name == name:
                return f"coalesce(a_t{i}, b_t{i})"
        return None


def _source_types(data: Side) -> dict[str, str]:
    out = {}
    for f in data.schema:
        is_text = pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        out[f.name] = "VARCHAR" if is_text else str(f.type)
    return out


def _check_columns(definition: ReconDefinition, side: str, data: Side) -> Side:
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
        return Side(table, data.source)
    if missing:
        raise ConfigError(
            f"{definition.name}: side {side.upper()} ({spec.label}, {data.source}) lacks columns "
            f"{missing}; it has {sorted(have - {LINE})}"
        )
    return data


def _register(con: duckdb.DuckDBPyConnection, side: str, data: Side) -> None:
    if data.table is not None:
        con.register(f"src_{side}", data.table)
        return
    path = sql.literal(data.parquet)
    extra = "" if LINE in data.column_names else f", file_row_number + 1 AS {LINE}"
    con.execute(
        f"CREATE TEMP VIEW src_{side} AS SELECT * EXCLUDE (file_row_number){extra} "
        f"FROM read_parquet({path}, file_row_number = true)"
    )


def _check_values(
    con: duckdb.DuckDBPyConnection, definition: ReconDefinition, side: str, data: Side
) -> None:
    """Refuse text that is not a number or date where one is expected, naming the line."""
    types = _source_types(data)
    for cmp in definition.compare:
        column = cmp.col(side)
        if types.get(column) != "VARCHAR":
            continue
        pred = sql.unparsable(column, cmp.kind)
        if pred is None:
            continue
        bad = con.execute(
            f"SELECT {LINE}, CAST({sql.ident(column)} AS VARCHAR) FROM src_{side} "
            f"WHERE {pred} ORDER BY {LINE} LIMIT 1"
        ).fetchone()
        if bad is not None:
            expected = "a decimal number" if cmp.kind in sql.NUMERIC_KINDS else "an ISO date"
            raise ParseError(
                f"{data.source}: line {bad[0]}: field {column!r}: {bad[1]!r} is not {expected}",
                file=data.source,
                line=int(bad[0]),
                expected=expected,
            )


def _normalised_view(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition, side: str, data: Side
) -> None:
    cols = [f"{sql.key_expr(k, k.col(side))} AS k{i}" for i, k in enumerate(d.keys)]
    cols += [f"{sql.ident(c.col(side))} AS r{i}" for i, c in enumerate(d.compare)]
    cols += [f"{sql.ident(x.col(side))} AS x{i}" for i, x in enumerate(d.context)]
    cols.append(f"{LINE} AS _line")
    spec = getattr(d, side)
    where = " AND ".join(sql.filter_expr(f, f.field) for f in spec.filters) or "TRUE"
    con.execute(
        f"CREATE TEMP VIEW n_{side} AS SELECT {', '.join(cols)} FROM src_{side} WHERE {where}"
    )


def _grouped_sql(d: ReconDefinition, plan: Plan, side: str, exclude_dups: bool) -> str:
    keys = ", ".join(plan.keys)
    source = f"n_{side}"
    if exclude_dups:
        source = f"(SELECT * FROM n_{side} ANTI JOIN _dk USING ({keys}))"
    if not getattr(d, side).aggregate:
        return f"SELECT *, 1 AS _n FROM {source}"
    types = plan.types[side]
    aggs = [
        f"{sql.aggregate_fn(c)}({sql.value_expr(c, f'r{i}', types[c.col(side)], c.kind)}) AS r{i}"
        for i, c in enumerate(d.compare)
    ]
    aggs += [f"min(x{i}) AS x{i}" for i in range(len(d.context))]
    return (
        f"SELECT {keys}, {', '.join([*aggs, 'min(_line) AS _line', 'count(*) AS _n'])} "
        f"FROM {source} GROUP BY {keys}"
    )


def _duplicate_keys(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition, plan: Plan
) -> tuple[int, dict[str, int | None]]:
    """Keys on a non-aggregated side more than once -> temp table _dk; rows per side.

    Grouping by the keys' 64-bit hash is cheaper than by the key text; the few candidate
    hashes (duplicates or, rarely, collisions) are then checked on the real keys.
    """
    keys = ", ".join(plan.keys)
    rows: dict[str, int | None] = dict.fromkeys(SIDES)
    exact = []
    for side in SIDES:
        if getattr(d, side).aggregate:
            continue
        total, hashes = _one_row(
            con,
            f"SELECT CAST(coalesce(sum(c), 0) AS BIGINT), list(h) FILTER (WHERE c > 1) FROM "
            f"(SELECT hash({keys}) AS h, count(*) AS c FROM n_{side} GROUP BY h)",
        )
        rows[side] = int(total)
        if hashes:
            con.execute(f"CREATE TEMP TABLE _dh_{side} AS SELECT unnest(?) AS h", [hashes])
            exact.append(
                f"SELECT {keys} FROM n_{side} WHERE hash({keys}) IN (SELECT h FROM _dh_{side}) "
                f"GROUP BY {keys} HAVING count(*) > 1"
            )
    if not exact:
        return 0, rows
    con.execute(f"CREATE TEMP TABLE _dk AS SELECT DISTINCT * FROM ({' UNION ALL '.join(exact)})")
    return int(_one_row(con, "SELECT count(*) FROM _dk")[0]), rows


def _one_row(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = con.execute(query).fetchone()
    assert row is not None  # aggregates always return a row
    return tuple(row)


def _join_sql(d: ReconDefinition, plan: Plan, exclude_dups: bool) -> str:
    on = " AND ".join(f"a.{k} = b.{k}" for k in plan.keys)
    cols = [f"coalesce(a.{k}, b.{k}) AS {k}" for k in plan.keys]
    cols += ["a._n AS n_a", "b._n AS n_b", "a._line AS line_a", "b._line AS line_b"]
    for alias in (*(f"r{i}" for i in range(len(d.compare))), *plan.contexts):
        cols += [f"a.{alias} AS a_{alias}", f"b.{alias} AS b_{alias}"]
    # exact prefilter on raw values when both sides have the same type (false positives
    # only: they are classified MATCHED below); otherwise on the typed values
    pairs = [
        (f"a.r{i}", f"b.r{i}")
        if plan.same_type(i)
        else (plan.cast("a", i, f"a.r{i}"), plan.cast("b", i, f"b.r{i}"))
        for i in range(len(d.compare))
    ]
    exact = " AND ".join(f"{x} IS NOT DISTINCT FROM {y}" for x, y in pairs) or "TRUE"
    many = " OR a._n > 1 OR b._n > 1" if (d.a.aggregate or d.b.aggregate) else ""
    return (
        f"SELECT {', '.join(cols)} FROM ({_grouped_sql(d, plan, 'a', exclude_dups)}) a "
        f"FULL OUTER JOIN ({_grouped_sql(d, plan, 'b', exclude_dups)}) b ON {on} "
        f"WHERE a._n IS NULL OR b._n IS NULL OR NOT ({exact}){many}"
    )


def _classify_sql(d: ReconDefinition, plan: Plan) -> str:
    ccy = plan.currency_sql()
    eqs = [sql.equal_expr(c, f"a_v{i}", f"b_v{i}", ccy) for i, c in enumerate(d.compare)]
    deltas = [sql.delta_expr(c, f"a_v{i}", f"b_v{i}") or "NULL" for i, c in enumerate(d.compare)]

    def all_eq(kinds: tuple[str, ...] | None) -> str:
        picked = [f"eq{i}" for i, c in enumerate(d.compare) if kinds is None or c.kind in kinds]
        return " AND ".join(picked) or "TRUE"

    category = (
        "CASE WHEN n_b IS NULL THEN 'MISSING_IN_B' WHEN n_a IS NULL THEN 'MISSING_IN_A' "
        f"WHEN {all_eq(None)} THEN 'MATCHED' "
        "WHEN n_a > 1 OR n_b > 1 THEN 'MANY_TO_ONE' "
        f"WHEN NOT ({all_eq(('amount',))}) THEN 'AMOUNT_MISMATCH' "
        f"WHEN NOT ({all_eq(('date',))}) THEN 'DATE_MISMATCH' "
        f"WHEN NOT ({all_eq(('status',))}) THEN 'STATUS_MISMATCH' "
        "ELSE 'FIELD_MISMATCH' END"
    )
    exact = " AND ".join(f"a_v{i} IS NOT DISTINCT FROM b_v{i}" for i in range(len(eqs))) or "TRUE"
    inner = ", ".join(
        ["*", f"({exact}) AS _exact"]
        + [f"{e} AS eq{i}" for i, e in enumerate(eqs)]
        + [f"{x} AS d{i}" for i, x in enumerate(deltas)]
    )
    typed = ", ".join(
        ["*"]
        + [f"{plan.cast(s, i, f'{s}_r{i}')} AS {s}_v{i}" for i in range(len(eqs)) for s in SIDES]
        + [
            f"{plan.context(s, i, f'{s}_x{i}')} AS {s}_t{i}"
            for i in range(len(d.context))
            for s in SIDES
        ]
    )
    return f"SELECT *, {category} AS _cat FROM (SELECT {inner} FROM (SELECT {typed} FROM _flag))"


def _fmt(expr: str, kind: str) -> str:
    """Exact text of a value: decimals without padding zeros (DECIMAL(38,10) has a point)."""
    if kind in sql.NUMERIC_KINDS:
        return f"rtrim(rtrim(CAST({expr} AS VARCHAR), '0'), '.')"
    return f"CAST({expr} AS VARCHAR)"


def _exceptions_sql(d: ReconDefinition, plan: Plan) -> str:
    """Exception rows with display text, amount, currency, category name, id, fingerprint."""
    cols = [*plan.keys, "n_a", "n_b", "line_a", "line_b", "_cat"]
    fp_parts = ["CAST(coalesce(n_a, 0) AS VARCHAR)", "CAST(coalesce(n_b, 0) AS VARCHAR)"]
    for i, c in enumerate(d.compare):
        delta_kind = "number" if c.kind == "date" else c.kind
        cols += [
            f"eq{i}",
            f"{_fmt(f'a_v{i}', c.kind)} AS ta{i}",
            f"{_fmt(f'b_v{i}', c.kind)} AS tb{i}",
            f"CASE WHEN d{i} <> 0 THEN {_fmt(f'd{i}', delta_kind)} END AS td{i}",
        ]
        fp_parts += [f"coalesce(ta{i}, chr(0))", f"coalesce(tb{i}, chr(0))"]
    cols += [f"coalesce(a_t{i}, b_t{i}) AS tx{i}" for i in range(len(d.context))]
    ccy = plan.currency_sql()
    cols.append(f"upper({ccy}) AS _ccy" if ccy else "NULL AS _ccy")
    amount = "NULL"
    for i, c in enumerate(d.compare):
        if c.name == d.amount_field:
            amount = (
                f"CASE WHEN n_a IS NOT NULL AND n_b IS NOT NULL AND NOT eq{i} AND d{i} IS NOT NULL "
                f"THEN abs(d{i}) ELSE abs(coalesce(a_v{i}, b_v{i})) END"
            )
    cols.append(f"{amount} AS _amt")
    names = " ".join(
        f"WHEN {sql.literal(base)} THEN {sql.literal(d.category(base))}"
        for base in ("MISSING_IN_A", "MISSING_IN_B", "MANY_TO_ONE", "AMOUNT_MISMATCH",
                     "DATE_MISMATCH", "STATUS_MISMATCH", "FIELD_MISMATCH")
    )  # fmt: skip
    key_parts = [
        f"{sql.literal(k.name + '=')} || k{i}"
        for i, k in sorted(enumerate(d.keys), key=lambda p: p[1].name)
    ]
    id_payload = ", ".join([sql.literal(d.name), "_name", *key_parts])
    return (
        f"SELECT *, sha256(concat_ws(chr(31), {id_payload})) AS _id, "
        f"sha256(concat_ws(chr(31), {', '.join(fp_parts)})) AS _fp "
        f"FROM (SELECT *, CASE _cat {names} END AS _name FROM "
        f"(SELECT {', '.join(cols)} FROM _cls WHERE _cat <> 'MATCHED'))"
    )


def reconcile(
    definition: ReconDefinition,
    side_a: SideInput,
    side_b: SideInput,
    *,
    threads: int | None = None,
) -> ReconResult:
    """Compare two sides under ``definition``. Pure: no files, no state store."""
    data = {"a": as_side(side_a), "b": as_side(side_b)}
    d = definition
    con = _database().cursor()  # own temp schema; much cheaper than a new database
    try:
        if threads:
            con.execute(f"SET threads={int(threads)}")
        for side in SIDES:
            data[side] = _check_columns(d, side, data[side])
            _register(con, side, data[side])
            _check_values(con, d, side, data[side])
            _normalised_view(con, d, side, data[side])
        plan = Plan(d, {side: _source_types(data[side]) for side in SIDES})
        dup_count, rows = _duplicate_keys(con, d, plan)
        con.execute(f"CREATE TEMP TABLE _flag AS {_join_sql(d, plan, dup_count > 0)}")
        con.execute(f"CREATE TEMP TABLE _cls AS {_classify_sql(d, plan)}")
        cur = con.execute(_exceptions_sql(d, plan))
        columns = [c[0] for c in cur.description or []]
        with gc_paused():
            candidates = build_candidates(d, columns, cur.fetchall())
        if dup_count:
            keys = ", ".join(plan.keys)
            dup_rows = _fetch(
                con,
                " UNION ALL ".join(
                    f"SELECT '{s}' AS _side, {keys}, _line, "
                    + ", ".join(
                        [plan.raw_cast(s, i, f"r{i}") + f" AS v{i}" for i in range(len(d.compare))]
                        + [plan.context(s, i, f"x{i}") + f" AS x{i}" for i in range(len(d.context))]
                    )
                    + f" FROM n_{s} SEMI JOIN _dk USING ({keys})"
                    for s in SIDES
                ),
            )
            candidates += build_duplicates(d, dup_rows)
        summary, counts = summarize(con, d, candidates, rows)
    finally:
        con.close()
    candidates.sort(key=lambda c: (c.category, c.exception_id))
    log.info("reconciled", recon=d.name, exceptions=len(candidates), **counts)
    return ReconResult(d.name, d.version, candidates, summary, counts)


_DB: list[duckdb.DuckDBPyConnection] = []


def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process; each run works in its own cursor."""
    if not _DB:
        _DB.append(duckdb.connect())
    return _DB[0]


def _fetch(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    cur = con.execute(query)
    names = [c[0] for c in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
