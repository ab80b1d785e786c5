"""``billbridge reconcile cash``: apply a bank CSV to an open-invoice CSV, write the results.

Exit codes: 0 done, 2 bad input (one line naming the file, line and column).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from billbridge.errors import ParseError
from canonical import to_decimal
from reconcile.cash.csv_io import read_bank, read_customers, read_invoices, write_results
from reconcile.cash.engine import apply_cash
from reconcile.cash.model import CashPolicy, CustomerRef


def cash(
    bank: Annotated[Path, typer.Option("--bank", help="Bank lines CSV.")],
    invoices: Annotated[Path, typer.Option("--invoices", help="Open invoices CSV.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the result CSVs.")],
    customers: Annotated[
        Path | None, typer.Option("--customers", help="Customers CSV (bank accounts).")
    ] = None,
    short_pay_percent: Annotated[
        str, typer.Option("--short-pay-percent", help="Short pay written off up to this %.")
    ] = "3",
    short_pay_fixed: Annotated[
        str, typer.Option("--short-pay-fixed", help="...or up to this amount.")
    ] = "0",
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
    try:
        lines = read_bank(bank)
        table, names_on_invoices = read_invoices(invoices)
        if customers is not None:
            refs = read_customers(customers)
        else:
            refs = [CustomerRef(c, n) for c, n in sorted(names_on_invoices.items())]
    except ParseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = apply_cash(lines, table, refs, policy=policy)
    apps, unapplied = write_results(result, out)
    kpis = result.kpis()
    typer.echo(
        f"{len(lines)} lines: {kpis.line.auto} auto, {kpis.line.suggested} suggested, "
        f"{kpis.unapplied_count} with unapplied cash; wrote {apps} and {unapplied}"
    )


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = to_decimal(text, field=option)
    except (TypeError, ValueError):
        raise ValueError(f"{option}: {text!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{option}: must not be negative")
    return value
