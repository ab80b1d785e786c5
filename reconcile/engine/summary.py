"""Run summary in datacompy's JSON layout (row_summary, mismatch_stats.stats[])."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb

from reconcile.definitions import ReconDefinition
from reconcile.engine.build import text
from reconcile.engine.result import ExceptionCandidate
from reconcile.engine.sql import NUMERIC_KINDS

DUP_BASES = ("DUPLICATE", "DUPLICATE_IN_A", "DUPLICATE_IN_B")


@dataclass(frozen=True)
class Tolerated:
    """Pairs the join itself found equal within tolerance (never classified one by one):
    how many, and per compare field index the largest and summed |a - b| among them."""

    within: int = 0
    largest: dict[int, Any] = field(default_factory=dict)
    total: dict[int, Any] = field(default_factory=dict)
    #: rows the join flagged for classification (-1: not counted)
    flagged: int = -1

    @classmethod
    def from_figures(cls, figures: dict[str, Any], flagged: int = -1) -> Tolerated:
        """From the counted join's ``_within``, ``_tmax<i>`` and ``_tsum<i>`` values."""
        largest = {int(k[5:]): v for k, v in figures.items() if k.startswith("_tmax")}
        total = {int(k[5:]): v for k, v in figures.items() if k.startswith("_tsum")}
        return cls(int(figures["_within"] or 0), largest, total, flagged)


def _one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    (row,) = con.execute(query).fetchall()  # fetched to the end: the connection is reused
    return tuple(row)


#: base categories the join classifies (duplicates are found before it)
JOIN_BASES = ("MISSING_IN_A", "MISSING_IN_B", "MANY_TO_ONE", "AMOUNT_MISMATCH",
              "DATE_MISMATCH", "STATUS_MISMATCH", "FIELD_MISMATCH")  # fmt: skip


def summarize(
    con: duckdb.DuckDBPyConnection,
    d: ReconDefinition,
    categories: Counter[str],
    duplicates: list[ExceptionCandidate],
    side_rows: dict[str, int | None],
    tolerated: Tolerated | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """``categories``: exceptions per category; ``duplicates``: the duplicate-key exceptions;
    ``tolerated``: pairs the join found equal within tolerance (they are not in ``_cls``).

    Counts come from SQL over ``_cls`` and the few duplicate candidates, so the exceptions'
    details (JSON text until used) are never decoded here."""
    both = "n_a IS NOT NULL AND n_b IS NOT NULL"
    parts = [
        "count(*) FILTER (WHERE _cat = 'MATCHED' AND NOT _exact)",
        "count(*) FILTER (WHERE _cat = 'MATCHED' AND (n_a > 1 OR n_b > 1))",
    ]
    parts += [f"count(*) FILTER (WHERE _cat = '{base}')" for base in JOIN_BASES]
    for i, c in enumerate(d.compare):
        parts.append(f"count(*) FILTER (WHERE {both} AND NOT eq{i})")
        parts.append(
            f"max(abs(d{i})) FILTER (WHERE {both})"
            if c.kind in (*NUMERIC_KINDS, "date")
            else "NULL"
        )
        parts.append(f"count(*) FILTER (WHERE {both} AND ((a_v{i} IS NULL) <> (b_v{i} IS NULL)))")
        parts.append(
            f"sum(abs(d{i})) FILTER (WHERE _cat = 'MATCHED' AND d{i} <> 0)"
            if c.kind in NUMERIC_KINDS
            else "NULL"
        )
    if tolerated is not None and tolerated.flagged == 0 and not duplicates:
        # nothing to classify: the figures of an empty _cls, without planning its query
        # (on a 400-column file that query alone took seconds)
        per_field = [0, None, 0, None] * len(d.compare)
        stats_row: tuple[Any, ...] = (0, 0, *([0] * len(JOIN_BASES)), *per_field)
    else:
        stats_row = _one(con, f"SELECT {', '.join(parts)} FROM _cls")
    rows_a, rows_b = (
        n if n is not None else int(_one(con, f"SELECT count(*) FROM n_{s}")[0])
        for s, n in side_rows.items()
    )

    fixed = 2 + len(JOIN_BASES)
    base = Counter(
        {k: int(n) for k, n in zip(JOIN_BASES, stats_row[2:fixed], strict=True) if n}
    ) + Counter(c.details["base_category"] for c in duplicates)
    dup_keys = dict.fromkeys("ab", 0)
    dup_extra = dict.fromkeys("ab", 0)
    for exc in duplicates:
        for s in "ab":
            n = exc.details["rows"][s]
            dup_keys[s] += 1 if n else 0
            dup_extra[s] += max(n - 1, 0)
    distinct_a = _distinct(con, d, "a", rows_a, dup_extra["a"])
    dup_only_b = sum(1 for exc in duplicates if not exc.details["rows"]["a"])
    common = distinct_a - dup_keys["a"] - base["MISSING_IN_B"]
    unequal = sum(base[k] for k in base if k.endswith("_MISMATCH") or k == "MANY_TO_ONE")
    tol = tolerated or Tolerated()
    within, many_matched = int(stats_row[0]) + tol.within, int(stats_row[1])

    stats = []
    for i, c in enumerate(d.compare):
        unequal_cnt, max_diff, null_diff, summed = stats_row[fixed + 4 * i : fixed + 4 + 4 * i]
        max_diff = _largest(max_diff, tol.largest.get(i))
        summed = _added(summed, tol.total.get(i))
        stats.append(
            {
                "column": c.name,
                "column_a": c.col("a"),
                "column_b": c.col("b"),
                "dtype1": c.kind,
                "dtype2": c.kind,
                "unequal_cnt": int(unequal_cnt),
                "max_diff": text(max_diff) if max_diff is not None else "0",
                "null_diff": int(null_diff),
                #: sum of |a - b| over rows matched within tolerance (numeric fields)
                "tolerated_diff_total": text(summed) if summed is not None else "0",
                "abs_tol": text(c.abs),
                "rel_tol": text(c.pct / 100),
                "minor_units_tol": c.minor_units,
                "days_tol": c.days,
            }
        )
    summary = {
        "recon": d.name,
        "rule_version": d.version,
        "df1_name": d.a.label,
        "df2_name": d.b.label,
        "join_columns": [k.name for k in d.keys],
        "row_summary": {
            "df1_rows": rows_a,
            "df2_rows": rows_b,
            "common_rows": common,
            "df1_unique": base["MISSING_IN_B"],
            "df2_unique": base["MISSING_IN_A"],
            "unequal_rows": unequal,
            "equal_rows": common - unequal,
            "matched_within_tolerance": within,
            #: keys that matched (exactly or within tolerance) / all keys seen on either side
            "match_rate": _rate(common - unequal, distinct_a + base["MISSING_IN_A"] + dup_only_b),
            "many_to_one_matched": many_matched,
            "has_duplicates": bool(sum(base[k] for k in DUP_BASES)),
            "duplicate_keys": sum(base[k] for k in DUP_BASES),
            "abs_tol": {c.name: text(c.abs) for c in d.compare},
            "rel_tol": {c.name: text(c.pct / 100) for c in d.compare},
        },
        "mismatch_stats": {"stats": stats, "has_samples": False},
        "exceptions_by_category": dict(sorted(categories.items())),
    }
    counts = {
        "MATCHED": common - unequal,
        "MATCHED_WITHIN_TOLERANCE": within,
        **dict(sorted(base.items())),
    }
    return summary, counts


def _largest(x: Any, y: Any) -> Any:
    return y if x is None else x if y is None else max(x, y)


def _added(x: Any, y: Any) -> Any:
    return y if x is None else x if y is None else x + y


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 1.0


def _distinct(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition, side: str, rows: int, dup_extra: int
) -> int:
    """Distinct keys on a side: rows minus duplicate extras, or counted when aggregated."""
    if not getattr(d, side).aggregate:
        return int(rows) - dup_extra
    keys = ", ".join(f"k{i}" for i in range(len(d.keys)))
    return int(_one(con, f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM n_{side})")[0])
