"""``billbridge config validate|schema``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from config.loader import RuntimeEnv, json_schema, validate_config_file

app = typer.Typer(no_args_is_help=True)


@app.command("validate")
def validate(
    file: Path | None = typer.Argument(None, help="Config file (default: $BILLBRIDGE_CONFIG)."),
) -> None:
    """Report every problem in the config file at once, with file:line:column."""
    chosen = file or (Path(p) if (p := RuntimeEnv().config) else None)
    if chosen is None:
        typer.echo("error: name a config file or set BILLBRIDGE_CONFIG", err=True)
        raise typer.Exit(2)
    _config, problems = validate_config_file(chosen)
    if problems:
        for problem in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(problems)} problem(s) in {chosen}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{chosen}: OK")


@app.command("schema")
def schema() -> None:
    """Print the config file's JSON Schema (for editor autocompletion)."""
    typer.echo(json.dumps(json_schema(), indent=2))
