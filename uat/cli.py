"""``billbridge uat compare SPEC``: compare a legacy and a new system per the UAT spec.

Exit codes: 0 every expectation passed, 1 an expectation failed (gates a cut-over
checklist), 2 the spec or an input is wrong (one line naming file:line and field), 3 an
internal error (a bug: neither a pass nor a failed expectation).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from billbridge.errors import BillbridgeError
from uat.entities import SourceHook

app = typer.Typer(help="UAT validation for ERP and billing migrations.", no_args_is_help=True)
console = Console()

STATE_URL_ENV = "BILLBRIDGE_STATE_URL"
#: exit codes besides 0 (all passed) and 1 (an expectation failed)
EXIT_INPUT, EXIT_INTERNAL = 2, 3
#: live source hooks by connector name (the lead wires real connectors here)
HOOKS: dict[str, SourceHook] = {}


@app.callback()
def _group() -> None:
    """UAT validation for ERP and billing migrations."""


def now() -> datetime:
    """The run clock (tests replace it)."""
    return datetime.now(UTC)


def _print(run: object) -> None:
    from uat.rootcause import merged_text
    from uat.runner import UatRun

    assert isinstance(run, UatRun)
    for warning in run.warnings:
        typer.echo(f"warning: {warning}", err=True)
    table = Table(title=f"UAT {run.spec.name}")
    for col in ("entity", "legacy", "new", "matched", "exceptions", "match rate"):
        table.add_column(col)
    for sc in run.scores:
        table.add_row(
            sc.entity, str(sc.rows_legacy), str(sc.rows_new), str(sc.matched),
            str(sc.exceptions), f"{sc.match_rate}%",
        )  # fmt: skip
    console.print(table)
    for sc in run.scores:
        p = sc.progress
        if p is not None and p.previous_rate is not None:
            typer.echo(
                f"{sc.entity}: {p.previous_rate}% → {sc.match_rate}% ({p.fixed} fixed, {p.new} new)"
            )
    for sc in run.scores:
        if sc.categories:
            counts = ", ".join(f"{n} {c}" for c, n in sc.categories.items())
            typer.echo(f"{sc.entity}: {counts}")
        if sc.at_risk:
            risk = ", ".join(f"{amount:,f} {ccy}" for ccy, amount in sorted(sc.at_risk.items()))
            typer.echo(f"{sc.entity}: amount at risk {risk}")
        for g in sc.root_causes[: run.spec.rootcause.top]:
            typer.echo(f"  {sc.entity}: {g.count} × {g.cause.label}")
        for m in sc.merges:
            new, olds = next(iter(m.all_codes.items()))
            typer.echo(
                f"  {sc.entity}: translation table {m.table!r} maps several legacy {m.field} "
                f"codes to one new code ({len(m.all_codes)} new code(s), {m.records} "
                f"record(s)), e.g. {merged_text(new, olds)}"
            )
    for x in run.expectations:
        mark = "PASS" if x.passed else "FAIL"
        typer.echo(f"{mark} {x.name}: {x.evidence}")


@app.command("compare")
def compare(
    spec: Annotated[Path, typer.Argument(help="UAT spec (YAML).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the sign-off XLSX and HTML here.")
    ] = None,
    state_url: Annotated[
        str | None,
        typer.Option(
            "--state-url",
            envvar=STATE_URL_ENV,
            help="State store URL; remembers the scorecard so a rerun shows progress.",
        ),
    ] = None,
) -> None:
    """Compare legacy and new system per entity; exit 1 when an expectation fails."""
    from billbridge.state import Store
    from uat.runner import run_uat
    from uat.signoff import write_signoff
    from uat.spec import load_spec

    store = None
    try:
        uat_spec, base = load_spec(spec)
        store = Store(state_url) if state_url else None
        run = run_uat(uat_spec, base, now=now(), store=store, hooks=HOOKS)
        written = write_signoff(run, out) if out else []
    except (BillbridgeError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from None
    except Exception as exc:  # noqa: BLE001 - a CI gate must not read a crash as "failed"
        detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        typer.echo(f"error: unexpected {type(exc).__name__}: {detail}", err=True)
        raise typer.Exit(EXIT_INTERNAL) from None
    finally:
        if store is not None:
            store.close()
    _print(run)
    for path in written:
        console.print(f"wrote {path}")
    raise typer.Exit(0 if run.passed else 1)


def register_hook(name: str, hook: Callable[[str, str], object]) -> None:
    """Make a live source available to specs as ``connector: <name>``."""
    HOOKS[name] = hook  # type: ignore[assignment]


def state_url_default() -> str | None:
    return os.environ.get(STATE_URL_ENV)
