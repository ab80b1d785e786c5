"""``billbridge sync plan|apply|retry|skip|accept|release-lease|status`` and ``billbridge serve``.

Exit codes of ``apply``: 0 all writes final and good; 2 some record was rejected,
dead-lettered or needs manual handling (see the exception report), work is left for the
next run, or a cash payment was held back (its bank line's payment was already written
differently). Errors (stale plan, busy lease, configuration) exit 2 as well, through the
main app's one-line error output, which says which it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from billbridge.errors import ConfigError
from billbridge.state import Store
from connectors.base import Connector
from sync import outbox, plan_render
from sync.dead_letters import open_manual
from sync.operator import accept, redrive, release_lease, skip_intent
from sync.runner import RunReport, run_job
from sync.settings import SyncJobSettings

app = typer.Typer(
    no_args_is_help=True,
    help="Plan and apply contract changes (and approved cash applications) into billing.",
)


@dataclass
class SyncContext:
    """What the commands need; built from the config file, replaceable in tests and UAT."""

    store: Store
    job: Callable[[str], SyncJobSettings]
    connect: Callable[[str], Connector]
    mapping_versions: Callable[[SyncJobSettings], dict[str, str]]
    config: Any = None


def _from_config(path: str | None) -> SyncContext:
    from config.loader import load_config, typed_section
    from connectors.registry import open_connection

    cfg = load_config(path)

    def job(name: str) -> SyncJobSettings:
        if name not in cfg.jobs:
            known = ", ".join(sorted(cfg.jobs)) or "none configured"
            raise ConfigError(f"no sync job named {name!r} (known: {known})")
        settings = typed_section(cfg, "jobs", name)
        assert isinstance(settings, SyncJobSettings)
        return settings

    from sync.specs import mapping_versions

    return SyncContext(
        Store(cfg.state.url), job, lambda n: open_connection(cfg, n), mapping_versions, cfg
    )


_factory: Callable[[str | None], SyncContext] = _from_config


def use_context(factory: Callable[[str | None], SyncContext]) -> None:
    """Replace how commands get their store, jobs and connections (tests, UAT harness)."""
    global _factory
    _factory = factory


ConfigOpt = typer.Option(
    None,
    "--config",
    "-c",
    envvar="BILLBRIDGE_CONFIG",
    help="Config file (default: BILLBRIDGE_CONFIG).",
)


def run_sync(ctx: SyncContext, job: SyncJobSettings, mode: str, **kw: Any) -> RunReport:
    """One run of any job kind: the commands, ``serve`` and the nightly chain all come here."""
    if job.kind == "cash_application":
        # approved cash applications of saved runs, written as payments
        from sync.cash_runner import run_cash_job

        return run_cash_job(
            job,
            target=ctx.connect(job.target),
            store=ctx.store,
            mode=mode,  # type: ignore[arg-type]
            **kw,
        )
    return run_job(
        job,
        source=ctx.connect(job.source),
        target=ctx.connect(job.target),
        store=ctx.store,
        mode=mode,  # type: ignore[arg-type]
        mapping_versions=ctx.mapping_versions(job),
        **kw,
    )


@app.command()
def plan(
    job: str = typer.Argument(..., help="Sync job name from the config file."),
    out: list[Path] = typer.Option(
        [], "--out", "-o", help="Save the plan: .json (for apply) or .xlsx (sign-off)."
    ),
    config: str | None = ConfigOpt,
) -> None:
    """Show what a sync would write, like a terraform plan; writes nothing."""
    ctx = _factory(config)
    report = run_sync(ctx, ctx.job(job), "plan")
    plan_render.render(report.plan, Console())
    for path in out:
        plan_render.save(report.plan, path)
        typer.echo(f"saved {path}")


@app.command()
def apply(
    job: str = typer.Argument(..., help="Sync job name from the config file."),
    plan_file: Path | None = typer.Option(
        None, "--plan", "-p", help="Apply exactly this saved plan (JSON)."
    ),
    config: str | None = ConfigOpt,
) -> None:
    """Apply changes (or exactly a signed-off plan, refused if the source moved on)."""
    ctx = _factory(config)
    saved = plan_render.load(plan_file) if plan_file else None
    settings = ctx.job(job)
    report = run_sync(ctx, settings, "apply", plan=saved)
    c = report.counts
    cash = settings.kind == "cash_application"
    progress = (
        "no cursor"  # a cash job remembers its payments in the outbox
        if cash
        else f"cursor {'advanced' if report.cursor_advanced else 'kept'}"
    )
    typer.echo(
        f"run {report.run_id}: {c['applied']} applied, {c['already_applied']} already applied, "
        f"{c['rejected']} rejected, {c['dead']} dead, {report.open_left} left for the next run; "
        f"{report.api_calls} calls; {progress}"
        + (f"; {c['manual']} need manual handling (SYNC_MANUAL_ACTION)" if c["manual"] else "")
        + (f"; stopped: {report.stopped}" if report.stopped else "")
    )
    for held in report.plan.errors if cash else ():
        typer.echo(f"held back: {held}")
    manual = c["manual"]
    if c["rejected"] or c["dead"] or report.open_left or manual or (cash and report.plan.errors):
        raise typer.Exit(2)


@app.command()
def retry(
    intent: str = typer.Argument(..., help="Idempotency key (or an 8+ character prefix)."),
    ticket: str = typer.Option(..., "--ticket", help="Change ticket authorising the redrive."),
    actor: str = typer.Option(..., "--actor", help="Who does it."),
    note: str = typer.Option("", "--note"),
    config: str | None = ConfigOpt,
) -> None:
    """Send a dead or rejected intent again on the next run (audited)."""
    ctx = _factory(config)
    key = redrive(ctx.store, intent, actor=actor, ticket=ticket, note=note)
    typer.echo(f"intent {key[:12]} is pending again; the next run of its job sends it")


@app.command()
def skip(
    intent: str = typer.Argument(..., help="Idempotency key (or an 8+ character prefix)."),
    ticket: str = typer.Option(..., "--ticket", help="Change ticket authorising the skip."),
    actor: str = typer.Option(..., "--actor", help="Who does it."),
    note: str = typer.Option("", "--note"),
    config: str | None = ConfigOpt,
) -> None:
    """Give up on an intent for good (audited); its job's cursor can move on."""
    ctx = _factory(config)
    key = skip_intent(ctx.store, intent, actor=actor, ticket=ticket, note=note)
    typer.echo(f"intent {key[:12]} skipped")


@app.command("accept")
def accept_cmd(
    job: str = typer.Argument(..., help="Sync job name."),
    entity: str = typer.Argument(..., help="contract or customer"),
    source_id: str = typer.Argument(..., help="The record's id in the CRM."),
    ticket: str = typer.Option(..., "--ticket", help="Change ticket of the manual fix."),
    actor: str = typer.Option(..., "--actor", help="Who fixed the target."),
    note: str = typer.Option("", "--note"),
    config: str | None = ConfigOpt,
) -> None:
    """Record that the target now holds a record's change that needed manual handling
    (audited): later changes of the record are written again."""
    ctx = _factory(config)
    version, closed = accept(
        ctx.store, job, entity, source_id, actor=actor, ticket=ticket, note=note
    )
    typer.echo(
        f"{entity} {source_id}: the target is recorded as holding version {version}; its "
        f"next change is planned from it. {closed} SYNC_MANUAL_ACTION row(s) resolved."
    )


@app.command("release-lease")
def release_lease_cmd(
    job: str = typer.Argument(..., help="Sync job name."),
    ticket: str = typer.Option(..., "--ticket", help="Change ticket authorising it."),
    actor: str = typer.Option(..., "--actor", help="Who does it."),
    note: str = typer.Option("", "--note"),
    config: str | None = ConfigOpt,
) -> None:
    """Free a job's lease left by a run that died (audited). A crash on the same host is
    taken over automatically; use this when the holder ran elsewhere."""
    ctx = _factory(config)
    holder, until = release_lease(ctx.store, job, actor=actor, ticket=ticket, note=note)
    if holder is None:
        typer.echo(f"job {job} holds no lease; nothing released")
        return
    when = until.isoformat() if until else "?"
    typer.echo(
        f"released the lease of job {job} held by {holder} (until {when}). That run may be "
        "dead; if it is still alive it stops at its next lease renewal (writes stay "
        "idempotent). The next run resumes its unfinished work."
    )


@app.command()
def status(
    job: str = typer.Argument(..., help="Sync job name."),
    config: str | None = ConfigOpt,
) -> None:
    """Outbox counts per status, the intents that need attention, and the changes that
    need manual handling."""
    from sqlalchemy import func, select

    from billbridge.state.schema import OutboxIntentRow

    ctx = _factory(config)
    ctx.job(job)  # a mistyped name is an error, as in plan/apply, not "no intents"
    with ctx.store.session() as s:
        stmt = (
            select(OutboxIntentRow.status, func.count())
            .where(OutboxIntentRow.job == job)
            .group_by(OutboxIntentRow.status)
        )
        counts = {str(status): int(n) for status, n in s.execute(stmt)}
        bad = list(
            s.scalars(
                select(OutboxIntentRow)
                .where(
                    OutboxIntentRow.job == job,
                    OutboxIntentRow.status.in_((outbox.DEAD, outbox.REJECTED, *outbox.OPEN)),
                )
                .order_by(OutboxIntentRow.seq)
                .limit(50)
            )
        )
        manual = [
            (str(r.keys.get("entity")), str(r.keys.get("source_id")), dict(r.details))
            for r in open_manual(s, job)
        ]
    console = Console()
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "no intents")
    if bad:
        table = Table("key", "status", "attempts", "entity", "action", "external id")
        for row in bad:
            table.add_row(
                row.idempotency_key[:12],
                row.status,
                str(row.attempts),
                row.entity,
                row.action or row.op,
                row.external_id,
            )
        console.print(table)
    if manual:
        console.print(
            f"{len(manual)} change(s) need manual handling (SYNC_MANUAL_ACTION): fix the "
            f"target, then billbridge sync accept {job} ENTITY SOURCE_ID --ticket T --actor A"
        )
        table = Table("entity", "source id", "version", "record", "why")
        for entity, source_id, details in manual:
            table.add_row(
                entity,
                source_id,
                str(details.get("source_version") or ""),
                str(details.get("label") or ""),
                str(details.get("message") or ""),
            )
        console.print(table)


def serve(config: str | None = ConfigOpt) -> None:
    """Run every scheduled sync job and the nightly chain until SIGTERM."""
    from sync.scheduler import serve_entries
    from sync.serve import entries_from_config

    ctx = _factory(config)
    stop = threading.Event()
    entries = entries_from_config(ctx, stop)
    if not entries:
        from config.loader import RuntimeEnv

        if config is None and not RuntimeEnv().config:
            raise ConfigError(
                "no config file: pass --config FILE or set BILLBRIDGE_CONFIG (serve runs the "
                "jobs and the nightly chain its 'schedules' name)"
            )
        raise ConfigError("nothing to schedule: add a 'schedules' entry for a job or 'nightly'")
    serve_entries(entries, store=ctx.store, stop=stop)
