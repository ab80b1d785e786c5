"""The write protocol (reliability doc §1.2 and §3): one sync run of one job.

Order of work in ``apply`` mode:
1. take the job lease (nothing happens without it);
2. finish unfinished intents of earlier runs (read-before-retry for ``sent`` creates);
3. read each entity since its cursor (minus the lookback), diff against the snapshots, plan;
4. commit the plan: intents as ``pending`` plus the new snapshots, in one transaction;
5. send in batches (bounded concurrency), each batch marked ``sent`` and committed before
   the call, each outcome committed after it; the cursors move in the transaction that
   makes the last open intent terminal;
6. transient failures are retried a few rounds with back-off, then left for the next run,
   and dead-lettered after ``max_attempts``.

``fault_hook(step)`` is called after every durable step so tests can crash there.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy.orm import Session

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import Record, ResultStatus, WriteIntent, WriteResult
from connectors.base import Connector, Cursor
from sync import cursors, dead_letters, outbox, runlog, snapshots, specs
from sync.batching import PARENT_ENTITIES, BatchOutcome, send_batch, sendable
from sync.events import content_hash
from sync.leases import Lease
from sync.planner import Plan, build_plan, entity_of, is_create
from sync.settings import SyncJobSettings

log = structlog.get_logger(__name__)

Mode = Literal["plan", "apply"]
FaultHook = Callable[[str], None]
STEPS = ("lease", "resumed", "read", "planned", "looked_up", "marked_sent", "sent", "outcome")


class StopFlag(Protocol):
    """Anything with ``is_set()``, e.g. the ``threading.Event`` SIGTERM sets."""

    def is_set(self) -> bool: ...


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
    pairs: list[tuple[Record | None, Record]]
    cursors: dict[str, Cursor | None]


class _Run:
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
        self.job, self.source, self.target, self.store = job, source, target, store
        self.now, self.hook, self.sleep, self.stop = now, hook, sleep, stop
        self.mapping_versions = mapping_versions
        self.builders = specs.payload_builders(job)
        self.run_id = run_id
        self.started = now()
        self.t0 = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.api_calls = 0
        self.retries: Counter[str] = Counter()
        self.pending_cursors: dict[str, Cursor | None] | None = None
        self.cursor_advanced = False
        self.known_open: set[str] = set()
        self.stopped: str | None = None
        self.lease: Lease | None = None

    # -- small helpers -------------------------------------------------------------
    def step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

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
            new_cursors[entity] = stream.cursor
        pairs: list[tuple[Record | None, Record]] = []
        with self.store.session() as s:
            for kind in ("customer", "contract"):
                ids = [sid for (k, sid) in latest if k == kind]
                before = snapshots.load(s, self.job.name, kind, ids)
                pairs.extend((before.get(sid), latest[(kind, sid)]) for sid in ids)
        self.step("read")
        return _Window(pairs=pairs, cursors=new_cursors)

    def make_plan(self, window: _Window, *, resumed: list[WriteIntent]) -> Plan:
        return build_plan(
            self.job.name,
            self.job.target_kind,
            window.pairs,
            mapping_versions=self.mapping_versions,
            created_at=self.now(),
            resumed=resumed,
            catalog=self.job.catalog,
            builders=self.builders,
        )

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
            self.counts["planned"] += len(inserted)
            remember: list[tuple[str, Record, bool]] = []
            for before, after in window.pairs:
                kind = entity_of(after)
                keys = by_record.get((kind, after.source_id))
                if keys is None and (before is None or content_hash(before) == content_hash(after)):
                    continue  # nothing to remember (unchanged, or a draft never synced)
                if any(existing.get(k) in (outbox.REJECTED, outbox.DEAD) for k in keys or []):
                    continue  # this version failed for good; keep planning from the old one
                remember.append((kind, after, before is not None))
            snapshots.save_many(s, self.job.name, remember, run_id=self.run_id, now=now)
            # A record that does not map keeps the window open: re-read until it maps.
            self.pending_cursors = None if plan.errors else window.cursors
            if plan.errors:
                self.counts["mapping_errors"] += len(plan.errors)
                log.warning("sync.mapping_errors", job=self.job.name, count=len(plan.errors))
            if outbox.count_open(s, self.job.name) == 0:
                self.advance_cursors(s)

    def advance_cursors(self, s: Session) -> None:
        if self.pending_cursors is None:
            return
        for stream, cursor in self.pending_cursors.items():
            if cursor is not None:
                cursors.save(s, self.job.name, stream, cursor, run_id=self.run_id, now=self.now())
        self.cursor_advanced = True

    # -- sending ---------------------------------------------------------------------------
    def drain(self) -> None:
        """Send open intents round by round until none can go out in this run."""
        rounds_with_failures = 0
        while True:
            if self.should_stop():
                return
            with self.store.session() as s:
                rows = outbox.open_rows(s, self.job.name)
            status = {r.idempotency_key: r.status for r in rows}
            self.known_open = set(status)
            held = {k for k, n in self.retries.items() if n > self.job.retry_rounds}
            batches = sendable(
                [outbox.to_intent(r) for r in rows], held=held, batch_size=self.job.batch_size
            )
            if not batches:
                return
            batches = self.read_before_retry(batches, status)
            batches = self.within_budget(batches)
            if not batches:
                if self.stopped:
                    return
                continue
            failures, wait = self.send_round(batches)
            if failures:
                rounds_with_failures += 1
                self.sleep(min(wait or 0.5 * 2 ** (rounds_with_failures - 1), 30.0))

    def within_budget(self, batches: list[list[WriteIntent]]) -> list[list[WriteIntent]]:
        if self.job.budget is None:
            return batches
        left = self.job.budget - self.api_calls
        if left < len(batches):
            self.stopped = "budget"
        return batches[: max(left, 0)]

    def read_before_retry(
        self, batches: list[list[WriteIntent]], status: dict[str, str]
    ) -> list[list[WriteIntent]]:
        """An intent sent without a recorded outcome may be applied: look before resending.

        Creates are looked up by external id (``target.lookup``). Other actions are checked
        with ``target.find_applied(intents)`` when the connector offers it (Zuora: the order
        action's key custom field); otherwise they are resent with the same idempotency key,
        which the vendor replays (Zuora: within 24 h) or applies idempotently (upserts).
        """
        doubtful = [i for b in batches for i in b if status[i.idempotency_key] == outbox.SENT]
        if not doubtful:
            return batches
        done: dict[str, WriteResult] = {}
        self._lookup_creates([i for i in doubtful if is_create(i)], done)
        others = [i for i in doubtful if not is_create(i)]
        finder = getattr(self.target, "find_applied", None)
        if others and callable(finder):
            self._find_applied(finder, others, done)
        applied = [
            i
            for i in doubtful
            if i.idempotency_key in done
            and done[i.idempotency_key].status == ResultStatus.ALREADY_APPLIED
        ]
        applied_keys = {i.idempotency_key for i in applied}
        if applied:
            self.record([BatchOutcome(applied, [done[i.idempotency_key] for i in applied], 0)])
            self.step("looked_up")
        # Unverifiable intents, and later intents of the same record, wait for another round.
        held_records = {
            (i.entity, i.external_id)
            for i in doubtful
            if i.idempotency_key in done and i.idempotency_key not in applied_keys
        }
        out = [
            [
                i
                for i in b
                if i.idempotency_key not in done and (i.entity, i.external_id) not in held_records
            ]
            for b in batches
        ]
        return [b for b in out if b]

    def _hold(self, intents: list[WriteIntent], done: dict[str, WriteResult], why: str) -> None:
        log.warning("sync.verify_failed", count=len(intents), error=why)
        for i in intents:
            self.retries[i.idempotency_key] += 1
            done[i.idempotency_key] = WriteResult(
                idempotency_key=i.idempotency_key,
                status=ResultStatus.UNKNOWN,
                message=f"read-before-retry failed: {why}",
            )

    def _lookup_creates(self, creates: list[WriteIntent], done: dict[str, WriteResult]) -> None:
        by_entity: dict[str, list[WriteIntent]] = {}
        for intent in creates:
            by_entity.setdefault(intent.entity, []).append(intent)
        for entity, intents in by_entity.items():
            ids = sorted({i.external_id for i in intents})
            self.api_calls += 1
            try:
                found = self.target.lookup(entity, ids)
            except Exception as exc:  # noqa: BLE001 - cannot verify: hold, never resend blind
                self._hold(intents, done, type(exc).__name__)
                continue
            self.counts["lookups"] += len(ids)
            for i in intents:
                rec = found.get(i.external_id)
                if rec is not None:
                    done[i.idempotency_key] = WriteResult(
                        idempotency_key=i.idempotency_key,
                        status=ResultStatus.ALREADY_APPLIED,
                        target_id=rec.id_in(self.target.system) or rec.source_id,
                        message="found by read-before-retry",
                    )

    def _find_applied(
        self,
        finder: Callable[..., Any],
        intents: list[WriteIntent],
        done: dict[str, WriteResult],
    ) -> None:
        self.api_calls += 1
        try:
            found: dict[str, str | None] = dict(finder(intents))
        except Exception as exc:  # noqa: BLE001 - cannot verify: hold, never resend blind
            self._hold(intents, done, type(exc).__name__)
            return
        self.counts["lookups"] += len(intents)
        for i in intents:
            if i.idempotency_key in found:
                done[i.idempotency_key] = WriteResult(
                    idempotency_key=i.idempotency_key,
                    status=ResultStatus.ALREADY_APPLIED,
                    target_id=found[i.idempotency_key],
                    message="found by read-before-retry",
                )

    def should_stop(self) -> bool:
        if self.stop is not None and self.stop.is_set():
            self.stopped = "stop_requested"
        elif self.lease is not None and self.lease.lost.is_set():
            self.stopped = "lease_lost"
        return self.stopped in ("stop_requested", "lease_lost")

    def mark_sent(self, batch: list[WriteIntent]) -> None:
        """Commit ``sent`` (one more attempt) before the call leaves: the outbox rule."""
        with self.store.session() as s:
            changes = [
                outbox.Change(i.idempotency_key, outbox.SENT, count_attempt=True) for i in batch
            ]
            outbox.apply_changes(s, changes, self.now())

    def send_round(self, batches: list[list[WriteIntent]]) -> tuple[int, float | None]:
        """At most ``concurrency`` batches in flight; a stop request lets those finish and
        sends no more. The next batch is marked ``sent`` in the transaction that records the
        one that finished."""
        failures, wait, fatal = 0, None, None
        queue = list(batches)
        workers = min(self.job.concurrency, len(batches))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync-send") as pool:
            inflight: set[Future[BatchOutcome]] = set()

            def submit(batch: list[WriteIntent]) -> None:
                self.step("marked_sent")
                inflight.add(pool.submit(send_batch, self.target, batch))

            while queue and len(inflight) < workers and not self.should_stop():
                batch = queue.pop(0)
                self.mark_sent(batch)
                submit(batch)
            while inflight:
                done, inflight = wait_futures(inflight, return_when=FIRST_COMPLETED)
                outcomes = [fut.result() for fut in done]
                for outcome in outcomes:
                    self.api_calls += outcome.calls
                    fatal = fatal or outcome.fatal
                nxt: list[list[WriteIntent]] = []
                while queue and len(nxt) < len(done) and fatal is None and not self.should_stop():
                    nxt.append(queue.pop(0))
                self.step("sent")
                f, w = self.record(outcomes, then_send=nxt)
                failures += f
                if w is not None:
                    wait = max(wait or 0.0, w)
                self.step("outcome")
                for batch in nxt:
                    submit(batch)
                if fatal is not None:
                    queue.clear()
        if fatal is not None:
            raise fatal
        return failures, wait

    def record(
        self, outcomes: list[BatchOutcome], *, then_send: list[list[WriteIntent]] | None = None
    ) -> tuple[int, float | None]:
        """Commit finished batches' outcomes; the cursor moves here when nothing is left open.

        ``then_send`` batches are marked ``sent`` in the same transaction (one commit per
        completion, not two per batch); they are submitted only after the commit. Batches
        that finished together are recorded together.
        """
        now = self.now()
        failures, wait = 0, None
        pairs = [p for o in outcomes for p in zip(o.intents, o.results, strict=True)]
        with self.store.session() as s:
            current = outbox.states(s, [i.idempotency_key for i, _ in pairs])
            changes: list[outbox.Change] = []
            for_good: list[tuple[outbox.State, str, WriteResult]] = []
            for intent, result in pairs:
                state = current[intent.idempotency_key]
                if state.status not in outbox.OPEN:
                    continue  # skipped by an operator meanwhile
                status = self.next_status(state, result)
                changes.append(outbox.Change(state.key, status, result))
                if status in (outbox.REJECTED, outbox.DEAD):
                    for_good.append((state, status, result))
                if result.status in (ResultStatus.RETRYABLE, ResultStatus.UNKNOWN):
                    failures += 1
                    if result.retry_after is not None:
                        wait = max(wait or 0.0, result.retry_after)
            outbox.apply_changes(s, changes, now, current=current)
            for state, status, result in for_good:
                self.fail_for_good(s, state, status, result, now)
            for c in changes:
                if c.status not in outbox.OPEN:
                    self.known_open.discard(c.key)
            # Counting open rows costs a query; only worth it once none we know of is open.
            if (
                self.pending_cursors is not None
                and not self.known_open
                and outbox.count_open(s, self.job.name) == 0
            ):
                self.advance_cursors(s)
            if then_send:
                outbox.mark_sent(s, [i.idempotency_key for b in then_send for i in b], now)
        return failures, wait

    def next_status(self, state: outbox.State, result: WriteResult) -> str:
        """Where one result takes an intent (attempts were counted when it was marked sent)."""
        st = result.status
        if st in (ResultStatus.APPLIED, ResultStatus.ALREADY_APPLIED):
            self.counts[str(st)] += 1
            return str(st)
        if st == ResultStatus.REJECTED:
            self.counts[outbox.REJECTED] += 1
            return outbox.REJECTED
        self.retries[state.key] += 1
        if state.attempts >= self.job.max_attempts:
            self.counts[outbox.DEAD] += 1
            return outbox.DEAD
        if st == ResultStatus.UNKNOWN:
            # The request may have been applied: stays "sent" so the retry reads first.
            self.counts["unknown"] += 1
            return outbox.SENT
        self.counts["retryable"] += 1
        return outbox.PENDING

    def fail_for_good(
        self, s: Session, state: outbox.State, status: str, result: WriteResult, now: datetime
    ) -> None:
        """Rejected or dead: on the exception report; a failed create forgets its snapshot."""
        row = s.get(OutboxIntentRow, state.key)
        assert row is not None
        category = dead_letters.REJECTED if status == outbox.REJECTED else dead_letters.DEAD_LETTER
        dead_letters.record_exception(s, category, row, result, run_id=self.run_id, now=now)
        if state.is_create:
            kind = "customer" if state.entity in PARENT_ENTITIES else "contract"
            snapshots.drop(s, self.job.name, kind, state.source_id, state.source_version)


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
