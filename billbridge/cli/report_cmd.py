"""``billbridge report render|send``: the AR exception report from the state store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import select

from billbridge import logs
from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.db import StateStoreUnavailable
from billbridge.state.schema import ExceptionRow
from config.loader import load_config
from config.model import BillbridgeConfig
from reconcile.configured import recorded_name
from reconcile.exceptions import ExceptionStore
from reconcile.exceptions.display import known_kinds
from reconcile.exceptions.queries import resolve_recon_names
from reconcile.reports import (
    DeliveryError,
    Report,
    deliver,
    report_from_store,
    section_title,
    write_report_files,
)
from reconcile.reports.render import OutputDirError, check_out_dir

app = typer.Typer(no_args_is_help=True)
_CONFIG = typer.Option(None, "--config", "-c", envvar="BILLBRIDGE_CONFIG", help="Config file.")
_RECON = typer.Option(None, "--recon", "-r", help="Only these reconciliations (repeatable).")
_STATE_URL = typer.Option(
    None,
    "--state-url",
    envvar="BILLBRIDGE_STATE_URL",
    help="State store URL (before the config's state.url).",
)


def _cli_report(
    config_path: Path | None, recon: list[str] | None, state_url: str | None
) -> tuple[BillbridgeConfig, Report]:
    """The config and the report of the render/send commands: one line and exit 2 when the
    config is wrong or the state store does not exist (never created here)."""
    try:
        config = load_config(config_path)
        return config, build_report(config, recon, state_url=state_url, create=False)
    except (ConfigError, StateStoreUnavailable) as exc:
        typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
        raise typer.Exit(2) from None


def build_report(
    config: BillbridgeConfig,
    recons: list[str] | None = None,
    now: datetime | None = None,
    *,
    state_url: str | None = None,
    create: bool = True,
) -> Report:
    """The report over every reconciliation with exceptions (or the ones named), from
    ``state_url`` (default: the config's). ``create=False``: refuse a SQLite store file
    that does not exist instead of reporting from a new, empty one."""
    now = now or datetime.now(UTC)
    store = Store(state_url or config.state.url, create=create)
    try:
        xs = ExceptionStore(store)
        # suppressions expired since the last run end now (audited), so the report does
        # not show those exceptions as still suppressed
        xs.expire_suppressions(now)
        # the config's keys as the names their runs are recorded under; names given are
        # config keys or recorded names, and an unknown one is an error (not an empty report)
        if recons:
            names = list(dict.fromkeys(resolve_recon_names(recons, xs.recon_names(), config)))
        else:
            names = list(dict.fromkeys(recorded_name(config, k) for k in config.reconciliations))
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
        sections = [(n, section_title(n)) for n in names]
        return report_from_store(
            xs,
            sections,
            title="AR reconciliation exceptions",
            now=now,
            # "resolved since last run": each recon's own latest run, from the run log
            run_ids=xs.latest_run_ids(names),
            # each run's own amount fields first: a --definitions or UAT recon is in no config
            kinds={**known_kinds(config), **xs.recorded_kinds(names)},
        )
    finally:
        store.close()


@app.command("render")
def render(
    out: Path = typer.Option(Path("billbridge-out"), "--out", help="Folder to write into."),
    recon: list[str] | None = _RECON,
    csv_files: bool = typer.Option(False, "--csv", help="Also a CSV per reconciliation."),
    config: Path | None = _CONFIG,
    state_url: str | None = _STATE_URL,
) -> None:
    """Write report.html and exceptions.xlsx without sending anything."""
    try:
        check_out_dir(out)  # before the store is read
        _, report = _cli_report(config, recon, state_url)
        written = write_report_files(report, out, csv_files=csv_files)
    except OutputDirError as exc:
        typer.echo(f"error: --out {exc}", err=True)
        raise typer.Exit(2) from None
    for path in written:
        typer.echo(f"wrote {path}")


@app.command("send")
def send(
    recon: list[str] | None = _RECON,
    config: Path | None = _CONFIG,
    state_url: str | None = _STATE_URL,
) -> None:
    """E-mail the report to the configured AR recipients (or write an .eml file when no
    SMTP server is configured). Exit 1 when a recipient did not get it."""
    cfg, report = _cli_report(config, recon, state_url)
    try:
        typer.echo(deliver(report, cfg.reports))
    except DeliveryError as exc:
        # exit 1: a configured recipient did not get the report
        typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
        raise typer.Exit(1) from None
