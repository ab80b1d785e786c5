"""``billbridge feeds parse|import``: look at a feed file, or import files into the state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billbridge.errors import ParseError
from canonical import BankStatement, Invoice, Remittance
from connectors.feeds.detect import FORMATS
from connectors.feeds.model import FeedResult

if TYPE_CHECKING:
    from connectors.feeds.stream import Item

app = typer.Typer(help="Bank statement and EDI feed files.", no_args_is_help=True)
STATE_ENV = "BILLBRIDGE_STATE_URL"
DEFAULT_STATE_URL = "sqlite:///billbridge-state.db"
EXIT_PARSE_ERROR = 2


def item_records(fmt: str, item: Item) -> list[dict[str, Any]]:
    """Flat objects for one parsed item: one per bank transaction of a statement, per
    remittance line, per invoice, per acknowledgement. Amounts are strings (never floats)
    with their currency next to them."""
    if isinstance(item, BankStatement):
        return [
            {
                "kind": "bank_transaction", "format": fmt, "account_id": tx.account_id,
                "statement_id": tx.statement_id, "booking_date": _iso(tx.booking_date),
                "value_date": _iso(tx.value_date), "amount": str(tx.amount.amount),
                "currency": tx.amount.currency, "status": tx.status.value,
                "reversal": tx.reversal, "type_code": tx.type_code,
                "bank_reference": tx.bank_reference, "customer_reference": tx.customer_reference,
                "end_to_end_id": tx.end_to_end_id, "counterparty_name": tx.counterparty_name,
                "counterparty_account": tx.counterparty_account,
                "remittance_text": tx.remittance_text, "references": list(tx.references),
                "line": tx.provenance.line if tx.provenance else None,
            }
            for tx in item.transactions
        ]  # fmt: skip
    if isinstance(item, Remittance):
        rem = item
        return [
            {
                "kind": "remittance_line", "format": fmt,
                "trace_number": rem.trace_number, "payer_name": rem.payer_name,
                "payment_date": _iso(rem.payment_date), "total": str(rem.total.amount),
                "document_type": line.document_type, "document_number": line.document_number,
                "paid": str(line.paid.amount), "currency": line.paid.currency,
                "gross": str(line.gross.amount) if line.gross else None,
                "discount": str(line.discount.amount) if line.discount else None,
                "line": line.provenance.line if line.provenance else
                (rem.provenance.line if rem.provenance else None),
            }
            for line in rem.lines
        ]  # fmt: skip
    if isinstance(item, Invoice):
        return [{
            "kind": "invoice", "format": fmt, "number": item.number,
            "customer_id": item.customer_id, "issue_date": _iso(item.issue_date),
            "total": str(item.total.amount), "currency": item.currency,
            "lines": len(item.lines), "line": item.provenance.line if item.provenance else None,
        }]  # fmt: skip
    return [{"kind": "acknowledgement", "format": fmt, **item.model_dump()}]


def records(result: FeedResult) -> list[dict[str, Any]]:
    """:func:`item_records` for every item of a parsed file, statements first."""
    items: list[Item] = [*result.statements, *result.remittances, *result.invoices]
    items.extend(result.acknowledgements)
    return [rec for item in items for rec in item_records(result.format, item)]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(path: str, fmt: str, counts: dict[str, int], warnings: int) -> str:
    return (
        f"{path}: {fmt}, {counts['statements']} statements, "
        f"{counts['transactions']} transactions, {counts['remittances']} remittances, "
        f"{counts['invoices']} invoices, {warnings} warnings"
    )


def _options(profile: Path | None, strict: bool | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if profile is not None:
        options["profile"] = str(profile)
    if strict is not None:
        options["strict"] = strict
    return options


@app.command("parse")
def parse_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[str, typer.Option("--format", help="auto or " + "|".join(FORMATS))] = "auto",
    profile: Annotated[Path | None, typer.Option(help="bank profile (CSV/lockbox) YAML")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout")] = False,
    strict: Annotated[bool | None, typer.Option("--strict/--lenient")] = None,
) -> None:
    """Parse FILE and print its records; nothing is stored (BAI2/camt stream)."""
    from connectors.feeds.stream import open_feed

    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}", param_hint="--format")
    counts = dict.fromkeys(("statements", "transactions", "remittances", "invoices"), 0)
    try:
        stream = open_feed(
            file.read_bytes(), file_name=str(file), fmt=fmt, **_options(profile, strict)
        )
        for item in stream.items():
            _count(counts, item)
            for rec in item_records(stream.format, item):
                typer.echo(json.dumps(rec, ensure_ascii=False) if as_json else _line(rec))
    except ParseError as exc:
        typer.echo(f"parse error: {exc}", err=True)
        raise typer.Exit(EXIT_PARSE_ERROR) from None
    for warning in stream.warnings:
        where = f" (line {warning.line})" if warning.line else ""
        typer.echo(f"warning {warning.code}{where}: {warning.message}", err=True)
    typer.echo(_summary(str(file), stream.format, counts, len(stream.warnings)), err=True)


def _count(counts: dict[str, int], item: Item) -> None:
    if isinstance(item, BankStatement):
        counts["statements"] += 1
        counts["transactions"] += len(item.transactions)
    elif isinstance(item, Remittance):
        counts["remittances"] += 1
    elif isinstance(item, Invoice):
        counts["invoices"] += 1


def _line(rec: dict[str, Any]) -> str:
    if rec["kind"] == "bank_transaction":
        return (
            f"{rec['booking_date'] or '':10}  {rec['amount']:>14} {rec['currency']}  "
            f"{rec['account_id']}  {rec['bank_reference'] or '-'}  {rec['remittance_text'] or ''}"
        )
    if rec["kind"] == "remittance_line":
        return (
            f"{rec['payment_date'] or '':10}  {rec['paid']:>14} {rec['currency']}  "
            f"{rec['document_type'] or ''} {rec['document_number'] or ''}  "
            f"trace {rec['trace_number'] or '-'}"
        )
    if rec["kind"] == "invoice":
        return f"{rec['issue_date']}  {rec['total']:>14} {rec['currency']}  invoice {rec['number']}"
    return json.dumps(rec)


@app.command("import")
def import_command(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="files or drop folders")],
    state_url: Annotated[str | None, typer.Option(help=f"default ${STATE_ENV}")] = None,
    fmt: Annotated[str, typer.Option("--format")] = "auto",
    profile: Annotated[Path | None, typer.Option()] = None,
    strict: Annotated[bool | None, typer.Option("--strict/--lenient")] = None,
) -> None:
    """Import files into the state store: each file whole or not at all."""
    from billbridge.state import Store
    from connectors.feeds.importer import import_paths

    url = state_url or os.environ.get(STATE_ENV) or DEFAULT_STATE_URL
    store = Store(url)
    try:
        outcomes = import_paths(store, paths, fmt=fmt, options=_options(profile, strict))
    finally:
        store.close()
    failed = 0
    for out in outcomes:
        if out.status == "imported":
            extra = f", {len(out.exceptions)} continuity exceptions" if out.exceptions else ""
            if out.duplicate_entries:
                extra += f", {out.duplicate_entries} entries already imported (skipped)"
            for kind, n in sorted(out.duplicate_records.items()):
                extra += f", {n} {kind}s already imported (skipped)"
            typer.echo(
                f"imported {out.path}: {out.format}, {out.statements} statements, "
                f"{out.transactions} transactions, {out.remittances} remittances, "
                f"{out.invoices} invoices{extra}"
            )
        elif out.status == "duplicate":
            typer.echo(f"skipped {out.path}: {out.message}")
        else:
            failed += 1
            typer.echo(f"failed {out.path}: {out.message}", err=True)
    typer.echo(f"{len(outcomes)} files, {failed} failed", err=True)
    if failed:
        raise typer.Exit(EXIT_PARSE_ERROR)
