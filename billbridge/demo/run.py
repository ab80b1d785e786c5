"""``billbridge demo``: load, reconcile, store, report, summarise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from billbridge.demo.pipeline import SECTIONS, load_exports, reconcile_all
from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from reconcile.exceptions import ExceptionStore, RunDelta
from reconcile.reports import Report, report_from_store, write_report_files


def run_demo(
    *, out_dir: Path, state_url: str, interactive: bool = False, now: datetime | None = None
) -> tuple[Report, dict[str, RunDelta]]:
    now = now or datetime.now(UTC)
    run_id = f"demo-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    console = Console(stderr=True, quiet=not interactive)
    store = Store(state_url)
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as progress:
            task = progress.add_task("Reading exports through their mapping specs", total=4)
            loaded = load_exports()
            progress.update(task, advance=1, description="Reconciling")
            results = reconcile_all(loaded)
            progress.update(task, advance=1, description="Storing exceptions")
            exceptions = ExceptionStore(store)
            deltas = {
                name: exceptions.record_run(name, run_id, cands, now)
                for name, (cands, _summary) in results.items()
            }
            with store.session() as s:
                s.add(
                    RunLogRow(
                        run_id=run_id,
                        job="demo",
                        kind="reconcile",
                        event="finished",
                        at=now,
                        counts={name: len(c) for name, (c, _s) in results.items()},
                        mapping_versions=loaded.mapping_versions,
                    )
                )
            progress.update(task, advance=1, description="Writing the report")
            report = report_from_store(
                exceptions,
                SECTIONS,
                title="billbridge demo: AR exceptions",
                now=now,
                run_id=run_id,
                summaries={n: s for n, (_c, s) in results.items()},
            )
            written = write_report_files(report, out_dir, csv_files=True)
            progress.update(task, advance=1)
    finally:
        store.close()
    if interactive:
        _print_summary(console, report, deltas, written, state_url, loaded.errors)
    return report, deltas


def _print_summary(
    console: Console,
    report: Report,
    deltas: dict[str, RunDelta],
    written: list[Path],
    state_url: str,
    errors: list[str],
) -> None:
    out = Console()
    table = Table(title="billbridge demo: reconciliation summary")
    for col in ("reconciliation", "open", "new", "still open", "changed", "resolved", "reopened"):
        table.add_column(col, justify="left" if col == "reconciliation" else "right")
    for section in report.sections:
        d = deltas[section.name]
        table.add_row(
            section.title,
            str(len(section.open_items)),
            str(len(d.new)),
            str(len(d.still_open)),
            str(len(d.changed)),
            str(len(d.resolved_by_data)),
            str(len(d.reopened)),
        )
    out.print(table)
    for error in errors:
        console.print(f"[yellow]record rejected by its mapping:[/yellow] {error}")
    out.print(f"State store: {state_url}")
    for path in written:
        out.print(f"Wrote {path}")
