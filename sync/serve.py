"""What ``billbridge serve`` schedules: each job with a ``schedules`` entry, and the nightly
chain. The nightly chain's reconcile and report steps are registered by the application
(:func:`register_nightly_steps`); sync steps run through the same runner as ``sync apply``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sync.nightly import NightlyReport, run_nightly
from sync.scheduler import ScheduledEntry
from sync.settings import NightlySettings, ScheduleSettings

if TYPE_CHECKING:
    from sync.cli import SyncContext

ReconcileStep = Callable[[str], object]
ReportStep = Callable[[NightlyReport], object]
_steps: dict[str, Callable[..., object]] = {}


def register_nightly_steps(*, reconcile: ReconcileStep, report: ReportStep) -> None:
    """The lead wires reconciliation (by name) and the exception report here."""
    _steps["reconcile"] = reconcile
    _steps["report"] = report


def _missing(what: str) -> Callable[..., object]:
    def fail(*_args: object) -> object:
        raise RuntimeError(f"no {what} step registered (sync.serve.register_nightly_steps)")

    return fail


def sync_runner(ctx: SyncContext, stop: threading.Event) -> Callable[[str, str], object]:
    """run(job name, run id): one apply run, stoppable between batches."""

    def run(name: str, run_id: str) -> object:
        from sync.cli import run_sync  # sync.cli imports this module for `serve`

        # same dispatch as `sync apply` (contract and cash_application jobs alike)
        return run_sync(ctx, ctx.job(name), "apply", run_id=run_id, stop_event=stop)

    return run


def _bind(run: Callable[[str, str], object], name: str) -> Callable[[str], object]:
    def call(run_id: str) -> object:
        return run(name, run_id)

    return call


def entries_from_config(ctx: SyncContext, stop: threading.Event) -> list[ScheduledEntry]:
    cfg = ctx.config
    schedules: dict[str, object] = dict(getattr(cfg, "schedules", {}) or {})
    run = sync_runner(ctx, stop)
    entries: list[ScheduledEntry] = []
    for name, raw in sorted(schedules.items()):
        if name == "nightly":
            continue
        schedule = ScheduleSettings.model_validate(raw)
        job = ctx.job(name)
        entries.append(
            ScheduledEntry.from_schedule(f"sync:{name}", schedule, _bind(run, name), job.lease_ttl)
        )
    raw_nightly = getattr(cfg, "nightly", None)
    if raw_nightly is not None:
        nightly = NightlySettings.model_validate(raw_nightly)
        schedule = (
            ScheduleSettings.model_validate(schedules["nightly"])
            if "nightly" in schedules
            else nightly.schedule
        )

        def chain(run_id: str) -> object:
            return run_nightly(
                nightly,
                run_id=run_id,
                store=ctx.store,
                run_sync=lambda n: run(n, f"{run_id[:40]}-{n}"[:64]),
                reconcile=_steps.get("reconcile") or _missing("reconcile"),
                report=_steps.get("report") or _missing("report"),
                # the steps read the config serve was started with, not BILLBRIDGE_CONFIG's
                config=ctx.config,
            )

        entries.append(ScheduledEntry.from_schedule("nightly", schedule, chain))
    return entries
