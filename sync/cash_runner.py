"""One run of a cash-application job, through the same write protocol as the record jobs.

The runner of record jobs (:func:`sync.runner.run_job`) reads a source connection and
diffs snapshots; a cash job has neither: its "source" is the saved cash runs and the
decisions on them (:mod:`sync.cash_plan`), and the outbox itself remembers what was
planned (the idempotency key of a payment is the bank line plus what it applies, so a
re-plan finds it there). Everything after planning is the shared machinery: the job lease,
the outbox (``pending`` committed before any call, ``sent`` before each batch leaves,
outcomes after), :class:`sync.sending.Sender` for batches, retries, read-before-retry
(the connector's ``find_applied``) and dead letters, and the run log.

``apply`` with a saved plan applies exactly that plan and refuses it when the runs or the
decisions changed since (a new acceptance, a rejection, a re-matched line).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import structlog

from billbridge.state import Store
from canonical import WriteIntent
from connectors.base import Connector
from sync import outbox, runlog
from sync.cash_plan import CASH_MAPPING_VERSION, build_cash_plan
from sync.leases import Lease
from sync.planner import Plan
from sync.runner import RunReport, check_fresh
from sync.sending import FaultHook, Sender, StopFlag
from sync.settings import SyncJobSettings

log = structlog.get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_cash_job(
    job: SyncJobSettings,
    *,
    target: Connector,
    store: Store,
    mode: Literal["plan", "apply"],
    plan: Plan | None = None,
    now: Callable[[], datetime] = _utcnow,
    fault_hook: FaultHook | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop_event: StopFlag | None = None,
    holder: str | None = None,
    run_id: str | None = None,
) -> RunReport:
    """Plan (read-only) or apply one run of a ``cash_application`` job."""
    if job.kind != "cash_application":
        raise ValueError(f"job {job.name} is not a cash_application job")
    run = _CashRun(job, target, store, now, fault_hook, sleep, stop_event, run_id)
    if mode == "plan":
        return run.report(run.fresh_plan(resumed=run.open_intents()), "plan")
    if mode != "apply":
        raise ValueError(f"mode must be 'plan' or 'apply', not {mode!r}")
    with Lease(store, job.name, ttl=job.lease_ttl, holder=holder, clock=now) as lease:
        run.sender.lease = lease
        return run.apply(plan)


class _CashRun:
    def __init__(
        self,
        job: SyncJobSettings,
        target: Connector,
        store: Store,
        now: Callable[[], datetime],
        hook: FaultHook | None,
        sleep: Callable[[float], None],
        stop: StopFlag | None,
        run_id: str | None,
    ) -> None:
        self.job, self.store, self.now = job, store, now
        self.run_id = run_id or uuid.uuid4().hex
        self.sender = Sender(
            job, target, store, now=now, hook=hook, sleep=sleep, stop=stop, run_id=self.run_id
        )
        self.started = now()
        self.t0 = time.monotonic()

    def fresh_plan(self, *, resumed: list[WriteIntent]) -> Plan:
        return build_cash_plan(self.job, self.store, created_at=self.now(), resumed=resumed)

    def open_intents(self) -> list[WriteIntent]:
        with self.store.session() as s:
            return [outbox.to_intent(r) for r in outbox.open_rows(s, self.job.name)]

    def report(self, plan: Plan, mode: str) -> RunReport:
        snd = self.sender
        return RunReport(
            run_id=self.run_id,
            job=self.job.name,
            mode=mode,
            plan=plan,
            started_at=self.started,
            finished_at=self.now(),
            counts=snd.counts,
            api_calls=snd.api_calls,
            cursor_advanced=False,  # a cash job has no cursor: the outbox is its memory
            stopped=snd.stopped,
        )

    def log_event(self, event: str, *, counts: dict[str, object], message: str | None) -> None:
        lease = self.sender.lease
        runlog.append(
            self.store,
            run_id=self.run_id,
            job=self.job.name,
            event=event,
            at=self.now(),
            counts=counts,
            mapping_versions={"payment": CASH_MAPPING_VERSION},
            holder=lease.holder if lease else None,
            message=message,
        )

    def apply(self, saved: Plan | None) -> RunReport:
        snd = self.sender
        snd.step("lease")
        self.log_event("started", counts={}, message=None)
        try:
            commit = True
            if saved is None:
                snd.drain()  # finish earlier runs' payments before planning new ones
                snd.step("resumed")
                plan = self.fresh_plan(resumed=[])
            elif self._committed_before(saved):
                plan, commit = saved, False  # applying a plan twice equals applying it once
                snd.counts["plan_already_committed"] = 1
            else:
                _check_fresh(saved, self.fresh_plan(resumed=self.open_intents()))
                plan = saved
                snd.drain()
                snd.step("resumed")
            if commit:
                self._commit(plan)
                snd.step("planned")
            snd.drain()
            with self.store.session() as s:
                snd.counts["open_left"] = outbox.count_open(s, self.job.name)
        except Exception as exc:
            self.log_event(
                "failed", counts=dict(snd.counts), message=f"{type(exc).__name__}: {exc}"
            )
            raise
        self.log_event(
            "finished",
            counts=dict(snd.counts)
            | {"api_calls": snd.api_calls, "seconds": round(time.monotonic() - self.t0, 3)},
            message=snd.stopped,
        )
        log.info("sync.cash_run", job=self.job.name, run_id=self.run_id, **dict(snd.counts))
        return self.report(plan, "apply")

    def _committed_before(self, saved: Plan) -> bool:
        keys = [i.idempotency_key for i in saved.intents()]
        if not keys:
            return False
        with self.store.session() as s:
            return len(outbox.rows_by_key(s, keys)) == len(keys)

    def _commit(self, plan: Plan) -> None:
        """The plan's payments as ``pending``, in one transaction, before any call."""
        intents = plan.intents()
        with self.store.session() as s:
            inserted = outbox.enqueue(s, self.job.name, self.run_id, intents, self.now())
        fresh = set(inserted)
        self.sender.intents.update(
            {i.idempotency_key: i for i in intents if i.idempotency_key in fresh}
        )
        self.sender.counts["planned"] += len(inserted)
        if plan.errors:
            self.sender.counts["conflicts"] += len(plan.errors)
            log.warning("sync.cash_conflicts", job=self.job.name, count=len(plan.errors))


def _check_fresh(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan whose runs or decisions have moved on since it was signed off."""
    check_fresh(
        saved,
        fresh,
        moved_on="the cash runs or decisions have moved on",
        differ="planned payments differ (unfinished work)",
        version=lambda k, old, new: f"{k}: planned {old[:12]}, now {new[:12]}",
    )
