"""Summary of a three-sided run: rows per side, keys per outcome, match rate, per-field and
per-pair mismatch statistics (datacompy's layout, widened to a third side).

Keys matched on all three sides never leave DuckDB, so they are counted from one side's
distinct keys: each of them is on that side alone, on it and one other side (the third
missing), or on all three; the ones on all three that are not exceptions are the matches.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb

from reconcile.definitions import ReconDefinition
from reconcile.engine.build import text
from reconcile.engine.prepare import one_row
from reconcile.engine.result import ExceptionCandidate
from reconcile.engine.sql import NUMERIC_KINDS
from reconcile.engine.three_way_sql import PAIRS, SIDES, Layout, pair_name, summary_sql

DUP_BASES = ("DUPLICATE", "DUPLICATE_IN_A", "DUPLICATE_IN_B", "DUPLICATE_IN_C")
UNEQUAL_BASES = (
    "AMOUNT_MISMATCH",
    "DATE_MISMATCH",
    "STATUS_MISMATCH",
    "FIELD_MISMATCH",
    "MANY_TO_ONE",
)


def _distinct_keys(
    con: duckdb.DuckDBPyConnection,
    d: ReconDefinition,
    rows: dict[str, int],
    dup_rows: dict[str, int],
) -> tuple[str, int]:
    """A side and its number of distinct keys outside the duplicated ones."""
    for s in SIDES:
        if not getattr(d, s).aggregate:
            return s, rows[s] - dup_rows[s]
    # every side aggregated: no key is a duplicate, so count the keys of side A
    keys = ", ".join(f"k{i}" for i in range(len(d.keys)))
    return "a", int(one_row(con, f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM n_a)")[0])


def summarize(
    con: duckdb.DuckDBPyConnection,
    layout: Layout,
    candidates: list[ExceptionCandidate],
    rows: dict[str, int],
) -> tuple[dict[str, Any], dict[str, int]]:
    d = layout.definition
    base = Counter(c.details["base_category"] for c in candidates)
    dup_rows = dict.fromkeys(SIDES, 0)
    for exc in candidates:
        if exc.details["base_category"] in DUP_BASES:
            for s in SIDES:
                dup_rows[s] += exc.details["rows"][s]
    pivot, distinct = _distinct_keys(con, d, rows, dup_rows)
    # the pivot's keys: alone, with one other side (the third missing), or on all three
    common = (
        distinct
        - base[f"ONLY_IN_{pivot.upper()}"]
        - sum(base[f"MISSING_IN_{o.upper()}"] for o in SIDES if o != pivot)
    )
    unequal = sum(base[k] for k in UNEQUAL_BASES)
    matched = common - unequal
    keys_total = matched + len(candidates)
    stats_row = one_row(con, summary_sql(layout))
    within, many_matched = int(stats_row[0]), int(stats_row[1])
    stats = []
    for i, c in enumerate(d.compare):
        part = stats_row[2 + 10 * i : 12 + 10 * i]
        by_pair = {pair_name(p, q): part[3 * j : 3 * j + 3] for j, (p, q) in enumerate(PAIRS)}
        measurable = c.kind in (*NUMERIC_KINDS, "date")
        max_diffs = {pair: v[1] for pair, v in by_pair.items() if v[1] is not None}
        stats.append(
            {
                "column": c.name,
                **{f"column_{s}": c.col(s) for s in SIDES},
                "dtype1": c.kind,
                "dtype2": c.kind,
                "dtype3": c.kind,
                "unequal_cnt": int(part[9]),
                "unequal_by_pair": {pair: int(v[0]) for pair, v in by_pair.items()},
                "max_diff": text(max(max_diffs.values())) if max_diffs and measurable else "0",
                "max_diff_by_pair": {pair: text(v) for pair, v in max_diffs.items()},
                "null_diff": sum(int(v[2]) for v in by_pair.values()),
                "abs_tol": text(c.abs),
                "rel_tol": text(c.pct / 100),
                "minor_units_tol": c.minor_units,
                "days_tol": c.days,
            }
        )
    dup_keys = sum(base[k] for k in DUP_BASES)
    summary = {
        "recon": d.name,
        "rule_version": d.version,
        "sides": {s: getattr(d, s).label for s in SIDES},
        "df1_name": d.a.label,
        "df2_name": d.b.label,
        "df3_name": d.c.label if d.c else None,
        "join_columns": [k.name for k in d.keys],
        "row_summary": {
            "df1_rows": rows["a"],
            "df2_rows": rows["b"],
            "df3_rows": rows["c"],
            #: keys seen on any side; each ends in exactly one outcome
            "keys_total": keys_total,
            #: keys on all three sides (outside duplicated keys)
            "common_rows": common,
            "equal_rows": matched,
            "unequal_rows": unequal,
            "matched_within_tolerance": within,
            "many_to_one_matched": many_matched,
            #: keys on that side alone
            "df1_unique": base["ONLY_IN_A"],
            "df2_unique": base["ONLY_IN_B"],
            "df3_unique": base["ONLY_IN_C"],
            #: keys on the other two sides only
            "missing_in_a": base["MISSING_IN_A"],
            "missing_in_b": base["MISSING_IN_B"],
            "missing_in_c": base["MISSING_IN_C"],
            "has_duplicates": bool(dup_keys),
            "duplicate_keys": dup_keys,
            #: keys matched on all three sides (exactly or within tolerance) / keys_total
            "match_rate": round(matched / keys_total, 6) if keys_total else 1.0,
            "abs_tol": {c.name: text(c.abs) for c in d.compare},
            "rel_tol": {c.name: text(c.pct / 100) for c in d.compare},
        },
        "mismatch_stats": {"stats": stats, "has_samples": False},
        "exceptions_by_category": dict(sorted(Counter(c.category for c in candidates).items())),
    }
    counts = {"MATCHED": matched, "MATCHED_WITHIN_TOLERANCE": within, **dict(sorted(base.items()))}
    return summary, counts
