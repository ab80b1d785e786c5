"""``billbridge feeds parse|import``: look at a feed file, or import files into the state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from billbridge.errors import ParseError
from connectors.feeds.detect import FORMATS
from connectors.feeds.model import FeedResult

app = typer.Typer(help="Bank statement and EDI feed files.", no_args_is_help=True)
STATE_ENV = "BILLBRIDGE_STATE_URL"
DEFAULT_STATE_URL = "sqlite:///billbridge-state.db"
EXIT_PARSE_ERROR = 2


def records(result: FeedResult) -> list[dict[str, Any]]:
    """One flat object per bank transaction, remittance line, invoice and acknowledgement.

    Amounts are strings with their currency next to them (never floats).
    """
    out: list[dict[str, Any]] = []
    for stmt in result.statements:
        for tx in stmt.transactions:
            out.append({
                "kind": "bank_transaction", "format": result.format, "account_id": tx.account_id,
                "statement_id": tx.statement_id, "booking_date": _iso(tx.booking_date),
                "value_date": _iso(tx.value_date), "amount": str(tx.amount.amount),
                "currency": tx.amount.currency, "status": tx.status.value,
                "reversal": tx.reversal, "type_code": tx.type_code,
                "bank_reference": tx.bank_reference, "customer_reference": tx.customer_reference,
                "end_to_end_id": tx.end_to_end_id, "counterparty_name": tx.counterparty_name,
                "counterparty_account": tx.counterparty_account,
                "remittance_text": tx.remittance_text, "references": list(tx.references),
                "line": tx.provenance.line if tx.provenance else None,
            })  # fmt: skip
    for rem in result.remittances:
        for line in rem.lines:
            out.append({
                "kind": "remittance_line", "format": result.format,
                "trace_number": rem.trace_number, "payer_name": rem.payer_name,
                "payment_date": _iso(rem.payment_date), "total": str(rem.total.amount),
                "document_type": line.document_type, "document_number": line.document_number,
                "paid": str(line.paid.amount), "currency": line.paid.currency,
                "gross": str(line.gross.amount) if line.gross else None,
                "discount": str(line.discount.amount) if line.discount else None,
                "line": line.provenance.line if line.provenance else
                (rem.provenance.line if rem.provenance else None),
            })  # fmt: skip
    for inv in result.invoices:
        out.append({
            "kind": "invoice", "format": result.format, "number": inv.number,
            "customer_id": inv.customer_id, "issue_date": _iso(inv.issue_date),
            "total": str(inv.total.amount), "currency": inv.currency, "lines": len(inv.lines),
            "line": inv.provenance.line if inv.provenance else None,
        })  # fmt: skip
    for ack in result.acknowledgements:
        out.append({"kind": "acknowledgement", "format": result.format, **ack.model_dump()})
    return out


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(path: str, result: FeedResult) -> str:
    return (
        f"{path}: {result.format}, {len(result.statements)} statements, "
        f"{len(result.transactions)} transactions, {len(result.remittances)} remittances, "
        f"{len(result.invoices)} invoices, {len(result.warnings)} warnings"
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
    """Parse FILE and print its records; nothing is stored."""
    from connectors.feeds.registry import parse_bytes

    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}", param_hint="--format")
    try:
        result = parse_bytes(
            file.read_bytes(), file_name=str(file), fmt=fmt, **_options(profile, strict)
        )
    except ParseError as exc:
        typer.echo(f"parse error: {exc}", err=True)
        raise typer.Exit(EXIT_PARSE_ERROR) from None
    for rec in records(result):
        if as_json:
            typer.echo(json.dumps(rec, ensure_ascii=False))
        else:
            typer.echo(_line(rec))
    for warning in result.warnings:
        where = f" (line {warning.line})" if warning.line else ""
        typer.echo(f"warning {warning.code}{where}: {warning.message}", err=True)
    typer.echo(_summary(str(file), result), err=True)


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
