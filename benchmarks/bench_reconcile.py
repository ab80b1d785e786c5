"""Reconciliation benchmark: billbridge vs a bare DuckDB FULL OUTER JOIN vs datacompy (Polars).

Two Parquet sides of 1,000,000 invoices (0.5 % only on each side, ~1 % real differences,
5 % sub-tolerance noise; see gen_reconcile_data.py). Each contender runs in its own
subprocess (so peak RSS is its own), three times; the median is reported.

    .venv/bin/python benchmarks/bench_reconcile.py [--rows N] [--runs 3] [--write]

Contenders:
- ``bare``: one DuckDB query over both files: FULL OUTER JOIN on the key, keep rows that are
  exclusive or differ (IS DISTINCT FROM / abs(a-b) > tol), return them as Arrow.
- ``billbridge``: ``load_file`` + ``reconcile()`` (dup detection, join, tolerance,
  categories, ids, fingerprints, Python exception candidates, summary).
- ``persist``: ``ExceptionStore.record_run`` of those candidates into a fresh SQLite store
  (first run: all NEW), then a second run of the same candidates (all STILL_OPEN).
- ``datacompy``: ``PolarsCompare(abs_tol=0.005)`` on frames read beforehand (compare only, as
  in reconciliation.md §6) plus the exception extraction (unique rows, all_mismatch).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

DATA = Path(tempfile.gettempdir()) / "bb-recon-bench"
TOL = "0.005"
COLUMNS = ["customer_id", "currency", "subtotal", "tax", "issue_date", "status"]
DEFINITION = f"""
name: bench_invoices
a: {{label: billing}}
b: {{label: erp}}
keys: [{{name: invoice_number}}]
compare:
  - {{name: subtotal, kind: amount, abs: {TOL}}}
  - {{name: tax, kind: amount, abs: {TOL}}}
  - {{name: issue_date, kind: date}}
  - {{name: status, kind: status}}
  - {{name: customer_id, kind: text}}
  - {{name: currency, kind: text}}
amount_field: subtotal
currency_field: currency
"""


def _quiet() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _rss_mb() -> float:
    """Peak RSS of this process image. VmHWM, not ru_maxrss: ru_maxrss survives exec and would
    report the parent's peak (the data generator) for every child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_bare(a: Path, b: Path, runs: int) -> dict[str, object]:
    import duckdb

    diff = " OR ".join(
        f"abs(a.{c} - b.{c}) > {TOL}"
        if c in ("subtotal", "tax")
        else f"a.{c} IS DISTINCT FROM b.{c}"
        for c in COLUMNS
    )
    query = (
        "SELECT coalesce(a.invoice_number, b.invoice_number) AS k, "
        + ", ".join(f"a.{c} AS {c}_a, b.{c} AS {c}_b" for c in COLUMNS)
        + f" FROM read_parquet('{a}') a FULL OUTER JOIN read_parquet('{b}') b "
        f"ON a.invoice_number = b.invoice_number "
        f"WHERE a.invoice_number IS NULL OR b.invoice_number IS NULL OR {diff}"
    )
    times, found = [], 0
    for _ in range(runs):
        con = duckdb.connect()
        start = time.perf_counter()
        found = con.sql(query).to_arrow_table().num_rows
        times.append(time.perf_counter() - start)
        con.close()
    return {"times": times, "exceptions": found}


def part_billbridge(a: Path, b: Path, runs: int, persist: bool = False) -> dict[str, object]:
    _quiet()
    from billbridge.state import Store
    from reconcile.definitions import parse_definitions
    from reconcile.engine import load_file, reconcile
    from reconcile.exceptions import ExceptionStore

    (definition,) = parse_definitions(DEFINITION)
    times, stages, found, counts = [], [], 0, {}
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = reconcile(definition, load_file(a), load_file(b))
        times.append(time.perf_counter() - start)
        found, counts = len(result.exceptions), result.counts
    out: dict[str, object] = {"times": times, "exceptions": found, "counts": counts}
    if persist and result is not None:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(f"sqlite:///{tmp}/state.db")
                xs = ExceptionStore(store)
                t0 = datetime(2024, 6, 1, tzinfo=UTC)
                start = time.perf_counter()
                xs.record_run(definition.name, "run-1", result.exceptions, t0)
                first = time.perf_counter() - start
                start = time.perf_counter()
                delta = xs.record_run(definition.name, "run-2", result.exceptions, t0)
                second = time.perf_counter() - start
                store.close()
                stages.append((first, second, delta.counts["STILL_OPEN"]))
        out["persist_new"] = [s[0] for s in stages]
        out["persist_still_open"] = [s[1] for s in stages]
        out["still_open"] = stages[-1][2]
    return out


def part_datacompy(a: Path, b: Path, runs: int) -> dict[str, object]:
    import datacompy
    import polars as pl

    df1, df2 = pl.read_parquet(a), pl.read_parquet(b)
    times, found = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        cmp = datacompy.PolarsCompare(df1, df2, join_columns="invoice_number", abs_tol=float(TOL))
        found = len(cmp.df1_unq_rows) + len(cmp.df2_unq_rows) + len(cmp.all_mismatch())
        times.append(time.perf_counter() - start)
    return {"times": times, "exceptions": found}


PARTS = {"bare": part_bare, "billbridge": part_billbridge, "datacompy": part_datacompy}


def _child(name: str, runs: int) -> dict[str, object]:
    a, b = DATA / "side_a.parquet", DATA / "side_b.parquet"
    if name == "persist":
        out = part_billbridge(a, b, runs, persist=True)
    else:
        out = PARTS[name](a, b, runs)
    out["peak_rss_mb"] = round(_rss_mb())
    return out


def _spawn(name: str, runs: int) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--part", name, "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=[*PARTS, "persist"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--write", action="store_true", help="write benchmarks/results/reconcile.md"
    )
    args = parser.parse_args()
    if args.part:
        print(json.dumps(_child(args.part, args.runs)))
        return
    from gen_reconcile_data import generate

    generate(DATA, args.rows)
    results = {
        name: _spawn(name, args.runs) for name in ("bare", "billbridge", "persist", "datacompy")
    }
    med = {k: statistics.median(v["times"]) for k, v in results.items()}  # type: ignore[arg-type]
    persist = results["persist"]
    report = {
        "rows_per_side": args.rows,
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "billbridge_vs_bare": round(med["billbridge"] / med["bare"], 2),
        "datacompy_vs_billbridge": round(med["datacompy"] / med["billbridge"], 2),
        "persist_new_s": round(statistics.median(persist["persist_new"]), 3),  # type: ignore[arg-type]
        "persist_still_open_s": round(statistics.median(persist["persist_still_open"]), 3),  # type: ignore[arg-type]
        "exceptions": {k: v["exceptions"] for k, v in results.items()},
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in results.items()},
        "counts": results["billbridge"]["counts"],
        "all_times": {k: [round(t, 3) for t in v["times"]] for k, v in results.items()},  # type: ignore[union-attr]
    }
    print(json.dumps(report, indent=2))
    if args.write:
        out = ROOT / "benchmarks" / "results" / "reconcile.md"
        out.write_text(_markdown(report))
        print(f"wrote {out}")


def _markdown(r: dict) -> str:  # type: ignore[type-arg]
    import os
    import platform

    med, rss = r["median_s"], r["peak_rss_mb"]
    load = os.getloadavg()
    lines = [
        "# Reconciliation benchmark",
        "",
        f"Measured by `benchmarks/bench_reconcile.py` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average at the end {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} (other work was running). {r['rows_per_side']:,} rows per side, "
        "each contender in its own process, median of the runs listed.",
        "",
        "| Contender | Median (s) | Runs (s) | Exceptions | Peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    names = {
        "bare": "bare DuckDB FULL OUTER JOIN (files -> differing rows as Arrow)",
        "billbridge": "billbridge `load_file` + `reconcile()` (classified candidates + summary)",
        "persist": "billbridge again, then `record_run` into SQLite (see below)",
        "datacompy": "datacompy `PolarsCompare` (frames pre-loaded) + unique/mismatch rows",
    }
    for key, label in names.items():
        lines.append(
            f"| {label} | {med[key]} | {', '.join(str(t) for t in r['all_times'][key])} "
            f"| {r['exceptions'][key]:,} | {rss[key]} |"
        )
    lines += [
        "",
        f"- billbridge / bare join: **{r['billbridge_vs_bare']}x** (target <= 2x)",
        f"- datacompy / billbridge: **{r['datacompy_vs_billbridge']}x** (target >= 4x)",
        f"- `record_run` of {r['exceptions']['billbridge']:,} exceptions into a fresh SQLite "
        f"store (all NEW, with history rows): {r['persist_new_s']} s; the same candidates again "
        f"(all STILL_OPEN, set-based UPDATE ... IN): {r['persist_still_open_s']} s",
        f"- outcome counts: {json.dumps(r['counts'])}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
