"""``billbridge demo``: the product's main job end to end on bundled sample data."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    out: Path = typer.Option(Path("billbridge-out"), "--out", help="Folder for the reports."),
    state_url: str = typer.Option(
        "sqlite:///billbridge-out/billbridge-state.db",
        "--state-url",
        envvar="BILLBRIDGE_STATE_URL",
        help="State store (SQLite file by default).",
    ),
) -> None:
    """Load the sample exports, reconcile CRM vs billing and billing vs ERP, store the
    exceptions, and write an HTML report and an XLSX workbook."""
    from billbridge.demo.run import run_demo
    from reconcile.reports.render import OutputDirError, check_out_dir

    try:
        check_out_dir(out)  # before the demo runs
        run_demo(out_dir=out, state_url=state_url, interactive=True)
    except OutputDirError as exc:
        typer.echo(f"error: --out {exc}", err=True)
        raise typer.Exit(2) from None
