"""Rich rendering for the mappings commands: preview, diff and validation problems."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mappings.diff import RecordDiff, flatten
from mappings.engine import MappingResult
from mappings.paths import root_field
from mappings.transforms import to_text

MAX_CELL = 60


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list | tuple):
        text = json.dumps(value, default=str)
    elif isinstance(value, Decimal):
        text = str(value)  # keep the scale: 2500.00 is not 2500
    else:
        text = to_text(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _source_table(source: Mapping[str, Any], result: MappingResult) -> Table:
    """The source fields the spec's rules read (top level), with their values."""
    read = []
    for step in result.trace:
        for path in step.sources:
            name = root_field(path)
            if name and name not in read and name in source:
                read.append(name)
    table = Table(title="source", show_header=True, expand=True)
    table.add_column("field", style="cyan")
    table.add_column("value")
    for name in read or list(source)[:20]:
        table.add_row(name, _short(source.get(name)))
    return table


def _result_table(result: MappingResult) -> Table:
    table = Table(title="result", show_header=True, expand=True)
    table.add_column("field", style="green")
    table.add_column("value")
    if result.value is not None:
        value = result.value
        data = value.model_dump() if isinstance(value, BaseModel) else value
        for name, item in flatten(data).items():
            if item is None or name.startswith(("provenance", "source_system")):
                continue
            table.add_row(name, _short(item))
    return table


def _trace_table(result: MappingResult) -> Table:
    table = Table(title="rules", show_header=True, expand=True)
    for column in ("target", "rule at", "read", "did", "produced"):
        table.add_column(column)
    for step in result.trace:
        style = "red" if step.action.startswith("failed") else None
        table.add_row(
            step.target,
            step.location.rsplit("/", 1)[-1],
            _short(step.input),
            step.action,
            _short(step.output),
            style=style,
        )
    return table


def render_preview(
    console: Console,
    results: Sequence[MappingResult],
    sources: Sequence[Mapping[str, Any]],
    *,
    show_rules: bool = True,
) -> None:
    for result, source in zip(results, sources, strict=True):
        if result.error is not None:
            status, style = "FAILED", "red"
        elif result.skipped:
            status, style = "SKIPPED", "yellow"
        else:
            status, style = "OK", "green"
        title = Text.assemble((status, style), f"  {result.where or ''}  id={result.source_id}")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(_source_table(source, result), _result_table(result))
        parts: list[Any] = [grid]
        if show_rules:
            parts.append(_trace_table(result))
        if result.error is not None:
            parts.append(Text("\n".join(str(i) for i in result.error.issues), style="red"))
        if result.skipped:
            parts.append(Text(f"skipped by {result.skipped}", style="yellow"))
        console.print(Panel(Group(*parts), title=title, title_align="left"))
    failed = [r for r in results if r.error is not None]
    console.print(
        f"{len(results)} record(s): {len(results) - len(failed)} mapped or skipped, "
        f"{len(failed)} failed"
    )
    for result in failed:
        assert result.error is not None
        console.print(Text(str(result.error), style="red"))


def render_diff(console: Console, diffs: Sequence[RecordDiff]) -> None:
    changed = [d for d in diffs if d.changed]
    for record in changed:
        table = Table(title=f"{record.key}  ({record.where})", expand=True, title_justify="left")
        table.add_column("field", style="cyan")
        table.add_column("before")
        table.add_column("after")
        for name, (before, after) in record.changes.items():
            table.add_row(name, _short(before), _short(after))
        if record.before_error != record.after_error:
            table.add_row("(error)", record.before_error or "—", record.after_error or "—")
        console.print(table)
    console.print(f"{len(changed)} of {len(diffs)} record(s) change")
