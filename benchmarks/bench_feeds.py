"""Feed parser throughput and memory: ~100 MB BAI2 and ~100 MB camt.053 (not a test).

    .venv/bin/python benchmarks/bench_feeds.py [--mb 100] [--regen] [--write]

Generates the files into benchmarks/data/ (git-ignored) unless present, then runs each
contender in its own subprocess so peak RSS is its own:

- ``import-bai2``: ``connectors.feeds.importer.import_paths`` into a fresh SQLite store.
- ``ours-bai2``: ``connectors.feeds.bai2.iter_statements`` over the file read line by line
  (streaming: one account's statement in memory at a time), with control totals verified.
- ``lib-bai2``: the ``bai2`` package (``parse_from_file``) on the same file, for comparison.
- ``ours-camt``: ``connectors.feeds.camt.iter_items`` (lxml iterparse, elements cleared).

``--write`` records the numbers in benchmarks/results/feeds.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

DATA = ROOT / "benchmarks" / "data"
FILES = {"bai2": DATA / "bench.bai2", "camt": DATA / "bench.camt053.xml"}


def run_ours_bai2(path: Path) -> dict[str, int]:
    from connectors.feeds.bai2 import iter_statements
    from connectors.feeds.normalize import iter_stream_lines

    statements = transactions = 0
    with path.open("rb") as fh:
        for stmt in iter_statements(iter_stream_lines(fh), file_name=path.name):
            statements += 1
            transactions += len(stmt.transactions)
    return {"statements": statements, "transactions": transactions}


def run_lib_bai2(path: Path) -> dict[str, int]:
    from bai2 import bai2 as lib

    with path.open() as fh:
        parsed = lib.parse_from_file(fh)
    details = sum(len(a.children) for g in parsed.children for a in g.children)
    return {"statements": sum(len(g.children) for g in parsed.children), "transactions": details}


def run_ours_camt(path: Path) -> dict[str, int]:
    from canonical import BankStatement, BankTransaction
    from connectors.feeds.camt import iter_items

    statements = transactions = 0
    with path.open("rb") as fh:
        for item in iter_items(fh, file_name=path.name):
            if isinstance(item, BankTransaction):
                transactions += 1
            elif isinstance(item, BankStatement):
                statements += 1
    return {"statements": statements, "transactions": transactions}


NOTES = """
Notes:
- Measured on a shared 2-vCPU machine while other jobs ran (load average 3-9), so wall
  times are inflated; the CPU-time column is the fairer throughput figure.
- ``ours-bai2`` does more than the ``bai2`` library: it builds a validated canonical
  ``BankTransaction`` per detail with provenance (raw record text, line, byte offset), 88
  key/value references and entry keys, and verifies 49/98/99 totals and counts. It streams
  (one account block in memory at a time), hence 42 MiB peak against the library's
  1.25 GiB for the same 100 MB file, at about 40 % of the library's CPU throughput.
- ``ours-camt`` streams entries with ``lxml.etree.iterparse`` (only Stmt/Ntry/GrpHdr
  events, processed elements cleared); each entry also yields a structured ``Remittance``.
- ``import-bai2`` is ``feeds import`` of the same file into a fresh SQLite store: parsing
  streams into the one open transaction (entries bulk-inserted per statement as JSON with
  their raw text), so memory stays bounded: the file's bytes (read whole, 100 MiB, for the
  hash and the parse), one account block and SQLite's cache. The store grows by about
  15 bytes of database per byte of BAI2 (each entry is kept as canonical JSON + raw text);
  a re-run after leaving nulls out of the stored JSON took 134 s CPU, 1.5 GiB of SQLite.
"""


def run_import_bai2(path: Path) -> dict[str, int]:
    """``feeds import`` end to end into a fresh SQLite state store (one transaction)."""
    from billbridge.state import Store
    from connectors.feeds.importer import import_paths

    db = DATA / "bench-import.db"
    for leftover in DATA.glob("bench-import.db*"):
        leftover.unlink()
    store = Store(f"sqlite:///{db}")
    try:
        outcome = import_paths(store, [path])[0]
    finally:
        store.close()
        for leftover in DATA.glob("bench-import.db*"):  # about 2 GB: do not leave it around
            leftover.unlink()
    if outcome.status != "imported":
        raise RuntimeError(outcome.message)
    return {"statements": outcome.statements, "transactions": outcome.transactions}


CONTENDERS = {
    "ours-bai2": ("bai2", run_ours_bai2),
    "lib-bai2": ("bai2", run_lib_bai2),
    "ours-camt": ("camt", run_ours_camt),
    "import-bai2": ("bai2", run_import_bai2),
}


def child(name: str) -> None:
    fmt, fn = CONTENDERS[name]
    path = FILES[fmt]
    start, cpu_start = time.perf_counter(), time.process_time()
    counts = fn(path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = path.stat().st_size
    print(json.dumps({"name": name, "seconds": seconds, "cpu": cpu, "bytes": size,
                      "peak_kib": peak_kib,
                      **counts}))  # fmt: skip


def measure(name: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"name": name, "error": out.stderr.strip().splitlines()[-1][:200]}  # type: ignore[dict-item]
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| contender | file MiB | wall s | CPU s | MB/s (wall) | MB/s (CPU) | peak RSS MiB "
        "| statements | entries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | | | | failed: {r['error']} | | | | |")
            continue
        mib = r["bytes"] / 2**20
        lines.append(
            f"| {r['name']} | {mib:.1f} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
            f"{mib / r['seconds']:.2f} | {mib / r['cpu']:.2f} | {r['peak_kib'] / 1024:.0f} | "
            f"{int(r['statements'])} | {int(r['transactions'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--regen", action="store_true")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", nargs="*", default=list(CONTENDERS))
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.regen or not all(p.exists() for p in FILES.values()):
        from gen_feed_data import gen_bai2, gen_camt

        DATA.mkdir(parents=True, exist_ok=True)
        gen_bai2(FILES["bai2"], int(args.mb * 2**20))
        gen_camt(FILES["camt"], int(args.mb * 2**20))
    rows = []
    for name in args.only:
        rows.append(measure(name))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print(text)
    if args.write:
        host = (
            f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
        )
        out = ROOT / "benchmarks" / "results" / "feeds.md"
        out.write_text(
            "# Feed parser benchmark\n\n"
            f"`.venv/bin/python benchmarks/bench_feeds.py --write` on {host}.\n\n"
            f"{text}\n\n"
            "MB/s is MiB of file per second (wall clock, and CPU time of the child, which is\n"
            "less sensitive to other load on the machine); peak RSS is the whole child process.\n"
            f"{NOTES}"
        )


if __name__ == "__main__":
    main()
