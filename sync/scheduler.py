"""Unattended runs: APScheduler 3.x with our own lease, slot de-duplication and run log.

APScheduler 3.x cannot share a job store between processes and ``max_instances`` is an
in-process counter, so each firing first takes the job's lease in the state store and then
checks the run log for its slot (the cron time it stands for): two ``serve`` processes, or
a manual run during a scheduled one, never run one slot twice. Jobs live in memory (no
pickled job store, nothing secret in job arguments) under stable ids with
``replace_existing=True``; ``misfire_grace_time`` is hours, not APScheduler's 1 second;
missed, failed and blocked runs are written to ``run_log`` by a listener. SIGTERM sets the
stop flag (the runner finishes its current batch, releases its lease) and shuts down.
"""

from __future__ import annotations

import hashlib
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from sync import runlog
from sync.leases import Lease, LeaseBusy, new_holder
from sync.settings import ScheduleSettings

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
LISTENED = EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES


@dataclass
class ScheduledEntry:
    """One scheduled job: a stable id, when it fires, and what it runs (given a run id)."""

    job_id: str
    trigger: BaseTrigger
    run: Callable[[str], object]
    lease_ttl: timedelta = timedelta(hours=2)
    misfire_grace_hours: float = 6.0
    coalesce: bool = True

    @classmethod
    def from_schedule(
        cls,
        job_id: str,
        schedule: ScheduleSettings,
        run: Callable[[str], object],
        lease_ttl: timedelta = timedelta(hours=2),
    ) -> ScheduledEntry:
        return cls(
            job_id,
            schedule.trigger(),
            run,
            lease_ttl,
            schedule.misfire_grace_hours,
            schedule.coalesce,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def last_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest time at or before ``now`` that ``trigger`` fires: the slot a run stands for."""
    for window in (
        timedelta(seconds=1),
        timedelta(minutes=1),
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=32),
        timedelta(days=367),
    ):
        fire = trigger.get_next_fire_time(None, now - window)
        if fire is None or fire > now:
            continue
        while True:
            nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
            if nxt is None or nxt > now:
                return fire
            fire = nxt
    return None


def slot_run_id(job_id: str, slot: datetime | None) -> str:
    stamp = slot.astimezone(UTC).isoformat() if slot else "unscheduled"
    return "s-" + hashlib.sha256(f"{job_id}\x1f{stamp}".encode()).hexdigest()[:30]


def _already_fired(store: Store, run_id: str) -> bool:
    with store.session() as s:
        stmt = (
            select(RunLogRow.id)
            .where(RunLogRow.run_id == run_id, RunLogRow.event == "fired")
            .limit(1)
        )
        return s.scalar(stmt) is not None


def fire(entry: ScheduledEntry, *, store: Store, holder: str, clock: Clock = _utcnow) -> str | None:
    """What APScheduler calls: lease, slot check, run. Returns the run id when it ran."""
    now = clock()
    slot = last_fire_time(entry.trigger, now)
    run_id = slot_run_id(entry.job_id, slot)
    try:
        lease = Lease(store, entry.job_id, ttl=entry.lease_ttl, holder=holder, clock=clock)
        lease.__enter__()
    except LeaseBusy as exc:
        log.info("schedule.busy", job=entry.job_id, run_id=run_id)
        runlog.append(
            store,
            run_id=run_id,
            job=entry.job_id,
            kind="scheduler",
            event="skipped_busy",
            at=now,
            message=str(exc),
            holder=holder,
        )
        return None
    try:
        if _already_fired(store, run_id):
            log.info("schedule.duplicate_slot", job=entry.job_id, run_id=run_id)
            return None
        runlog.append(
            store,
            run_id=run_id,
            job=entry.job_id,
            kind="scheduler",
            event="fired",
            at=now,
            holder=holder,
            message=f"slot {slot.isoformat() if slot else 'unscheduled'}",
        )
        entry.run(run_id)
        return run_id
    finally:
        lease.__exit__(None, None, None)


def build_scheduler(
    entries: list[ScheduledEntry],
    *,
    store: Store,
    holder: str | None = None,
    clock: Clock = _utcnow,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """A scheduler with every entry added under its stable id (in-memory job store)."""
    holder = holder or new_holder()
    grace = max((e.misfire_grace_hours for e in entries), default=6.0)
    sched = scheduler_cls(
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": int(grace * 3600),
            "max_instances": 1,
        },
        timezone=UTC,
    )
    sched.add_listener(_listener(store, holder, clock), LISTENED)
    for entry in entries:
        sched.add_job(
            fire,
            trigger=entry.trigger,
            args=[entry],
            kwargs={"store": store, "holder": holder, "clock": clock},
            id=entry.job_id,
            name=entry.job_id,
            replace_existing=True,
            coalesce=entry.coalesce,
            misfire_grace_time=int(entry.misfire_grace_hours * 3600),
            max_instances=1,
        )
    return sched


def _listener(store: Store, holder: str, clock: Clock) -> Callable[[SchedulerEvent], None]:
    names = {
        EVENT_JOB_MISSED: "missed",
        EVENT_JOB_ERROR: "error",
        EVENT_JOB_MAX_INSTANCES: "max_instances",
    }

    def record(event: SchedulerEvent) -> None:
        job_id = getattr(event, "job_id", "?")
        when = getattr(event, "scheduled_run_time", None)
        message = None
        if isinstance(event, JobExecutionEvent) and event.exception is not None:
            message = f"{type(event.exception).__name__}: {event.exception}"
        what = names.get(event.code, str(event.code))
        log.warning("schedule.event", job=job_id, what=what)
        try:
            runlog.append(
                store,
                run_id=slot_run_id(job_id, when),
                job=job_id,
                kind="scheduler",
                event=what,
                at=clock(),
                message=message,
                holder=holder,
            )
        except Exception as exc:  # noqa: BLE001 - a listener must never kill the scheduler
            log.error("schedule.runlog_failed", job=job_id, error=type(exc).__name__)

    return record


def install_signal_handlers(sched: BaseScheduler, stop: threading.Event) -> None:
    """SIGTERM/SIGINT: ask running jobs to stop after their current batch, then shut down."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("schedule.stopping", signal=signum)
        stop.set()
        threading.Thread(target=sched.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def serve_entries(
    entries: list[ScheduledEntry],
    *,
    store: Store,
    stop: threading.Event,
    holder: str | None = None,
) -> None:
    """Block running ``entries`` until SIGTERM/SIGINT."""
    sched = build_scheduler(entries, store=store, holder=holder)
    install_signal_handlers(sched, stop)
    log.info("schedule.serving", jobs=[e.job_id for e in entries])
    sched.start()  # blocks; returns after shutdown


def describe(sched: BaseScheduler) -> list[dict[str, Any]]:
    return [
        {"id": j.id, "next_run_time": getattr(j, "next_run_time", None)} for j in sched.get_jobs()
    ]
