"""Three-sided reconciliation: ``reconcile_three_way(definition, a, b, c) -> ReconResult``.

One key space across the three sides; every key ends in exactly one outcome:

- matched: on all three sides, every pair equal within tolerance (counted, not reported);
- ``ONLY_IN_X``: on side X alone; ``MISSING_IN_X``: on the two other sides, not on X;
- ``DUPLICATE_IN_X`` (``DUPLICATE`` when several sides): the key repeats on a non-aggregated
  side; it is not matched anywhere (never paired by row order);
- ``MANY_TO_ONE``, then ``AMOUNT_MISMATCH``, ``DATE_MISMATCH``, ``STATUS_MISMATCH``,
  ``FIELD_MISMATCH``: on all three sides, some pair differs beyond tolerance. Details say which
  pairs differ in which fields, the deltas per pair, and the odd side out when there is one.

Tolerances and kinds are the two-sided engine's (``reconcile.engine.sql``), applied to each of
the pairs A-B, A-C and B-C. Set-based in DuckDB: the three sides are joined once and keys
exactly equal everywhere never leave the database; Python only builds the exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import structlog

from billbridge.errors import BillbridgeError, ConfigError
from reconcile.definitions import ReconDefinition
from reconcile.engine import three_way_sql as plan
from reconcile.engine.prepare import (
    check_columns,
    check_values,
    database,
    fetch_dicts,
    normalised_view,
    register,
    source_types,
)
from reconcile.engine.result import ReconResult
from reconcile.engine.sides import Side, SideInput, as_side
from reconcile.engine.three_way_build import ThreeWayResult, build_candidates, build_duplicates
from reconcile.engine.three_way_sides import duplicate_keys
from reconcile.engine.three_way_summary import summarize

log = structlog.get_logger(__name__)
SIDES = plan.SIDES


def reconcile_three_way(
    definition: ReconDefinition,
    side_a: SideInput,
    side_b: SideInput,
    side_c: SideInput,
    *,
    threads: int | None = None,
) -> ReconResult:
    """Compare three sides under a three-sided ``definition``. Pure: no files, no store."""
    d = definition
    if d.c is None:
        raise ConfigError(f"{d.name}: not a three-sided definition (it has no side c)")
    data: dict[str, Side] = {
        s: as_side(v) for s, v in zip(SIDES, (side_a, side_b, side_c), strict=True)
    }
    con = database().cursor()  # own temp schema; much cheaper than a new database
    try:
        if threads:
            con.execute(f"SET threads={int(threads)}")
        for s in SIDES:
            data[s] = check_columns(d, s, data[s])
            register(con, s, data[s])
            check_values(con, d, s, data[s])
            # keys read as the two-sided engine reads them: whole floats (pandas' 123.0) as
            # integers, and trimmed of tabs and no-break spaces too (it has no fast path)
            normalised_view(con, d, s, frozenset(), data[s], wide=True)
        layout = plan.Layout(d, {s: source_types(data[s]) for s in SIDES})
        dup_count, rows = duplicate_keys(con, d)
        flagged = plan.join_sql(layout, dup_count > 0)
        con.execute(f"CREATE TEMP TABLE _cls AS {plan.classify_sql(layout, flagged)}")
        cur = con.execute(plan.exceptions_sql(layout))
        columns = [c[0] for c in cur.description or []]
        candidates = build_candidates(d, columns, cur.fetchall())
        if dup_count:
            candidates += build_duplicates(d, fetch_dicts(con, _duplicate_rows_sql(layout)))
        summary, counts = summarize(con, layout, candidates, rows)
    except duckdb.Error as exc:
        raise BillbridgeError(f"{d.name}: the comparison failed: {exc}") from None
    finally:
        con.close()
    candidates.sort(key=lambda c: (c.category, c.exception_id))
    log.info("reconciled", recon=d.name, sides=3, exceptions=len(candidates), **counts)
    return ThreeWayResult(d.name, d.version, candidates, summary, counts)


def reconcile_sides(definition: ReconDefinition, sides: Sequence[SideInput]) -> ReconResult:
    """Run a two- or three-sided definition on its sides (as many as it names)."""
    if len(sides) != len(definition.sides):
        raise ConfigError(
            f"{definition.name}: the definition has {len(definition.sides)} sides "
            f"({', '.join(definition.sides)}), got {len(sides)}"
        )
    if definition.c is not None:
        return reconcile_three_way(definition, *sides)
    from reconcile.engine import reconcile

    return reconcile(definition, *sides)


def _duplicate_rows_sql(layout: plan.Layout) -> str:
    """Every row of the duplicated keys, on every side, with typed values."""
    d = layout.definition
    keys = ", ".join(layout.keys)
    return " UNION ALL ".join(
        f"SELECT '{s}' AS _side, {keys}, _line, "
        + ", ".join(
            [f"{layout.raw_cast(s, i, f'r{i}')} AS v{i}" for i in range(len(d.compare))]
            + [f"{layout.raw_context(s, i, f'x{i}')} AS x{i}" for i in range(len(d.context))]
            + ["NULL AS _none"]
        )
        + f" FROM n_{s} SEMI JOIN _dk USING ({keys})"
        for s in SIDES
    )
