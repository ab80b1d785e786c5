"""Wide-file benchmark: ``billbridge reconcile files`` on ERP-style exports of 150 and 300
columns that differ in a few values.

Data (generated with DuckDB): 100,000 rows per side, keyed by ``doc_id``; the columns cycle
through text codes, decimal amounts (``1234.56``) and ISO dates. Side B lacks 5 of A's rows
and has 5 of its own; 1 % of the common rows differ in one value (an amount +1.50, a date +3
days or another text code, the column varying from row to row). CSV sides are all text (the
kinds are inferred, as ``reconcile files`` does); ``--parquet`` also times typed Parquet
sides (DECIMAL(12,2), DATE, VARCHAR) of the same data.

    .venv/bin/python benchmarks/bench_wide.py [--rows N] [--columns 150,300] [--runs 3]
        [--parquet] [--profile]

Timed: what ``reconcile files`` does before writing anything (``load_file`` x2,
``plan_files`` with its kind inference, ``reconcile()``), median of ``--runs`` runs in this
process. The stage breakdown times every statement the engine sends to DuckDB (planning and
execution together), grouped by what it is; ``python`` is the rest of ``reconcile()``.
``--profile``: also a cProfile of one run's ``reconcile()`` (top 15 by cumulative time).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.gettempdir()) / "bb-wide-bench"
KINDS = ("text", "amount", "date")


def _column_sql(j: int, changed: bool) -> str:
    """Column ``c<j>`` of a row ``i``; ``changed``: side B's differing value."""
    kind = KINDS[j % 3]
    if kind == "text":
        value = f"'T' || CAST((i * 31 + {j}) % 97 + {int(changed) * 100} AS VARCHAR)"
    elif kind == "amount":
        amount = f"CAST((hash(i, {j}) % 10000000) AS DECIMAL(12,2)) / 100"
        value = f"CAST({amount} + {1.5 if changed else 0} AS DECIMAL(12,2))"
    else:
        value = f"DATE '2020-01-01' + CAST((i + {j}) % 1500 + {3 * int(changed)} AS INTEGER)"
    return value


def _side_sql(side: str, rows: int, columns: int) -> str:
    cols = []
    for j in range(columns):
        same = _column_sql(j, False)
        if side == "b":
            # 1 % of rows differ, each in one column that moves along with the row number
            differs = f"i % 100 = 3 AND (i // 100) % {columns} = {j}"
            same = f"CASE WHEN {differs} THEN {_column_sql(j, True)} ELSE {same} END"
        cols.append(f"{same} AS c{j:03d}")
    missing = 1 if side == "a" else 2  # 5 rows per 100k only on the other side
    return (
        f"SELECT 'DOC-' || lpad(CAST(i AS VARCHAR), 8, '0') AS doc_id, {', '.join(cols)} "
        f"FROM range({rows}) t(i) WHERE i % 20000 <> {missing} ORDER BY hash(i, '{side}')"
    )


def generate(rows: int, columns: int, parquet: bool) -> dict[str, tuple[Path, Path]]:
    """CSV (and Parquet) sides in DATA; made once per size and reused."""
    import duckdb

    DATA.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt in ("csv", "parquet") if parquet else ("csv",):
        paths = tuple(DATA / f"wide_{columns}_{rows}_{s}.{fmt}" for s in "ab")
        if not all(p.exists() for p in paths):
            con = duckdb.connect()
            for s, path in zip("ab", paths, strict=True):
                options = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT parquet"
                con.execute(f"COPY ({_side_sql(s, rows, columns)}) TO '{path}' ({options})")
            con.close()
        out[fmt] = paths  # type: ignore[assignment]
    return out


def _stage(query: str) -> str:
    """What an engine statement is, from its text."""
    q = query.lstrip()
    for marker, name in (
        ("arg_min(", "check_values"),
        ("CREATE OR REPLACE TEMP VIEW n_", "views"),
        ("_flagged", "join"),
        ("CREATE TEMP VIEW _cls", "classify (view)"),
        ("CREATE TEMP TABLE _cls", "classify"),
        ("sha256(", "exceptions"),
        ("NOT _exact", "summary"),
        # since the classified rows are kept as Arrow: the classification's own SELECT
        ("WHEN n_b IS NULL THEN 'MISSING_IN_B'", "classify"),
    ):
        if marker in q:
            return name
    return "other sql"


class _Timed:
    """A DuckDB cursor that adds each statement's time to ``times`` under its stage."""

    def __init__(self, con: Any, times: dict[str, float]) -> None:
        self._con, self._times = con, times

    def execute(self, query: str, *args: Any) -> Any:
        start = time.perf_counter()
        self._con.execute(query, *args)
        self._times[_stage(query)] += time.perf_counter() - start
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _TimedDatabase:
    def __init__(self, con: Any, times: dict[str, float]) -> None:
        self._con, self._times = con, times

    def cursor(self) -> _Timed:
        return _Timed(self._con.cursor(), self._times)


def run_once(a: Path, b: Path, times: dict[str, float]) -> tuple[float, Any]:
    """``reconcile files``' engine path; stage times added to ``times``."""
    from reconcile.engine import load_file, reconcile
    from reconcile.engine import match as match_module
    from reconcile.engine.adhoc import plan_files
    from reconcile.engine.prepare import database

    real = database()
    match_module.database = lambda: _TimedDatabase(real, times)  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        left, right = load_file(a), load_file(b)
        loaded = time.perf_counter()
        plan = plan_files(left, right, ["doc_id"], [])
        planned = time.perf_counter()
        result = reconcile(plan.definition, left, right)
        done = time.perf_counter()
    finally:
        match_module.database = database
    sql_total = sum(v for k, v in times.items() if k not in ("load", "plan_files"))
    times["load"] += loaded - start
    times["plan_files"] += planned - loaded
    times["python"] += (done - planned) - sql_total
    return done - start, result


def _profile(a: Path, b: Path) -> None:
    import cProfile
    import pstats

    from reconcile.engine import load_file, reconcile
    from reconcile.engine.adhoc import plan_files

    left, right = load_file(a), load_file(b)
    plan = plan_files(left, right, ["doc_id"], [])
    prof = cProfile.Profile()
    prof.runcall(reconcile, plan.definition, left, right)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(15)


def main() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", default="150,300")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parquet", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"{args.rows:,} rows per side, median of {args.runs} runs; {os.cpu_count()} CPUs, "
        f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    for columns in (int(c) for c in args.columns.split(",")):
        for fmt, (a, b) in generate(args.rows, columns, args.parquet).items():
            totals, stages, counts = [], [], {}
            for _ in range(args.runs):
                times: dict[str, float] = defaultdict(float)
                elapsed, result = run_once(a, b, times)
                totals.append(elapsed)
                stages.append(times)
                counts = result.counts
            print(f"\n{columns} columns, {fmt}: {statistics.median(totals):.2f} s "
                  f"(runs {', '.join(f'{t:.2f}' for t in totals)}); "
                  f"{len(result.found)} exceptions {counts}")  # fmt: skip
            names = sorted({k for s in stages for k in s}, key=lambda k: -stages[0][k])
            for name in names:
                print(f"  {name:<16} {statistics.median(s[name] for s in stages):7.3f} s")
            if args.profile:
                _profile(a, b)
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
