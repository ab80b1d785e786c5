"""``billbridge connectors check|read``."""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from billbridge import logs
from billbridge.errors import ConfigError
from config.loader import load_config
from connectors.base import Cursor
from connectors.registry import open_connection

app = typer.Typer(no_args_is_help=True)
_CONFIG = typer.Option(None, "--config", "-c", envvar="BILLBRIDGE_CONFIG", help="Config file.")


@app.command("check")
def check(name: str = typer.Argument(...), config: Path | None = _CONFIG) -> None:
    """Authenticate, probe permissions and show the remaining API budget."""
    connector = open_connection(load_config(config), name)
    report = connector.check()
    table = Table(title=f"{name} ({report.system})")
    table.add_column("check")
    table.add_column("result")
    table.add_row("authenticated", "yes" if report.authenticated else "NO")
    for perm, ok in sorted(report.permissions.items()):
        table.add_row(f"permission: {perm}", "yes" if ok else "NO")
    if report.api_budget_limit is not None:
        table.add_row("API budget used", f"{report.api_budget_used}/{report.api_budget_limit}")
    for message in report.messages:  # vendor text: it may echo a secret or token
        table.add_row("note", logs.scrub_text(message))
    Console().print(table)
    if not report.ok:
        raise typer.Exit(1)


@app.command("read")
def read(
    name: str = typer.Argument(...),
    entity: str = typer.Argument(..., help="Canonical entity, e.g. contract, invoice."),
    since: datetime | None = typer.Option(None, "--since", help="ISO timestamp with offset."),
    limit: int | None = typer.Option(None, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="JSON lines, one record each."),
    config: Path | None = _CONFIG,
) -> None:
    """Print canonical records read from a connection."""
    if since is not None and since.tzinfo is None:
        raise ConfigError("--since needs a time zone offset, e.g. 2026-01-01T00:00:00+00:00")
    connector = open_connection(load_config(config), name)
    cursor = Cursor(watermark=since) if since else None
    stream = connector.read(entity, cursor, limit=limit)
    console = Console()
    count = 0
    for record in islice(stream, limit) if limit else stream:
        count += 1
        if as_json:
            typer.echo(record.model_dump_json())
        else:
            console.print(f"[bold]{record.source_system}:{record.source_id}[/bold]", record)
    for error in stream.errors:
        typer.echo(f"rejected: {error}", err=True)
    typer.echo(f"{count} {entity} record(s), {len(stream.errors)} error(s)", err=True)
