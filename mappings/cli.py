"""``billbridge mappings``: validate, preview, diff specs and print their JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from billbridge import logs
from billbridge.errors import ConfigError, ParseError
from connectors.base import FieldInfo
from mappings.loader import SpecLoadError, load_spec
from mappings.model import MappingSpec
from mappings.registry import SPECS_DIR, spec_files
from mappings.samples import Samples, load_samples, run
from mappings.validate import validate_spec

app = typer.Typer(help="Validate, preview and diff mapping specs.", no_args_is_help=True)

#: Live sample provider wired by the application: (connection, spec, limit) -> source records.
LiveProvider = Callable[[str, MappingSpec, int], Iterable[Mapping[str, Any]]]
_live_provider: LiveProvider | None = None


def set_live_provider(provider: LiveProvider | None) -> None:
    """Let ``preview --live CONNECTION`` read sample records from a configured connection."""
    global _live_provider
    _live_provider = provider


@contextmanager
def _input_errors() -> Iterator[None]:
    """A spec, sample or field file that cannot be read (or parsed) is one line naming it,
    exit 2: an input error, not a finding (exit 1 is for specs with problems and records
    that fail to map)."""
    try:
        yield
    except (ConfigError, ParseError) as exc:
        typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
        raise typer.Exit(2) from None


def _read(option: str, path: Path) -> Samples:
    """Sample records from ``path``, given as ``option``; one line naming it when the file
    cannot be read."""
    try:
        return load_samples(path)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot read: {exc.strerror or exc}") from None


def _console() -> Console:
    return Console(width=160, soft_wrap=False)


def _source_fields(path: Path | None) -> list[FieldInfo] | list[str] | None:
    """Source fields from a connector description (JSON list of names or FieldInfo objects,
    as ``describe`` returns) or a sample file's header."""
    if path is None:
        return None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text())
            if all(isinstance(d, dict) for d in data):
                return [FieldInfo.model_validate(d) for d in data]
            return [str(d) for d in data]
        from connectors.files.reader import read_table

        return read_table(path).columns
    except OSError as exc:
        raise ConfigError(f"--fields {path}: cannot read: {exc.strerror or exc}") from None


@app.command()
def validate(
    path: Path = typer.Argument(SPECS_DIR, help="A spec file or a folder of specs."),
    fields: Path | None = typer.Option(
        None, "--fields", help="Source fields: a sample CSV/XLSX (its header) or a JSON list."
    ),
) -> None:
    """Check specs and report every problem at file:line:column (exit 1 on any)."""
    console = _console()
    with _input_errors():
        if not path.exists():
            raise ConfigError(f"{path}: no such spec file or folder")
        files = spec_files(path) if path.is_dir() else [path]
        source_fields = _source_fields(fields)
    problems: list[str] = []
    for file in files:
        try:
            spec = load_spec(file)
        except SpecLoadError as exc:
            problems.extend(exc.problems)
            continue
        except ConfigError as exc:  # the file cannot be read: an input error
            typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
            raise typer.Exit(2) from None
        problems.extend(str(p) for p in validate_spec(spec, source_fields=source_fields))
    for problem in problems:
        console.print(problem, style="red", highlight=False, markup=False)
    console.print(f"{len(files)} spec(s) checked, {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


def _samples(spec: MappingSpec, input_file: Path | None, live: str | None, limit: int) -> Samples:
    if live is not None:
        if _live_provider is None:
            raise ConfigError("live preview is not available: no connection provider is wired")
        rows = list(_live_provider(live, spec, limit))
        return Samples(rows, [f"{live}: record {i}" for i in range(1, len(rows) + 1)])
    if input_file is None:
        raise ConfigError("give --input FILE (or --live CONNECTION)")
    return _read("--input", input_file)


def _limited(samples: Samples, spec: MappingSpec, limit: int) -> Samples:
    if spec.rows is not None:
        return samples  # rows are grouped first; the limit applies to records
    return Samples(samples.rows[:limit], samples.locations[:limit])


@app.command()
def preview(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="The spec to apply."),
    input_file: Path | None = typer.Option(None, "--input", help="Sample JSON/JSONL/CSV/XLSX."),
    live: str | None = typer.Option(None, "--live", help="Read samples from a connection."),
    limit: int = typer.Option(10, "--limit", min=1, help="Records to show."),
    rules: bool = typer.Option(True, "--rules/--no-rules", help="Show what each rule did."),
    then: Path | None = typer.Option(
        None, "--then", help="A second spec applied to the first one's canonical records."
    ),
) -> None:
    """Apply a spec to sample records: source and result side by side, failures and why."""
    from mappings.render import render_preview

    with _input_errors():
        spec = load_spec(spec_path)
        second = load_spec(then) if then is not None else None
        samples = _limited(_samples(spec, input_file, live, limit), spec, limit)
    results = run(spec, samples)[:limit]
    sources = [
        samples.rows[r.rows[0]] if r.rows else samples.rows[i] for i, r in enumerate(results)
    ]
    console = _console()
    render_preview(console, results, sources, show_rules=rules)
    failed = any(r.error is not None for r in results)
    if second is not None:
        # e.g. Salesforce Account -> canonical Customer -> Zuora account payload
        mapped = [r for r in results if isinstance(r.value, BaseModel)]
        rows = [r.value.model_dump() for r in mapped if isinstance(r.value, BaseModel)]
        chained = Samples(rows, [f"{second.name} <- {r.where}" for r in mapped])
        console.rule(f"then {second.name}")
        results_2 = run(second, chained)
        render_preview(console, results_2, rows, show_rules=rules)
        failed = failed or any(r.error is not None for r in results_2)
    if failed:
        raise typer.Exit(1)


@app.command()
def diff(
    old: Path = typer.Argument(..., help="The spec before the change."),
    new: Path = typer.Argument(..., help="The spec after the change."),
    input_file: Path = typer.Option(..., "--input", help="Sample JSON/JSONL/CSV/XLSX."),
) -> None:
    """What a spec change does to sample records: per record, fields before -> after."""
    from mappings.diff import diff_results
    from mappings.render import render_diff

    with _input_errors():
        before_spec, after_spec = load_spec(old), load_spec(new)
        samples = _read("--input", input_file)
    diffs = diff_results(run(before_spec, samples), run(after_spec, samples))
    console = _console()
    console.print(f"version {before_spec.version[:12]} -> {after_spec.version[:12]}")
    render_diff(console, diffs)


@app.command()
def schema(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to a file."),
) -> None:
    """Print the JSON Schema of the spec language (for YAML editors)."""
    from mappings.schema import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
