"""UAT benchmark: 1,000,000 invoice lines per side through ``uat compare``'s engine path.

Data (Parquet, generated with DuckDB): legacy lines carry old customer numbers and item
codes, translated through tables of 50,000 customers and 100 items (10 customers missing
from the table); the new side has 0.5 % dropped and 0.5 % extra lines, and ~0.33 % each of
rounding drift, a +3 day billing-date shift, a 19 % -> 16 % tax rate change, and 0.1 % nets
scaled by 100. Each contender runs in its own subprocess (own peak RSS), median of N runs.

    .venv/bin/python benchmarks/bench_uat.py [--rows N] [--runs 3] [--write]

Contenders:
- ``bare``: one DuckDB FULL OUTER JOIN of the two files on the key, keeping rows that are
  exclusive or differ, returned as Arrow (no translation, tolerance, ids or causes).
- ``bare_xlat``: the same with the customer and item translation joins on the legacy side.
- ``uat``: ``run_uat`` without a state store: load, translate (DuckDB), reconcile (engine),
  root-cause attribution (DuckDB), scorecard and expectations; stages timed separately.
- ``pair``: ``bare_xlat`` and ``uat`` alternately in one process; the budget is checked on
  the median of these paired ratios (separate processes run minutes apart on a shared
  machine, so the ratio of their medians mixes two loads).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.gettempdir()) / "bb-uat-bench"
FIELDS = ["customer_id", "item_code", "currency", "billing_date", "quantity", "net_amount",
          "tax_amount"]  # fmt: skip

GEN = """
CREATE TABLE base AS
SELECT i,
    'INV-' || lpad(CAST(i // 2 AS VARCHAR), 8, '0') AS invoice_number,
    CAST(i % 2 + 1 AS INTEGER) AS line_number,
    CAST(i % 50000 AS INTEGER) AS c,
    CAST(i % 100 AS INTEGER) AS it,
    CASE i % 10 WHEN 0 THEN 'GBP' ELSE 'EUR' END AS currency,
    DATE '2024-02-01' + CAST(i % 28 AS INTEGER) AS billing_date,
    CAST(i % 7 + 1 AS INTEGER) AS quantity,
    CAST(CAST(hash(i) % 1000000 AS DECIMAL(18,2)) / 100 + 1 AS DECIMAL(18,2)) AS net
FROM range({n}) t(i);

COPY (SELECT invoice_number, line_number, 'C' || lpad(CAST(c AS VARCHAR), 6, '0') AS customer_id,
        'OLD-' || CAST(it AS VARCHAR) AS item_code, currency, billing_date, quantity,
        net AS net_amount, CAST(round(net * 0.19, 2) AS DECIMAL(18,2)) AS tax_amount
      FROM base WHERE i % 200 <> 1 ORDER BY hash(i))
TO '{dir}/legacy.parquet' (FORMAT parquet);

COPY (SELECT invoice_number, line_number, 'N' || lpad(CAST(c AS VARCHAR), 6, '0') AS customer_id,
        'NEW-' || CAST(it AS VARCHAR) AS item_code, currency,
        CASE WHEN i % 300 = 6 THEN billing_date + 3 ELSE billing_date END AS billing_date,
        quantity,
        CAST(CASE WHEN i % 300 = 5 THEN net + 0.01 WHEN i % 1000 = 9 THEN net * 100
                  ELSE net END AS DECIMAL(18,2)) AS net_amount,
        CAST(round(net * CASE WHEN i % 300 = 7 THEN 0.16 ELSE 0.19 END, 2) AS DECIMAL(18,2))
            AS tax_amount
      FROM base WHERE i % 200 <> 2 ORDER BY hash(i || 'b'))
TO '{dir}/new.parquet' (FORMAT parquet);

COPY (SELECT 'C' || lpad(CAST(c AS VARCHAR), 6, '0') AS old,
             'N' || lpad(CAST(c AS VARCHAR), 6, '0') AS new
      FROM range(50000) t(c) WHERE c % 5000 <> 17)
TO '{dir}/xlat_customers.csv' (HEADER);
COPY (SELECT 'OLD-' || CAST(c AS VARCHAR) AS old, 'NEW-' || CAST(c AS VARCHAR) AS new
      FROM range(100) t(c))
TO '{dir}/xlat_items.csv' (HEADER);
"""

SPEC = """
name: bench
translations:
  customer: {path: xlat_customers.csv}
  item: {path: xlat_items.csv}
rootcause:
  rate_changes: [{old: "0.19", new: "0.16"}]
entities:
  - name: invoice_lines
    kind: invoice_line
    legacy: {path: legacy.parquet}
    new: {path: new.parquet}
    translate: {customer_id: customer, item_code: item}
expectations:
  - {type: match_rate, entity: invoice_lines, min_pct: 99}
  - {type: amounts_match, entity: invoice_lines, field: net_amount, over: 5000}
"""


def generate(folder: Path, n: int) -> None:
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(GEN.format(n=n, dir=folder))
    con.close()
    (folder / "uat.yaml").write_text(SPEC, encoding="utf-8")


def _quiet() -> None:
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_sql(xlat: bool) -> str:
    keys = ("invoice_number", "line_number")
    legacy = f"read_parquet('{DATA}/legacy.parquet')"
    if xlat:
        legacy = (
            f"(SELECT l.* REPLACE (coalesce(c.new, l.customer_id) AS customer_id, "
            f"coalesce(t.new, l.item_code) AS item_code) FROM {legacy} l "
            f"LEFT JOIN read_csv('{DATA}/xlat_customers.csv') c ON c.old = l.customer_id "
            f"LEFT JOIN read_csv('{DATA}/xlat_items.csv') t ON t.old = l.item_code)"
        )
    on = " AND ".join(f"a.{k} = b.{k}" for k in keys)
    diff = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in FIELDS)
    return (
        f"SELECT {', '.join(f'coalesce(a.{k}, b.{k}) AS {k}' for k in keys)}, "
        + ", ".join(f"a.{c} AS {c}_a, b.{c} AS {c}_b" for c in FIELDS)
        + f" FROM {legacy} a FULL OUTER JOIN read_parquet('{DATA}/new.parquet') b ON {on} "
        f"WHERE a.invoice_number IS NULL OR b.invoice_number IS NULL OR {diff}"
    )


def part_bare(runs: int, xlat: bool = False) -> dict[str, object]:
    import duckdb

    times, found = [], 0
    for _ in range(runs):
        con = duckdb.connect()
        start = time.perf_counter()
        found = con.sql(_bare_sql(xlat)).to_arrow_table().num_rows
        times.append(time.perf_counter() - start)
        con.close()
    return {"times": times, "exceptions": found}


def part_uat(runs: int) -> dict[str, object]:
    _quiet()
    from reconcile.engine import reconcile
    from uat.entities import prepare_entity
    from uat.expectations import evaluate
    from uat.rootcause import attribute
    from uat.runner import run_uat
    from uat.scorecard import score
    from uat.spec import load_spec
    from uat.translate import load_translation

    spec, base = load_spec(DATA / "uat.yaml")
    times, stages, out = [], [], {}
    for _ in range(runs):
        start = time.perf_counter()
        run = run_uat(spec, base, now=datetime.now(UTC))
        times.append(time.perf_counter() - start)
        sc = run.scores[0]
        out = {
            "exceptions": sc.exceptions,
            "match_rate": str(sc.match_rate),
            "root_causes": {g.cause.label: g.count for g in sc.root_causes},
            "expectations": {x.name: x.passed for x in run.expectations},
        }
        # the same path again, stage by stage (what dominates)
        t0 = time.perf_counter()
        xlat = {k: load_translation(k, t, base) for k, t in spec.translations.items()}
        entity = prepare_entity(spec, spec.entities[0], base, xlat)
        t1 = time.perf_counter()
        result = reconcile(entity.definition, entity.legacy, entity.new, by_field=True)
        t2 = time.perf_counter()
        kinds = {c.name: c.kind for c in entity.definition.compare}
        attribution = attribute(
            result.rows, entity.kind, kinds, entity.gaps, spec.rootcause, result.by_field
        )
        t3 = time.perf_counter()
        k = entity.kind
        sc = score(entity.spec.name, k.name, k.title, result, attribution, entity.gaps)
        for x in spec.expectations:
            evaluate(x, entity, sc)
        t4 = time.perf_counter()
        stages.append(
            {"load_translate": t1 - t0, "reconcile": t2 - t1, "attribute": t3 - t2,
             "score_expect": t4 - t3}
        )  # fmt: skip
    return {"times": times, "stages": stages, **out}


def part_pair(runs: int) -> dict[str, object]:
    """The bare join with translation and ``run_uat`` alternately in one process, so each
    ratio compares two runs made under the same machine load."""
    import duckdb

    _quiet()
    from uat.runner import run_uat
    from uat.spec import load_spec

    spec, base = load_spec(DATA / "uat.yaml")
    bare, uat = [], []
    for i in range(runs):
        for name in ("bare", "uat") if i % 2 == 0 else ("uat", "bare"):
            if name == "bare":
                con = duckdb.connect()
                start = time.perf_counter()
                con.sql(_bare_sql(True)).to_arrow_table()
                bare.append(time.perf_counter() - start)
                con.close()
            else:
                start = time.perf_counter()
                run_uat(spec, base, now=datetime.now(UTC))
                uat.append(time.perf_counter() - start)
    return {"bare_xlat": bare, "uat": uat}


def _child(name: str, runs: int) -> dict[str, object]:
    if name == "pair":
        return part_pair(runs)
    out = part_uat(runs) if name == "uat" else part_bare(runs, xlat=name == "bare_xlat")
    out["peak_rss_mb"] = round(_rss_mb())
    return out


def _spawn(name: str, runs: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--part", name, "--runs", str(runs)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _markdown(report: dict[str, Any]) -> str:
    med, stages = report["median_s"], report["uat_stages_median_s"]
    return (
        "# UAT benchmark (`benchmarks/bench_uat.py`)\n\n"
        f"{report['rows_per_side']:,} invoice lines per side, median of the runs below; "
        "regenerate with `.venv/bin/python benchmarks/bench_uat.py --write`.\n\n"
        "| Contender | Median | Peak RSS |\n|---|---|---|\n"
        + "".join(f"| {k} | {v} s | {report['peak_rss_mb'][k]} MB |\n" for k, v in med.items())
        + f"\n`uat compare` engine path vs the bare join with the same translation: "
        f"**{report['paired_uat_vs_bare_with_translation']}x**, the median of "
        f"{len(report['paired_times']['uat'])} ratios of runs made alternately in one "
        f"process (each under the same load). From the separate processes' medians above: "
        f"{report['uat_vs_bare_with_translation']}x (vs the untranslated bare join: "
        f"{report['uat_vs_bare']}x). Stages (a second pass of the same path): translation "
        f"tables read and gaps counted {stages['load_translate']} s (the legacy side is not "
        "copied: the engine joins the code tables in as it reads the file), engine "
        f"`reconcile()` {stages['reconcile']} s, root-cause attribution (set-based in "
        f"DuckDB over the engine's exception rows) {stages['attribute']} s, scorecard and "
        f"expectations {stages['score_expect']} s.\n\n"
        f"Budget (reconcile.md: within 2x of the bare join, <= 1.5 GB): memory "
        f"{'met' if report['peak_rss_mb']['uat'] <= 1536 else 'NOT met'}; time "
        f"{'met' if report['paired_uat_vs_bare_with_translation'] <= 2 else 'NOT met'} "
        "(paired ratio). "
        f"The engine's own `reconcile()` is {report['engine_only_vs_bare_with_translation']}x "
        "the bare join with translation by itself. Load average at the end "
        f"{report['load_average_1m_at_end']} on {report['cpus']} CPUs.\n\n"
        "```json\n" + json.dumps(report, indent=2) + "\n```\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["bare", "bare_xlat", "uat", "pair"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/uat.md")
    args = parser.parse_args()
    if args.part:
        print(json.dumps(_child(args.part, args.runs)))
        return
    generate(DATA, args.rows)
    results = {name: _spawn(name, args.runs) for name in ("bare", "bare_xlat", "uat")}
    pair = _spawn("pair", args.runs)
    paired = [u / b for u, b in zip(pair["uat"], pair["bare_xlat"], strict=True)]
    med = {k: statistics.median(v["times"]) for k, v in results.items()}
    stages = results["uat"]["stages"]
    report = {
        "rows_per_side": args.rows,
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "uat_vs_bare": round(med["uat"] / med["bare"], 2),
        "uat_vs_bare_with_translation": round(med["uat"] / med["bare_xlat"], 2),
        "paired_uat_vs_bare_with_translation": round(statistics.median(paired), 2),
        "paired_times": {k: [round(t, 3) for t in v] for k, v in pair.items()},
        "engine_only_vs_bare_with_translation": round(
            statistics.median(s["reconcile"] for s in stages) / med["bare_xlat"], 2
        ),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "uat_stages_median_s": {
            k: round(statistics.median(s[k] for s in stages), 3)
            for k in ("load_translate", "reconcile", "attribute", "score_expect")
        },
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in results.items()},
        "exceptions": {k: v["exceptions"] for k, v in results.items()},
        "uat": {k: results["uat"][k] for k in ("match_rate", "root_causes", "expectations")},
        "all_times": {k: [round(t, 3) for t in v["times"]] for k, v in results.items()},
    }
    print(json.dumps(report, indent=2))
    if args.write:
        (ROOT / "benchmarks" / "results" / "uat.md").write_text(_markdown(report))


if __name__ == "__main__":
    main()
