"""The write protocol (reliability doc §1.2 and §3): one sync run of one job.

Order of work in ``apply`` mode:
1. take the job lease (nothing happens without it);
2. finish unfinished intents of earlier runs (read-before-retry for ``sent`` ones);
3. read each entity since its cursor (minus the lookback), diff against the snapshots, plan;
4. commit the plan: intents as ``pending`` plus the new snapshots, in one transaction;
5. send in batches (bounded concurrency), each batch marked ``sent`` and committed before
   the call, each outcome committed after it; the cursors move in the transaction that
   makes the last open intent terminal;
6. transient failures are retried a few rounds with back-off, then left for the next run,
   and dead-lettered after ``max_attempts``.

``fault_hook(step)`` is called after every durable step (``sending.STEPS``) so tests can
crash there. Sending itself lives in :mod:`sync.sending`.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from canonical import Record, WriteIntent
from connectors.base import Connector, Cursor
from sync import cursors, outbox, runlog, snapshots, specs
from sync.events import content_hash
from sync.leases import Lease
from sync.planner import Plan, build_plan, entity_of
from sync.sending import FaultHook, Sender, StopFlag
from sync.settings import SyncJobSettings

log = structlog.get_logger(__name__)

Mode = Literal["plan", "apply"]


class PlanStale(BillbridgeError):
    """The saved plan no longer matches the source: plan again and get it signed off."""


@dataclass
class RunReport:
    run_id: str
    job: str
    mode: str
    plan: Plan
    started_at: datetime
    finished_at: datetime | None = None
    counts: Counter[str] = field(default_factory=Counter)
    api_calls: int = 0
    cursor_advanced: bool = False
    #: why the run stopped early: "budget", "stop_requested", "lease_lost"
    stopped: str | None = None

    @property
    def open_left(self) -> int:
        return self.counts["open_left"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_job(
    job: SyncJobSettings,
    *,
    source: Connector,
    target: Connector,
    store: Store,
    mode: Mode,
    plan: Plan | None = None,
    now: Callable[[], datetime] = _utcnow,
    fault_hook: FaultHook | None = None,
    mapping_versions: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    stop_event: StopFlag | None = None,
    holder: str | None = None,
    run_id: str | None = None,
) -> RunReport:
    """Plan (read-only) or apply one run of ``job``; see the module docstring."""
    if mapping_versions is None:
        mapping_versions = specs.mapping_versions(job)
    run = _Run(
        job,
        source,
        target,
        store,
        now,
        fault_hook,
        mapping_versions,
        sleep,
        stop_event,
        run_id or uuid.uuid4().hex,
    )
    if mode == "plan":
        window = run.read_window()
        return run.report_for(run.make_plan(window, resumed=run.open_intents()), "plan")
    if mode != "apply":
        raise ValueError(f"mode must be 'plan' or 'apply', not {mode!r}")
    with Lease(store, job.name, ttl=job.lease_ttl, holder=holder, clock=now) as lease:
        run.lease = lease
        return run.apply(plan)


@dataclass
class _Window:
    #: (last synced, current) for records whose content changed (or that are new)
    pairs: list[tuple[Record | None, Record]]
    cursors: dict[str, Cursor | None]
    #: content hash of each current record in ``pairs``
    hashes: dict[tuple[str, str], str] = field(default_factory=dict)


class _Run(Sender):
    def __init__(
        self,
        job: SyncJobSettings,
        source: Connector,
        target: Connector,
        store: Store,
        now: Callable[[], datetime],
        hook: FaultHook | None,
        mapping_versions: dict[str, str],
        sleep: Callable[[float], None],
        stop: StopFlag | None,
        run_id: str,
    ) -> None:
        super().__init__(
            job, target, store, now=now, hook=hook, sleep=sleep, stop=stop, run_id=run_id
        )
        self.source = source
        self.mapping_versions = mapping_versions
        self.builders = specs.payload_builders(job)
        self.started = now()
        self.t0 = time.monotonic()

    # -- small helpers -------------------------------------------------------------
    def report_for(self, plan: Plan, mode: str) -> RunReport:
        return RunReport(
            run_id=self.run_id,
            job=self.job.name,
            mode=mode,
            plan=plan,
            started_at=self.started,
            finished_at=self.now(),
            counts=self.counts,
            api_calls=self.api_calls,
            cursor_advanced=self.cursor_advanced,
            stopped=self.stopped,
        )

    def open_intents(self) -> list[WriteIntent]:
        with self.store.session() as s:
            return [outbox.to_intent(r) for r in outbox.open_rows(s, self.job.name)]

    def log_event(
        self, event: str, *, counts: Mapping[str, object] | None = None, message: str | None = None
    ) -> None:
        runlog.append(
            self.store,
            run_id=self.run_id,
            job=self.job.name,
            event=event,
            at=self.now(),
            counts=dict(counts or {}),
            mapping_versions=dict(self.mapping_versions),
            holder=self.lease.holder if self.lease else None,
            message=message,
        )

    # -- reading and planning ----------------------------------------------------------
    def read_window(self) -> _Window:
        with self.store.session() as s:
            stored = cursors.load(s, self.job.name)
        latest: dict[tuple[str, str], Record] = {}
        new_cursors: dict[str, Cursor | None] = {}
        lookback = self.job.lookback.total_seconds()
        for entity in self.job.entities:
            since = cursors.with_lookback(stored.get(entity), lookback)
            stream = self.source.read(entity, since)
            for rec in stream:
                latest[(entity_of(rec), rec.source_id)] = rec  # overlap re-reads: last wins
                self.counts["read"] += 1
            self.counts["read_errors"] += len(stream.errors)
            # A record the source could not map is not lost: its stream keeps the old
            # cursor, so it is read again until the data or the spec is fixed.
            new_cursors[entity] = None if stream.errors else stream.cursor
            if stream.errors:
                log.warning(
                    "sync.read_errors", job=self.job.name, entity=entity, count=len(stream.errors)
                )
        # Unchanged records (same content hash as the snapshot) are dropped here, before
        # their stored versions are parsed: re-reads inside the lookback cost little.
        pairs: list[tuple[Record | None, Record]] = []
        hashes: dict[tuple[str, str], str] = {}
        with self.store.session() as s:
            for kind in ("customer", "contract"):
                ids = [sid for (k, sid) in latest if k == kind]
                synced = snapshots.raw(s, self.job.name, kind, ids)
                model = snapshots.model_for(kind)
                for sid in ids:
                    after = latest[(kind, sid)]
                    entry = synced.get(sid)
                    digest = content_hash(after)
                    if entry is not None and entry[0] == digest:
                        continue
                    hashes[(kind, sid)] = digest
                    before = model.model_validate(entry[1]) if entry is not None else None
                    pairs.append((before, after))
        self.step("read")
        return _Window(pairs=pairs, cursors=new_cursors, hashes=hashes)

    def make_plan(self, window: _Window, *, resumed: list[WriteIntent]) -> Plan:
        plan = build_plan(
            self.job.name,
            self.job.target_kind,
            window.pairs,
            mapping_versions=self.mapping_versions,
            created_at=self.now(),
            resumed=resumed,
            catalog=self.job.catalog,
            builders=self.builders,
            known_changed=True,  # read_window dropped records whose content hash is unchanged
        )
        # Writes already in the outbox (e.g. a create rejected earlier, on the exception
        # report) are not new: the plan shows only what this run would add.
        with self.store.session() as s:
            known = outbox.statuses(s, [i.idempotency_key for i in plan.intents()])
        if not known:
            return plan
        changes = []
        for change in plan.changes:
            fresh = tuple(i for i in change.intents if i.idempotency_key not in known)
            if fresh:
                changes.append(change.model_copy(update={"intents": fresh}))
        return plan.model_copy(update={"changes": tuple(changes)})

    # -- apply ---------------------------------------------------------------------------
    def apply(self, saved: Plan | None) -> RunReport:
        self.step("lease")
        self.log_event("started")
        window: _Window | None
        try:
            if saved is None:
                self.drain()  # finish earlier runs' work before reading anything new
                self.step("resumed")
                window = self.read_window()
                plan = self.make_plan(window, resumed=[])
            elif self.committed_before(saved):
                # Applying a plan twice equals applying it once: only finish its writes.
                plan, window = saved, None
                self.counts["plan_already_committed"] = 1
            else:
                window = self.read_window()
                plan = self.make_plan(window, resumed=self.open_intents())
                _check_fresh(saved, plan)
                plan = saved
                self.drain()
                self.step("resumed")
            if window is not None:
                self.commit_plan(plan, window)
                self.step("planned")
            self.drain()
            with self.store.session() as s:
                self.counts["open_left"] = outbox.count_open(s, self.job.name)
                if not self.cursor_advanced and self.counts["open_left"] == 0:
                    self.advance_cursors(s)
        except Exception as exc:
            self.log_event(
                "failed", counts=dict(self.counts), message=f"{type(exc).__name__}: {exc}"
            )
            raise
        self.log_event(
            "finished",
            counts=dict(self.counts)
            | {"api_calls": self.api_calls, "seconds": round(time.monotonic() - self.t0, 3)},
            message=self.stopped,
        )
        log.info(
            "sync.run",
            job=self.job.name,
            run_id=self.run_id,
            calls=self.api_calls,
            **{k: v for k, v in self.counts.items() if v},
        )
        return self.report_for(plan, "apply")

    def committed_before(self, saved: Plan) -> bool:
        keys = [i.idempotency_key for i in saved.intents()]
        if not keys:
            return False
        with self.store.session() as s:
            return len(outbox.rows_by_key(s, keys)) == len(keys)

    def commit_plan(self, plan: Plan, window: _Window) -> None:
        intents = plan.intents()
        by_record: dict[tuple[str, str], list[str]] = {}
        for change in plan.changes:
            by_record[(change.entity, change.source_id)] = [
                i.idempotency_key for i in change.intents
            ]
        now = self.now()
        with self.store.session() as s:
            existing = outbox.statuses(s, [i.idempotency_key for i in intents])
            inserted = outbox.enqueue(s, self.job.name, self.run_id, intents, now)
            fresh = set(inserted)
            self.intents.update(
                {i.idempotency_key: i for i in intents if i.idempotency_key in fresh}
            )
            self.counts["planned"] += len(inserted)
            remember: list[tuple[str, Record, bool, str | None]] = []
            for before, after in window.pairs:
                kind = entity_of(after)
                keys = by_record.get((kind, after.source_id))
                if keys is None and before is None:
                    continue  # nothing to remember (e.g. a draft never synced)
                if any(existing.get(k) in (outbox.REJECTED, outbox.DEAD) for k in keys or []):
                    continue  # this version failed for good; keep planning from the old one
                remember.append(
                    (kind, after, before is not None, window.hashes.get((kind, after.source_id)))
                )
            snapshots.save_many(s, self.job.name, remember, run_id=self.run_id, now=now)
            # A record that does not map keeps the window open: re-read until it maps.
            self.pending_cursors = None if plan.errors else window.cursors
            if plan.errors:
                self.counts["mapping_errors"] += len(plan.errors)
                log.warning("sync.mapping_errors", job=self.job.name, count=len(plan.errors))
            if outbox.count_open(s, self.job.name) == 0:
                self.advance_cursors(s)


def _check_fresh(saved: Plan, fresh: Plan) -> None:
    """Refuse a saved plan whose source data has moved on since it was signed off."""
    if saved.job != fresh.job or saved.target_kind != fresh.target_kind:
        raise PlanStale(f"plan is for job {saved.job} ({saved.target_kind}), not {fresh.job}")
    old, new = saved.source_versions(), fresh.source_versions()
    moved = sorted(
        f"{k}: planned version {old.get(k, '-')}, source now {new.get(k, '-')}"
        for k in set(old) | set(new)
        if old.get(k) != new.get(k)
    )
    resumed_old = {i.idempotency_key for i in saved.resumed}
    resumed_new = {i.idempotency_key for i in fresh.resumed}
    if moved or saved.fingerprint() != fresh.fingerprint() or resumed_old != resumed_new:
        detail = "; ".join(moved[:10]) or "planned writes differ (mapping or unfinished work)"
        more = f" (+{len(moved) - 10} more)" if len(moved) > 10 else ""
        raise PlanStale(
            f"the saved plan for {saved.job} is out of date, source data has moved on: "
            f"{detail}{more}. Run 'billbridge sync plan {saved.job}' again."
        )
