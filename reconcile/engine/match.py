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
from reconcile.engine.build import build_candidates, build_duplicates
from reconcile.engine.result import ReconResult
from reconcile.engine.sides import LINE, Side, SideInput, as_side
from reconcile.engine.summary import summarize

log = structlog.get_logger(__name__)

SIDES = ("a", "b")


@dataclass(frozen=True)
class Plan:
    """Column aliases used in the generated SQL (k0.., v0.., x0..) for one definition."""

    definition: ReconDefinition

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.definition.keys))]

    @property
    def values(self) -> list[str]:
        return [f"v{i}" for i in range(len(self.definition.compare))]

    @property
    def context(self) -> list[str]:
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
                return f"coalesce(a_x{i}, b_x{i})"
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
    types = _source_types(data)
    cols = [f"{sql.key_expr(k, k.col(side))} AS k{i}" for i, k in enumerate(d.keys)]
    cols += [
        f"{sql.value_expr(c, c.col(side), types[c.col(side)], c.kind)} AS v{i}"
        for i, c in enumerate(d.compare)
    ]
    cols += [
        f"{sql.value_expr(None, x.col(side), types[x.col(side)], 'text')} AS x{i}"
        for i, x in enumerate(d.context)
    ]
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
    aggs = [f"{sql.aggregate_fn(c)}(v{i}) AS v{i}" for i, c in enumerate(d.compare)]
    aggs += [f"min(x{i}) AS x{i}" for i in range(len(d.context))]
    return (
        f"SELECT {keys}, {', '.join([*aggs, 'min(_line) AS _line', 'count(*) AS _n'])} "
        f"FROM {source} GROUP BY {keys}"
    )


def _duplicate_keys(con: duckdb.DuckDBPyConnection, d: ReconDefinition, plan: Plan) -> int:
    keys = ", ".join(plan.keys)
    parts = [
        f"SELECT {keys} FROM n_{side} GROUP BY {keys} HAVING count(*) > 1"
        for side in SIDES
        if not getattr(d, side).aggregate
    ]
    if not parts:
        return 0
    con.execute(f"CREATE TEMP TABLE _dk AS SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)})")
    row = con.execute("SELECT count(*) FROM _dk").fetchone()
    return int(row[0]) if row else 0


def _join_sql(d: ReconDefinition, plan: Plan, exclude_dups: bool) -> str:
    on = " AND ".join(f"a.{k} = b.{k}" for k in plan.keys)
    cols = [f"coalesce(a.{k}, b.{k}) AS {k}" for k in plan.keys]
    cols += ["a._n AS n_a", "b._n AS n_b", "a._line AS line_a", "b._line AS line_b"]
    for alias in (*plan.values, *plan.context):
        cols += [f"a.{alias} AS a_{alias}", f"b.{alias} AS b_{alias}"]
    exact = " AND ".join(f"a.{v} IS NOT DISTINCT FROM b.{v}" for v in plan.values) or "TRUE"
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
    return f"SELECT *, {category} AS _cat FROM (SELECT {inner} FROM _flag)"


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
    cols += [f"coalesce(a_x{i}, b_x{i}) AS tx{i}" for i in range(len(d.context))]
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
    d, plan = definition, Plan(definition)
    con = _database().cursor()  # own temp schema; much cheaper than a new database
    try:
        if threads:
            con.execute(f"SET threads={int(threads)}")
        for side in SIDES:
            data[side] = _check_columns(d, side, data[side])
            _register(con, side, data[side])
            _check_values(con, d, side, data[side])
            _normalised_view(con, d, side, data[side])
        dup_count = _duplicate_keys(con, d, plan)
        con.execute(f"CREATE TEMP TABLE _flag AS {_join_sql(d, plan, dup_count > 0)}")
        con.execute(f"CREATE TEMP TABLE _cls AS {_classify_sql(d, plan)}")
        exc_rows = _fetch(con, _exceptions_sql(d, plan))
        candidates = build_candidates(d, exc_rows)
        if dup_count:
            keys = ", ".join(plan.keys)
            dup_rows = _fetch(
                con,
                " UNION ALL ".join(
                    f"SELECT '{s}' AS _side, * FROM n_{s} SEMI JOIN _dk USING ({keys})"
                    for s in SIDES
                ),
            )
            candidates += build_duplicates(d, dup_rows)
        summary, counts = summarize(con, d, candidates)
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
