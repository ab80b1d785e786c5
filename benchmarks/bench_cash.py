"""Cash-application benchmark (not a test): 100k bank lines, 1M open invoices, 50k customers.

Run: ``.venv/bin/python benchmarks/bench_cash.py [--lines N --invoices N --customers N]``.
Prints time per tier, the auto-match rate (and whether auto matches are right, against the
generator's known answers) and peak memory; ``--write`` records them in
benchmarks/results/cash.md. Target: under 60 s end to end (reference ~13.5 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from gen_cash import CashData, generate  # noqa: E402

from reconcile.cash import CashResult, Status, apply_cash  # noqa: E402

NOTES = """Notes:
- Peak RSS is the whole process, including the generated inputs (1M-invoice Arrow table,
  100k `CashLine`s); the engine never turns the 1M invoices into Python objects, only the
  open items of customers the amount tiers need.
- Wrong automatic matches: invoice numbers below 100 written as bare digits (shorter than
  `min_ref_digits`, so the reference is ignored), or a different unique combination of the
  customer's oldest 20 invoices that happens to reach the paid total (the paid invoices
  being partly outside those 20).
- Short pays beyond tolerance whose only evidence is a digit-only reference from an
  unnamed payer are suggestions, not automatic (such digits may be a date or an amount).
- `none` for name_multi: the paid invoices are not all among the customer's oldest 20
  open items (the subset-sum bound).
- Per-tier times are wall clock; compare runs by the CPU time when the load differs.
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _accuracy(data: CashData, result: CashResult) -> dict[str, Counter[str]]:
    """Per generated kind: auto right / auto wrong / suggested / none."""
    out: dict[str, Counter[str]] = {}
    for r in result.lines:
        truth = data.truth[r.line.line_id]
        c = out.setdefault(truth.kind, Counter())
        if r.proposal is None:
            c["none"] += 1
            continue
        got = frozenset(a.invoice_number for a in r.proposal.applications)
        status = "auto" if r.proposal.status == Status.AUTO else "suggested"
        c[f"{status}_{'right' if got == truth.invoices else 'wrong'}"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--write", action="store_true", help="write benchmarks/results/cash.md")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = generate(args.lines, args.invoices, args.customers)
    gen_s = time.perf_counter() - t0
    rss_before = _rss_mb()
    load_before = os.getloadavg()[0]
    t1, c1 = time.perf_counter(), time.process_time()
    result = apply_cash(data.lines, data.invoices, data.customers)
    total_s, cpu_s = time.perf_counter() - t1, time.process_time() - c1
    peak = _rss_mb()

    kpis = result.kpis()
    acc = _accuracy(data, result)
    auto_right = sum(c["auto_right"] for c in acc.values())
    auto_wrong = sum(c["auto_wrong"] for c in acc.values())
    subset_runs = max(result.counts.get("subset_sum_lines", 0), 1)
    ms_per_subset = 1000 * result.timings.get("subset_sum", 0.0) / subset_runs
    lines = [
        "# Cash application benchmark",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {_cpus()} CPUs. Command: "
        f"`.venv/bin/python benchmarks/bench_cash.py --write` "
        f"({args.lines:,} lines, {args.invoices:,} open invoices, {args.customers:,} customers;"
        " fuzzy matching on).",
        "",
        f"Data generation (not timed below): {gen_s:.1f} s.",
        "",
        "| Tier | Time (s) |",
        "|---|---|",
        *[f"| {tier} | {secs:.2f} |" for tier, secs in result.timings.items()],
        f"| **total (apply_cash), wall clock** | **{total_s:.2f}** |",
        f"| total CPU time of the process (all threads) | {cpu_s:.2f} |",
        "",
        f"Load average when the run started: {load_before:.1f} on {_cpus()} CPUs (the machine "
        "is shared; with a load above the CPU count the wall clock is inflated accordingly).",
        "",
        f"- Line-level auto-match rate: **{kpis.line.auto_rate:.2%}** "
        f"(suggested {kpis.line.suggested:,}, unmatched {kpis.line.unmatched:,}); "
        f"header (customer) rate {kpis.header.match_rate:.2%}.",
        f"- Auto proposals checked against the generator's answers: {auto_right:,} right, "
        f"{auto_wrong:,} wrong.",
        f"- Rules: {dict(result.rule_counts())}",
        f"- Lines per later tier: {result.counts}; blocked fuzzy "
        f"{result.counts['fuzzy_lines'] / max(result.timings['customer_fuzzy'], 1e-9):,.0f} "
        "lines/s; subset-sum "
        f"{ms_per_subset:.2f}"
        " ms per payment.",
        f"- Peak RSS: {peak:,.0f} MB (after generating the data: {rss_before:,.0f} MB).",
        "",
        "| Generated kind | auto right | auto wrong | suggested right | suggested wrong | none |",
        "|---|---|---|---|---|---|",
        *[
            f"| {kind} | {c['auto_right']:,} | {c['auto_wrong']:,} | {c['suggested_right']:,} "
            f"| {c['suggested_wrong']:,} | {c['none']:,} |"
            for kind, c in sorted(acc.items())
        ],
        "",
        NOTES,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        out = ROOT / "benchmarks" / "results" / "cash.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def _cpus() -> int:
    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
