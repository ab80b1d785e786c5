"""The nightly chain, configured in one place (``NightlySettings``): sync, reconcile, report.

The steps are injected callables (the lead wires reconciliation and reporting); this module
only decides the order, what a failure means for the rest, and what goes into the run log.
A failed sync does not stop the reconciliations by default: they are the safety net, and the
report must still go out saying what failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from billbridge.state import Store
from sync import runlog
from sync.settings import NightlySettings

log = structlog.get_logger(__name__)

#: the config the running chain was started with (``run_nightly(config=...)``): its steps
#: take only a name, and must not fall back to BILLBRIDGE_CONFIG or the defaults when
#: ``serve --config FILE`` named another file (a context variable: one per scheduler thread)
_chain_config: ContextVar[Any] = ContextVar("nightly_chain_config", default=None)


def chain_config() -> Any:
    """The config of the nightly chain running in this thread (None outside one, or when
    its caller gave none)."""
    return _chain_config.get()


@dataclass
class StepResult:
    kind: str  # sync, reconcile, report
    name: str
    ok: bool
    seconds: float
    message: str | None = None


@dataclass
class NightlyReport:
    run_id: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_nightly(
    settings: NightlySettings,
    *,
    run_id: str,
    store: Store,
    run_sync: Callable[[str], object],
    reconcile: Callable[[str], object],
    report: Callable[[NightlyReport], object],
    clock: Callable[[], datetime] = _utcnow,
    config: Any = None,
) -> NightlyReport:
    """Run every sync job, then every reconciliation, then the report (given what failed).
    ``config``: the loaded config the chain was started with; the steps read it through
    :func:`chain_config`."""
    token = _chain_config.set(config)
    try:
        return _run_chain(settings, run_id, store, run_sync, reconcile, report, clock)
    finally:
        _chain_config.reset(token)


def _run_chain(
    settings: NightlySettings,
    run_id: str,
    store: Store,
    run_sync: Callable[[str], object],
    reconcile: Callable[[str], object],
    report: Callable[[NightlyReport], object],
    clock: Callable[[], datetime],
) -> NightlyReport:
    result = NightlyReport(run_id=run_id)
    runlog.append(
        store,
        run_id=run_id,
        job="nightly",
        kind="nightly",
        event="started",
        at=clock(),
        counts={"sync": len(settings.sync_jobs), "reconcile": len(settings.reconciliations)},
    )
    stop = False
    for kind, names, step in (
        ("sync", settings.sync_jobs, run_sync),
        ("reconcile", settings.reconciliations, reconcile),
    ):
        for name in names:
            if stop:
                result.steps.append(StepResult(kind, name, False, 0.0, "not run: earlier failure"))
                continue
            outcome = _run_step(kind, name, lambda n=name, f=step: f(n))  # type: ignore[misc]
            result.steps.append(outcome)
            runlog.append(
                store,
                run_id=run_id,
                job="nightly",
                kind="nightly",
                event=f"{kind}_{'ok' if outcome.ok else 'failed'}",
                at=clock(),
                counts={"seconds": round(outcome.seconds, 3)},
                message=f"{name}: {outcome.message}" if outcome.message else name,
            )
            if not outcome.ok and not settings.continue_on_error:
                stop = True
    if settings.report:
        outcome = _run_step("report", "exception report", lambda: report(result))
        result.steps.append(outcome)
    runlog.append(
        store,
        run_id=run_id,
        job="nightly",
        kind="nightly",
        event="finished" if result.ok else "failed",
        at=clock(),
        counts={"failed": len(result.failures), "steps": len(result.steps)},
    )
    return result


def _run_step(kind: str, name: str, call: Callable[[], object]) -> StepResult:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - one failed step is reported, the chain goes on
        log.error("nightly.step_failed", kind=kind, name=name, error=type(exc).__name__)
        return StepResult(
            kind, name, False, time.monotonic() - started, f"{type(exc).__name__}: {exc}"
        )
    return StepResult(kind, name, True, time.monotonic() - started)
