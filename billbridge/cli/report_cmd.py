"""``billbridge report render|send``: the AR exception report from the state store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import ExceptionRow
from config.loader import load_config
from config.model import BillbridgeConfig
from reconcile.exceptions import ExceptionStore
from reconcile.reports import Report, deliver, report_from_store, write_report_files

app = typer.Typer(no_args_is_help=True)
_CONFIG = typer.Option(None, "--config", "-c", envvar="BILLBRIDGE_CONFIG", help="Config file.")
_RECON = typer.Option(None, "--recon", "-r", help="Only these reconciliations (repeatable).")


def build_report(
    config: BillbridgeConfig, recons: list[str] | None = None, now: datetime | None = None
) -> Report:
    """The report over every reconciliation with exceptions (or the ones named)."""
    now = now or datetime.now(UTC)
    store = Store(config.state.url)
    try:
        names = recons or list(config.reconciliations)
        if not names:
            with store.session() as s:
                names = sorted(s.scalars(select(ExceptionRow.recon).distinct()))
        with store.session() as s:
            # sync jobs' rejected writes go on the report too (dead letters lead it)
            names += sorted(
                n
                for n in s.scalars(select(ExceptionRow.recon).distinct())
                if n.startswith("sync:") and n not in names
            )
        sections = [(n, _title(n)) for n in names]
        xs = ExceptionStore(store)
        return report_from_store(
            xs,
            sections,
            title="AR reconciliation exceptions",
            now=now,
            # "resolved since last run": each recon's own latest run, from the run log
            run_ids=xs.latest_run_ids(names),
        )
    finally:
        store.close()


def _title(recon: str) -> str:
    if recon.startswith("sync:"):
        return f"Sync job {recon.removeprefix('sync:')}: rejected writes"
    return recon.replace("_", " ").capitalize()


@app.command("render")
def render(
    out: Path = typer.Option(Path("billbridge-out"), "--out", help="Folder to write into."),
    recon: list[str] | None = _RECON,
    csv_files: bool = typer.Option(False, "--csv", help="Also a CSV per reconciliation."),
    config: Path | None = _CONFIG,
) -> None:
    """Write report.html and exceptions.xlsx without sending anything."""
    report = build_report(load_config(config), recon)
    for path in write_report_files(report, out, csv_files=csv_files):
        typer.echo(f"wrote {path}")


@app.command("send")
def send(recon: list[str] | None = _RECON, config: Path | None = _CONFIG) -> None:
    """E-mail the report to the configured AR recipients (or write an .eml file when no
    SMTP server is configured)."""
    cfg = load_config(config)
    report = build_report(cfg, recon)
    typer.echo(deliver(report, cfg.reports))
