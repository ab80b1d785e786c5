"""Set-based keyed matching in DuckDB: one FULL OUTER JOIN on normalised keys.

Plan: (1) normalise each side into a view (keys, raw compared values, context, source line), with
filters applied; (2) keys appearing more than once on a non-aggregated side are set aside as
DUPLICATE exceptions (never paired by row order); (3) aggregated sides are summed per key
(many-to-one); (4) the join keeps only rows that are exclusive or not exactly equal; (5) those
few rows get tolerance checks, categories and deltas. Exact matches never leave DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import structlog

from billbridge.errors import BillbridgeError
from reconcile.definitions import ReconDefinition
from reconcile.engine import plan as plan_sql
from reconcile.engine import sql
from reconcile.engine.build import build_duplicates, gc_paused
from reconcile.engine.plan import SIDES, Plan
from reconcile.engine.prepare import (
    arrow_table,
    check_columns,
    check_values,
    database,
    fetch_dicts,
    integer_keys,
    normalised_view,
    one_row,
    register,
    source_types,
)
from reconcile.engine.result import ExceptionCandidate, ReconResult
from reconcile.engine.rows import COLUMNS as ROW_COLUMNS
from reconcile.engine.rows import ExceptionRows
from reconcile.engine.sides import Side, SideInput, as_side
from reconcile.engine.summary import Tolerated, summarize

log = structlog.get_logger(__name__)
#: rows per Arrow batch of the classified rows: batches, not one row group, are what DuckDB
#: hands to its threads
CLS_BATCH = 4096


def _duplicate_keys(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition, plan: Plan
) -> tuple[int, dict[str, int | None]]:
    """Keys on a non-aggregated side more than once -> temp table _dk; rows per side.

    First an exact, cheap test: as many distinct 64-bit key hashes as rows means no key
    repeats (equal keys hash alike). Only when it fails are the candidate hashes (duplicates
    or, rarely, collisions) listed and checked on the real keys.
    """
    keys = ", ".join(plan.keys)
    rows: dict[str, int | None] = dict.fromkeys(SIDES)
    exact = []
    for side in SIDES:
        if getattr(d, side).aggregate:
            continue
        total, distinct = one_row(
            con, f"SELECT count(*), count(DISTINCT hash({keys})) FROM n_{side}"
        )
        rows[side] = int(total)
        if total == distinct:
            continue
        (hashes,) = one_row(
            con,
            f"SELECT list(h) FROM (SELECT hash({keys}) AS h FROM n_{side} GROUP BY h "
            "HAVING count(*) > 1)",
        )
        con.execute(f"CREATE TEMP TABLE _dh_{side} AS SELECT unnest(?) AS h", [hashes])
        exact.append(
            f"SELECT {keys} FROM n_{side} WHERE hash({keys}) IN (SELECT h FROM _dh_{side}) "
            f"GROUP BY {keys} HAVING count(*) > 1"
        )
    if not exact:
        return 0, rows
    con.execute(f"CREATE TEMP TABLE _dk AS SELECT DISTINCT * FROM ({' UNION ALL '.join(exact)})")
    return int(one_row(con, "SELECT count(*) FROM _dk")[0]), rows


def _join(
    con: duckdb.DuckDBPyConnection,
    d: ReconDefinition,
    plan: Plan,
    data: dict[str, Side],
    widen: Callable[[], None] | None = None,
) -> tuple[str, int, dict[str, int | None], Tolerated | None]:
    """Run the join; return the SELECT of its flagged rows, the duplicate-key count, the
    rows per side and the pairs it found equal within tolerance. Without aggregated sides
    the join counts its own exact pairs and the duplicate scan runs only when those counts
    show a repeated key.

    ``widen`` (keys were trimmed of spaces only): called to trim them of tabs and no-break
    spaces too when an unmatched key shows one; the join is then made again. A key that
    differs only in such an edge is unmatched on one side at least, so unmatched keys are
    the only ones to look at."""
    if not (d.a.aggregate or d.b.aggregate):
        # kept as Arrow in small batches: the later passes over these few rows then run on
        # both threads (a temp table this size is one row group, scanned by one thread)
        joined = arrow_table(con, plan_sql.counted_join_sql(d, plan), batch_size=8192)
        con.register("_j", joined)
        rows = {s: _side_rows(con, d, s, data[s]) for s in SIDES}
        # one pass over the flagged rows answers both questions
        wide, repeats = _repeats(con, plan, rows, _wide_edge_test(d, plan) if widen else None)
        if wide and widen is not None:
            con.unregister("_j")
            widen()
            return _join(con, d, plan, data)
        if not repeats:
            counted: dict[str, int | None] = dict(rows)
            figures = plan_sql.tolerated_columns(d, plan)
            first = joined.slice(0, 1).select(figures).to_pylist()[0]
            flagged = f"SELECT * EXCLUDE (_f, {', '.join(figures)}) FROM _j WHERE _f"
            # none flagged: the list's unnest gives one row of nulls
            marked = joined.num_rows - joined.column("_f").null_count
            return flagged, 0, counted, Tolerated.from_figures(first, marked)
        con.unregister("_j")
    if widen is not None:
        widen()  # the duplicate scan is the slow path already: no second look for edges
    dup_count, scanned = _duplicate_keys(con, d, plan)
    return plan_sql.join_sql(d, plan, dup_count > 0), dup_count, scanned, None


def _wide_edge_test(d: ReconDefinition, plan: Plan) -> str | None:
    """SQL true for an unmatched row of ``_j`` whose trimmed text key still has a tab or
    no-break space at an edge (None: no key is trimmed)."""
    tests = [
        sql.has_wide_edge(f"CAST({k} AS VARCHAR)")
        for k, spec in zip(plan.keys, d.keys, strict=True)
        if "trim" in spec.normalize
    ]
    if not tests:
        return None
    return f"_f AND (n_a IS NULL OR n_b IS NULL) AND ({' OR '.join(tests)})"


def _side_rows(con: duckdb.DuckDBPyConnection, d: ReconDefinition, side: str, data: Side) -> int:
    """Rows of a side after its filters (free from the file or table without filters)."""
    if not getattr(d, side).filters:
        return data.num_rows
    return int(one_row(con, f"SELECT count(*) FROM n_{side}")[0])


def _repeats(
    con: duckdb.DuckDBPyConnection, plan: Plan, rows: dict[str, int], wide_test: str | None
) -> tuple[bool, bool]:
    """(whether a row matches ``wide_test``, whether some key occurs more than once on a
    side), from the counted join ``_j``.

    Over the keys on both sides, pairs = sum(ca * cb), A rows with a partner = sum(ca) and B
    rows with a partner = sum(cb), all >= 1 per key: the three are equal exactly when every
    ca and cb is 1. A repeated key on one side only shows as a repeated key among the flagged
    exclusive rows. A hash collision there can only send us to the exact duplicate scan.
    """
    key = f"hash({', '.join(plan.keys)})"
    wide = f"count(*) FILTER (WHERE {wide_test})" if wide_test else "0"
    pairs, miss_a, miss_b, rep_a, rep_b, wide_rows = one_row(
        con,
        "SELECT any_value(_pairs) "
        "+ count(*) FILTER (WHERE _f AND n_a IS NOT NULL AND n_b IS NOT NULL), "
        "count(*) FILTER (WHERE _f AND n_a IS NULL), "
        "count(*) FILTER (WHERE _f AND n_b IS NULL), "
        f"count(*) FILTER (WHERE _f AND n_b IS NULL) - count(DISTINCT {key}) FILTER (WHERE _f "
        "AND n_b IS NULL), "
        f"count(*) FILTER (WHERE _f AND n_a IS NULL) - count(DISTINCT {key}) FILTER (WHERE _f "
        f"AND n_a IS NULL), {wide} FROM _j",
    )
    unique = pairs == rows["a"] - miss_b == rows["b"] - miss_a and rep_a == rep_b == 0
    return bool(wide_rows), not unique


def reconcile(
    definition: ReconDefinition,
    side_a: SideInput,
    side_b: SideInput,
    *,
    threads: int | None = None,
    by_field: bool = False,
) -> ReconResult:
    """Compare two sides under ``definition``. Pure: no files, no state store.

    ``by_field``: also return the exceptions as an Arrow table with each compared field's
    values in columns of their own (``ReconResult.by_field``), for callers that classify
    exceptions field by field (UAT root causes) and would otherwise parse every details JSON.
    """
    data = {"a": as_side(side_a), "b": as_side(side_b)}
    d = definition
    duplicates: list[ExceptionCandidate] = []
    con = database().cursor()  # own temp schema; much cheaper than a new database
    try:
        if threads:
            con.execute(f"SET threads={int(threads)}")
        for side in SIDES:
            data[side] = check_columns(d, side, data[side])
            register(con, side, data[side])
            check_values(con, d, side, data[side])
        typed = integer_keys(d, data)
        # aggregated sides take the slow path anyway: their keys are trimmed wide at once
        wide = bool(d.a.aggregate or d.b.aggregate)
        for side in SIDES:
            normalised_view(con, d, side, typed, data[side], wide=wide)

        def widen() -> None:
            for side in SIDES:
                normalised_view(con, d, side, typed, data[side], wide=True)

        plan = Plan(d, {side: source_types(data[side]) for side in SIDES}, typed)
        flagged, dup_count, rows, tolerated = _join(con, d, plan, data, None if wide else widen)
        # nothing flagged (the sides agree exactly or within tolerance): no classification
        # and no exception query to plan (seconds on a file of hundreds of columns)
        empty = tolerated is not None and tolerated.flagged == 0 and not by_field
        # the few non-identical rows are typed, checked against tolerances and classified,
        # once: as a view, the exception and summary queries each planned it again (the
        # typing and tests of every compared field: seconds on a file of 150 columns). Kept
        # as Arrow in small batches, not a temp table: 20k rows are one row group there,
        # which one thread scans, and the exception query would run on one core
        if not empty:
            classified = arrow_table(con, plan_sql.classify_sql(d, plan, flagged), CLS_BATCH)
            con.register("_cls", classified)
        # the exception rows go to the store as the tuples DuckDB returns (reconcile.engine.rows)
        key_names = [k.name for k in d.keys]
        table = None
        if by_field:
            # as Arrow, the per-field texts never become Python objects; only the rows' do
            # (through numpy: a third faster than to_pylist)
            table = arrow_table(con, plan_sql.exceptions_sql(d, plan, by_field=True))
            row_columns = [*ROW_COLUMNS, *plan.keys]
            columns = {c: table.column(c).to_numpy(zero_copy_only=False) for c in row_columns}
            table = table.select(["_name", "_ccy", *plan.keys, *plan_sql.field_columns(d)])
        elif empty:
            columns = {}
        else:
            # unordered: most runs are only recorded; ExceptionRows sorts them when read
            query = plan_sql.exceptions_sql(d, plan, ordered=False)
            columns = con.execute(query).fetchnumpy()
        with gc_paused():
            # column by column (NULL text comes back masked: tolist gives None), a third
            # faster than fetchall's rows; execute binds the long query once, sql() twice
            fetched = list(zip(*(v.tolist() for v in columns.values()), strict=True))
        # by_field rows stay in the order of the table's, which UAT reads beside them
        found = ExceptionRows(d.name, key_names, fetched, d.severity, ordered=by_field)
        if dup_count:
            keys = ", ".join(plan.keys)
            key_text = ", ".join(f"CAST({k} AS VARCHAR) AS {k}" for k in plan.keys)
            dup_rows = fetch_dicts(
                con,
                " UNION ALL ".join(
                    f"SELECT '{s}' AS _side, {key_text}, _line, "
                    + ", ".join(
                        [plan.raw_cast(s, i, f"r{i}") + f" AS v{i}" for i in range(len(d.compare))]
                        + [plan.context(s, i, f"x{i}") + f" AS x{i}" for i in range(len(d.context))]
                    )
                    + f" FROM n_{s} SEMI JOIN _dk USING ({keys})"
                    for s in SIDES
                ),
            )
            duplicates = build_duplicates(d, dup_rows)
            found.add_candidates(duplicates)
            table = None  # duplicates are built in Python: their fields are in JSON only
        summary, counts = summarize(con, d, found.categories(), duplicates, rows, tolerated)
    except duckdb.Error as exc:
        raise BillbridgeError(f"{d.name}: the comparison failed: {exc}") from None
    finally:
        con.close()
    log.info("reconciled", recon=d.name, exceptions=len(found), **counts)
    return ReconResult(d.name, d.version, found, summary, counts, table)
