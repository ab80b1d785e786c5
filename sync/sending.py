"""Sending a job's open intents: batches, bounded concurrency, outcomes, read-before-retry.

Every batch is marked ``sent`` (one more attempt) and committed before its call leaves; its
outcome is committed when it returns, together with the next batch's ``sent``; the cursors
move in the transaction that makes the last open intent terminal. Transient failures are
retried a few rounds with back-off in the run, then left for the next run, and dead-lettered
after ``max_attempts``. A ``sent`` intent without an outcome is looked up before any resend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.orm import Session

from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import ResultStatus, WriteIntent, WriteResult
from connectors.base import Connector, Cursor
from sync import cursors, dead_letters, outbox, snapshots
from sync.batching import (
    PARENT_ENTITIES,
    BatchOutcome,
    parent_external_id,
    send_batch,
    sendable,
)
from sync.leases import Lease
from sync.planner import is_create
from sync.settings import SyncJobSettings

log = structlog.get_logger(__name__)

FaultHook = Callable[[str], None]
#: the durable steps a fault hook sees (tests crash at each)
STEPS = ("lease", "resumed", "read", "planned", "looked_up", "marked_sent", "sent", "outcome")


def applied_finder(target: Connector) -> Callable[[list[WriteIntent]], dict[str, str]] | None:
    """How to ask ``target`` which of these intents it already applied, if it can say.

    ``find_applied(intents) -> {key: target id}`` on the connector (Zuora: order actions
    found by the key stamped on them). Without it, a resend relies on the idempotency key.
    """
    finder = getattr(target, "find_applied", None)
    return finder if callable(finder) else None


class StopFlag(Protocol):
    """Anything with ``is_set()``, e.g. the ``threading.Event`` SIGTERM sets."""

    def is_set(self) -> bool: ...


class Sender:
    """State and steps of sending for one run (the runner adds reading and planning)."""

    def __init__(
        self,
        job: SyncJobSettings,
        target: Connector,
        store: Store,
        *,
        now: Callable[[], datetime],
        hook: FaultHook | None,
        sleep: Callable[[float], None],
        stop: StopFlag | None,
        run_id: str,
    ) -> None:
        self.job, self.target, self.store = job, target, store
        self.now, self.hook, self.sleep, self.stop = now, hook, sleep, stop
        self.run_id = run_id
        self.counts: Counter[str] = Counter()
        self.api_calls = 0
        self.retries: Counter[str] = Counter()
        #: cursors of the window read in this run, saved once nothing is left open
        self.pending_cursors: dict[str, Cursor | None] | None = None
        self.cursor_advanced = False
        self.known_open: set[str] = set()
        #: intents by key: what this run planned, and earlier runs' intents once loaded
        self.intents: dict[str, WriteIntent] = {}
        self.stopped: str | None = None
        self.lease: Lease | None = None

    def step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def advance_cursors(self, s: Session) -> None:
        if self.pending_cursors is None:
            return
        stored = cursors.load(s, self.job.name)
        for stream, cursor in self.pending_cursors.items():
            if cursor is None or cursors.behind(cursor, stored.get(stream)):
                # Never backwards: an empty window may hand back the lookback-adjusted start.
                continue
            cursors.save(s, self.job.name, stream, cursor, run_id=self.run_id, now=self.now())
        self.cursor_advanced = True

    def drain(self) -> None:
        """Send open intents round by round until none can go out in this run."""
        rounds_with_failures = 0
        while True:
            if self.should_stop():
                return
            with self.store.session() as s:
                rows = outbox.open_keys(s, self.job.name)
                # Payloads come from memory when this run planned them (a 10,000-intent
                # window is not decoded again); earlier runs' intents from the outbox.
                missing = [k for k, _ in rows if k not in self.intents]
                self.intents.update(outbox.intents_by_key(s, missing))
                parents = {parent_external_id(self.intents[k]) for k, _ in rows}
                failed = outbox.failed_parents(s, self.job.name, (p for p in parents if p))
            status = dict(rows)
            self.known_open = set(status)
            held = {k for k, n in self.retries.items() if n > self.job.retry_rounds}
            batches = sendable(
                [self.intents[k] for k, _ in rows],
                held=held,
                batch_size=self.job.batch_size,
                failed_parents=failed,
            )
            if failed:
                self.counts["waiting_for_parent"] = sum(
                    1 for k, _ in rows if parent_external_id(self.intents[k]) in failed
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
        finder = applied_finder(self.target)
        if others and finder is not None:
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
