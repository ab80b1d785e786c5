"""``billbridge reconcile cash``: apply bank receipts to an open-invoice CSV, write the
results, and let a person accept or reject the suggestions.

- ``reconcile cash --bank F [--bank F2] [--remittance R ...] --invoices F [--customers F]
  --out DIR`` matches and writes
  ``applications.csv``, ``unapplied.csv``, ``proposals.csv`` and the saved run
  ``cash_run.json`` (what the later steps read).
- ``reconcile cash proposals --run DIR`` lists a run's proposals with their decisions.
- ``reconcile cash accept|reject PROPOSAL_ID --run DIR --actor A [--note N]`` records the
  decision in ``match_decisions`` and ``audit_events``. Accepted suggestions (and automatic
  proposals nobody rejected) are what a ``cash_application`` sync job writes.

Exit codes: 0 done, 2 bad input (one line naming the file, line and column), an unusable
``--out`` or an unknown or ambiguous proposal id. ``--bank`` is the cash CSV or any bank
file the feed parsers read (``bank_files.py``). Outputs are written only when the whole run
succeeded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import typer
from rich.console import Console
from rich.table import Table

from billbridge.errors import BillbridgeError, ParseError
from billbridge.state import Store
from billbridge.state.db import DEFAULT_URL
from canonical import to_decimal
from reconcile.cash.bank_files import BANK_FORMATS, REMITTANCE_FORMATS, read_bank_input
from reconcile.cash.csv_io import (
    read_customers,
    read_invoices,
    write_proposals,
    write_results,
)
from reconcile.cash.decisions import Decision, decided, decisions_for, record_decision
from reconcile.cash.engine import apply_cash
from reconcile.cash.model import CashLine, CashPolicy, CustomerRef, Status
from reconcile.cash.results import CashResult
from reconcile.cash.runs import RUN_FILE, SavedRun, find_proposal, load_runs, save_run
from reconcile.engine.local_dates import Order

STATE_URL_ENV = "BILLBRIDGE_STATE_URL"
#: Moved into --out in this order; the saved run last, as it is what later steps look for.
OUTPUT_FILES = ("applications.csv", "unapplied.csv", "proposals.csv", RUN_FILE)
RunOpt = Annotated[
    Path,
    typer.Option("--run", help="A run's --out directory (or a folder of them)."),
]
StateUrl = Annotated[
    str, typer.Option("--state-url", envvar=STATE_URL_ENV, help="State store URL.")
]
Actor = Annotated[
    str,
    typer.Option("--actor", envvar="BILLBRIDGE_ACTOR", help="Who decides (kept in the audit)."),
]
Note = Annotated[str | None, typer.Option("--note", help="Why; kept in the audit log.")]

app = typer.Typer(
    help="Apply bank receipts to open invoices; accept or reject the suggestions.",
    no_args_is_help=True,
)


# options shared by the matching command and the group's own callback
BankOption = Annotated[
    list[Path],
    typer.Option(
        "--bank",
        metavar="FILE",
        help=f"Bank file, repeatable: {BANK_FORMATS}; detected by content.",
    ),
]
RemittanceOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--remittance",
        metavar="FILE",
        help=f"Separately delivered remittance, repeatable ({REMITTANCE_FORMATS}): linked "
        "to its bank credit by trace number, else amount, payer and date.",
    ),
]
CustomersOption = Annotated[
    Path | None, typer.Option("--customers", help="Customers CSV (bank accounts).")
]
ShortPayPercentOption = Annotated[
    str, typer.Option("--short-pay-percent", help="Short pay written off up to this %.")
]
ShortPayFixedOption = Annotated[
    str, typer.Option("--short-pay-fixed", help="...or up to this amount.")
]
StateUrlOption = Annotated[
    str | None,
    typer.Option(
        "--state-url",
        envvar=STATE_URL_ENV,
        help="State store: suggestions rejected before are not proposed again.",
    ),
]
DatesOption = Annotated[
    str | None,
    typer.Option(
        "--dates",
        help="day-first or month-first: how the files write dates that read both ways "
        "(01/02/2024). Dates that say it themselves (31.01.2024, 1/31/2024) need no "
        "declaration.",
    ),
]


def cash(
    bank: BankOption,
    invoices: Annotated[Path, typer.Option("--invoices", help="Open invoices CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the result CSVs.")],
    customers: CustomersOption = None,
    short_pay_percent: ShortPayPercentOption = "3",
    short_pay_fixed: ShortPayFixedOption = "0",
    state_url: StateUrlOption = None,
    dates: DatesOption = None,
    remittance: RemittanceOption = None,
) -> None:
    """Match bank receipts to open invoices; write applications.csv and unapplied.csv."""
    try:
        policy = CashPolicy(
            short_pay_percent=_decimal("--short-pay-percent", short_pay_percent) / 100,
            short_pay_fixed=_decimal("--short-pay-fixed", short_pay_fixed),
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if out.exists() and not out.is_dir():
        typer.echo(f"error: --out {out}: exists and is not a directory", err=True)
        raise typer.Exit(2)
    orders: dict[str, Order] = {"day-first": "day", "month-first": "month"}
    if dates is not None and dates.strip().lower() not in orders:
        typer.echo(f"error: --dates {dates!r}: one of day-first, month-first", err=True)
        raise typer.Exit(2)
    order = orders[dates.strip().lower()] if dates is not None else None
    try:
        bank_file = read_bank_input(bank, remittance or (), order)
        table, names_on_invoices = read_invoices(invoices, order)
        if customers is not None:
            refs = read_customers(customers)
        else:
            refs = [CustomerRef(c, n) for c, n in sorted(names_on_invoices.items())]
    except ParseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for warning in bank_file.warnings:
        typer.echo(f"warning: {warning}", err=True)
    lines, skipped = bank_file.receipts, bank_file.not_receipts
    rejected: set[str] = set()
    if state_url:
        store = Store(state_url)
        try:
            rejected = decided(store, Decision.REJECTED)
        finally:
            store.close()
    result = apply_cash(lines, table, refs, policy=policy, rejected=rejected)
    inputs = (
        _numbered("bank", bank)
        | _numbered("remittance", remittance or [])
        | {"invoices": invoices}
        | ({"customers": customers} if customers else {})
    )
    try:
        saved = _write_outputs(result, skipped, out, inputs)
    except OSError as exc:
        typer.echo(f"error: {exc.filename or out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    apps, unapplied = out / OUTPUT_FILES[0], out / OUTPUT_FILES[1]
    kpis = result.kpis()
    not_receipts = f", {len(skipped)} not receipts (NOT_A_RECEIPT)" if skipped else ""
    if bank_file.returned:
        not_receipts += f", {bank_file.returned} returned in the same files (RETURNED, held)"
    if bank_file.duplicates:
        not_receipts += f", {bank_file.duplicates} repeated across --bank files read once"
    memos = _credit_memos(table)
    netted = sum(a.amount.amount < 0 for p in result.proposals() for a in p.applications)
    credits = f"; {memos} credit memo(s) open, {netted} netted" if memos else ""
    typer.echo(
        f"{len(lines)} lines: {kpis.line.auto} auto, {kpis.line.suggested} suggested, "
        f"{kpis.unapplied_count} with unapplied cash{not_receipts}{credits}; "
        f"wrote {apps} and {unapplied}"
    )
    suggested = len(result.proposals(Status.SUGGESTED))
    typer.echo(
        f"saved run {saved.run_id[:12]} to {saved.path}"
        + (
            f"; {suggested} suggestion(s) wait for a decision: "
            f"billbridge reconcile cash accept|reject ID --run {out} --actor NAME"
            if suggested
            else ""
        )
    )


def _numbered(name: str, paths: Sequence[Path]) -> dict[str, Path]:
    """Saved-run input names: ``bank``, then ``bank2``, ``bank3``..."""
    return {name if i == 0 else f"{name}{i + 1}": p for i, p in enumerate(paths)}


def _write_outputs(
    result: CashResult, not_receipts: Sequence[CashLine], out: Path, inputs: Mapping[str, Path]
) -> SavedRun:
    """Write every output into a staging folder inside ``out``, then move them in: a run
    that fails leaves no partial files, and a previous run's files stay whole."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cash-staging-", dir=out))
    done = False
    try:
        write_results(result, staging, not_receipts)
        write_proposals(result, staging)
        saved = save_run(result, staging, inputs=inputs)
        for name in OUTPUT_FILES:
            (staging / name).replace(out / name)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made and not done:
            with contextlib.suppress(OSError):
                out.rmdir()
    return dataclasses.replace(saved, path=out / RUN_FILE)


def _credit_memos(table: pa.Table) -> int:
    """Open items with a negative open amount (credit memos)."""
    return int(pc.sum(pc.less(table.column("open_minor"), 0)).as_py() or 0)


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = to_decimal(text, field=option)
    except (TypeError, ValueError):
        raise ValueError(f"{option}: {text!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{option}: must not be negative")
    return value


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    bank: Annotated[
        list[Path] | None,
        typer.Option("--bank", metavar="FILE", help=f"Bank file, repeatable: {BANK_FORMATS}."),
    ] = None,
    invoices: Annotated[Path | None, typer.Option("--invoices", help="Open invoices CSV.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the results.")] = None,
    customers: CustomersOption = None,
    short_pay_percent: ShortPayPercentOption = "3",
    short_pay_fixed: ShortPayFixedOption = "0",
    state_url: StateUrlOption = None,
    dates: DatesOption = None,
    remittance: RemittanceOption = None,
) -> None:
    """Match bank receipts to open invoices (with --bank, --invoices, --out), or work the
    suggestions of a saved run (sub-commands)."""
    given = [
        o
        for o, v in (
            ("--bank", bank),
            ("--remittance", remittance),
            ("--invoices", invoices),
            ("--out", out),
            ("--dates", dates),
        )
        if v
    ]
    if ctx.invoked_subcommand is not None:
        if given:
            typer.echo(
                f"error: {', '.join(given)} belong to a matching run, not to a sub-command",
                err=True,
            )
            raise typer.Exit(2)
        return
    if not bank or invoices is None or out is None:
        missing = [o for o in ("--bank", "--invoices", "--out") if o not in given]
        typer.echo(f"error: missing {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    cash(
        bank,
        invoices,
        out,
        customers,
        short_pay_percent,
        short_pay_fixed,
        state_url,
        dates,
        remittance,
    )


def _decide(
    run: Path, proposal: str, decision: Decision, actor: str, note: str | None, url: str
) -> None:
    try:
        saved, prop = find_proposal(load_runs(run), proposal)
    except BillbridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    store = Store(url)
    try:
        record_decision(store, prop, decision, actor, note=note, run_id=saved.run_id)
    finally:
        store.close()
    invoices = ", ".join(f"{a.invoice_number} {a.amount.amount}" for a in prop.applications)
    typer.echo(
        f"{decision.value} {prop.proposal_id[:12]} ({prop.status.value}, {prop.rule.value} "
        f"{prop.confidence}): line {prop.line_id} -> {invoices}; by {actor}"
    )


@app.command()
def accept(
    proposal: Annotated[str, typer.Argument(help="Proposal id (or an 8+ character prefix).")],
    run: RunOpt,
    actor: Actor,
    note: Note = None,
    state_url: StateUrl = DEFAULT_URL,
) -> None:
    """Accept a suggested application: the cash sync job will write it (audited)."""
    _decide(run, proposal, Decision.ACCEPTED, actor, note, state_url)


@app.command()
def reject(
    proposal: Annotated[str, typer.Argument(help="Proposal id (or an 8+ character prefix).")],
    run: RunOpt,
    actor: Actor,
    note: Note = None,
    state_url: StateUrl = DEFAULT_URL,
) -> None:
    """Reject a proposal: never written, and not proposed again on the next run (audited)."""
    _decide(run, proposal, Decision.REJECTED, actor, note, state_url)


@app.command()
def proposals(
    run: RunOpt,
    state_url: StateUrl = DEFAULT_URL,
    status: Annotated[
        str | None, typer.Option("--status", help="auto or suggested (default: both).")
    ] = None,
) -> None:
    """List a saved run's proposals, their rule, confidence and decision."""
    try:
        runs = load_runs(run)
    except BillbridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    props = [p for r in runs for p in r.proposals() if status is None or p.status.value == status]
    store = Store(state_url)
    try:
        decisions = decisions_for(store, [p.proposal_id for p in props])
    finally:
        store.close()
    table = Table("proposal", "line", "customer", "status", "rule", "conf.", "applied", "decision")
    for p in props:
        d = decisions.get(p.proposal_id)
        table.add_row(
            p.proposal_id[:12],
            p.line_id,
            p.customer_id,
            p.status.value,
            p.rule.value,
            str(p.confidence),
            ", ".join(f"{a.invoice_number} {a.amount.amount}" for a in p.applications),
            f"{d.decision.value} by {d.actor}" if d else "",
        )
    Console(width=int(os.environ.get("COLUMNS", "160"))).print(table)
    if not props:
        typer.echo(f"no proposals in {run} ({RUN_FILE})")
