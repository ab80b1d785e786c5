"""Sending a job's open intents: batches, bounded concurrency, outcomes, read-before-retry.

Every batch is marked ``sent`` (one more attempt) and committed before any worker can take
it; its outcome is committed when it returns, together with the next batches' ``sent``; the
cursors move in the transaction that makes the last open intent terminal. A few batches wait
committed ahead of the workers, so the calls do not wait for those commits. Transient
failures are retried a few rounds with back-off in the run, then left for the next run, and
dead-lettered after ``max_attempts``. A ``sent`` intent without an outcome is looked up
before any resend.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy.orm import Session

from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import FailureType, ResultStatus, WriteIntent, WriteResult
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
Batches = list[list[WriteIntent]]
#: commits the next part of a plan and returns its batches; None once all is committed
Producer = Callable[[], Batches | None]
#: a batch back from a worker: its outcome, or what the worker raised
Returned = tuple[list[WriteIntent], BatchOutcome | BaseException]
_T = TypeVar("_T")
#: how often a stream waiting for its calls looks for a stop request (seconds)
_POLL = 0.05


def _take_all(q: queue.SimpleQueue[_T]) -> list[_T]:
    items: list[_T] = []
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            return items


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
        #: outbox key -> the key it is sent under, for intents an operator redrove
        self.wire: dict[str, str] = {}
        #: outbox key -> how often an operator redrove it (absent: never)
        self.redriven: dict[str, int] = {}

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
                asked = [k for k, _ in rows if k not in self.wire]
                redriven = outbox.redrives(s, asked)
            # every key asked is settled for the run (a key never redriven is sent as it is),
            # so later rounds do not query the outbox events for it again
            self.wire.update({k: outbox.wire_key(k, redriven.get(k, 0)) for k in asked})
            self.redriven.update({k: n for k, n in redriven.items() if n})
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
            doubtful = frozenset(k for k, st in status.items() if st == outbox.SENT)
            failures, wait = self.send_stream(batches, doubtful=doubtful)
            if failures:
                rounds_with_failures += 1
                self.sleep(min(wait or 0.5 * 2 ** (rounds_with_failures - 1), 30.0))

    def on_wire(self, intents: list[WriteIntent]) -> tuple[list[WriteIntent], dict[str, str]]:
        """``intents`` as sent (a redriven one under its fresh key), and wire key -> outbox
        key for those whose key differs."""
        if not self.wire:
            return intents, {}
        out: list[WriteIntent] = []
        back: dict[str, str] = {}
        for i in intents:
            wire = self.wire.get(i.idempotency_key)
            if wire is None:
                out.append(i)
                continue
            back[wire] = i.idempotency_key
            out.append(i.model_copy(update={"idempotency_key": wire}))
        return out, back

    def ever_sent_as(self, intents: list[WriteIntent]) -> tuple[list[WriteIntent], dict[str, str]]:
        """``intents`` under every key they may have gone out with (a redriven one under
        its fresh key and each earlier one: an operator's redrive of an intent whose
        outcome was unknown is looked up under the keys used before), and wire key ->
        outbox key for those whose key differs."""
        out: list[WriteIntent] = []
        back: dict[str, str] = {}
        for i in intents:
            key = i.idempotency_key
            for generation in range(self.redriven.get(key, 0) + 1):
                wire = outbox.wire_key(key, generation)
                if wire == key:
                    out.append(i)
                    continue
                back[wire] = key
                out.append(i.model_copy(update={"idempotency_key": wire}))
        return out, back

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
        spent = self._out_of_attempts([i for i in doubtful if i.idempotency_key not in done])
        for i in spent:
            done[i.idempotency_key] = WriteResult(
                idempotency_key=i.idempotency_key,
                status=ResultStatus.RETRYABLE,
                message=(
                    f"no outcome after {self.job.max_attempts} attempts, and read-before-retry "
                    "did not find it applied"
                ),
                failure_type=FailureType.TRANSIENT,
            )
        settled = applied + spent
        if settled:
            self.record([BatchOutcome(settled, [done[i.idempotency_key] for i in settled], 0)])
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

    def _out_of_attempts(self, intents: list[WriteIntent]) -> list[WriteIntent]:
        """Those of ``intents`` (looked up, not found applied) that used every attempt."""
        if not intents:
            return []
        with self.store.session() as s:
            states = outbox.states(s, [i.idempotency_key for i in intents])
        return [
            i
            for i in intents
            if i.idempotency_key in states
            and states[i.idempotency_key].attempts >= self.job.max_attempts
        ]

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
        sent, back = self.ever_sent_as(intents)
        try:
            answer: dict[str, str | None] = dict(finder(sent))
            found = {back.get(k, k): v for k, v in answer.items()}
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

    def send_stream(
        self,
        batches: Batches,
        *,
        more: Producer | None = None,
        doubtful: frozenset[str] = frozenset(),
    ) -> tuple[int, float | None]:
        """Send ``batches``, and those ``more`` adds, with ``concurrency`` workers; returns
        (failed results, longest retry-after).

        ``more()`` commits the next part of a plan and returns its batches (None once all
        is committed): sending starts while the rest is still being committed.

        A batch is committed ``sent`` before any worker can take it. Up to ``concurrency``
        batches wait committed ahead of the workers, so a worker whose call returns takes
        the next one at once instead of waiting for this thread to commit the outcome;
        outcomes are committed here as they come, with the next batches' ``sent`` in the
        same transaction. A stop request, a lost lease or a fatal error sends no more:
        batches committed ahead and not yet taken go back to ``pending`` (their request
        never left; ``doubtful`` keys, ``sent`` before this round, stay ``sent``), and
        those in flight are waited for and recorded.
        """
        stream = _Stream(self, batches, more, doubtful)
        try:
            stream.run()
        finally:
            stream.close()
        if stream.fatal is not None:
            raise stream.fatal
        return stream.failures, stream.wait

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
        if st == ResultStatus.UNKNOWN:
            # The request may have been applied: stays "sent" so the retry reads first,
            # also after the last attempt (read_before_retry declares it dead only once
            # the lookup says it was not applied).
            self.counts["unknown"] += 1
            return outbox.SENT
        if state.attempts >= self.job.max_attempts:
            self.counts[outbox.DEAD] += 1
            return outbox.DEAD
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


class _Stream:
    """One :meth:`Sender.send_stream`: the workers, their queues and the loop feeding them."""

    def __init__(
        self, snd: Sender, batches: Batches, more: Producer | None, doubtful: frozenset[str]
    ) -> None:
        self.snd, self.more, self.doubtful = snd, more, doubtful
        self.todo = deque(batches)
        #: batches committed ``sent``, for the workers to take (None: stop working)
        self.ready: queue.SimpleQueue[list[WriteIntent] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[Returned] = queue.SimpleQueue()
        self.arrived: list[Returned] = []
        #: how many batches may be committed ``sent`` without their outcome back
        self.ahead = 2 * snd.job.concurrency
        self.outstanding = 0
        self.failures = 0
        self.wait: float | None = None
        self.fatal: BaseException | None = None
        self.halted = self.budget_hit = False
        self.workers = [
            threading.Thread(target=self._work, name=f"sync-send-{n}")
            for n in range(snd.job.concurrency)
        ]
        for worker in self.workers:
            worker.start()

    def run(self) -> None:
        while True:
            self.arrived += _take_all(self.done)
            if not self.halted and self.snd.should_stop():
                self.halt()
            if not self.arrived and len(self.todo) < self.ahead and self.produce():
                continue  # little left to hand out: commit the next part first
            outcomes = self.collect()
            nxt = self.next_batches()
            if outcomes or nxt:
                self.record(outcomes, nxt)
            elif not self.produce():
                if self.outstanding == 0:
                    return
                with contextlib.suppress(queue.Empty):  # a stop is noticed while calls are out
                    self.arrived.append(self.done.get(timeout=_POLL))

    def produce(self) -> bool:
        """Commit the next part (and queue its batches); False when there is none."""
        if self.more is None or self.halted:
            return False
        part = self.more()
        if part is None:
            self.more = None
            return False
        self.todo.extend(part)
        return True

    def collect(self) -> list[BatchOutcome]:
        outcomes: list[BatchOutcome] = []
        for _batch, returned in self.arrived:
            self.outstanding -= 1
            if isinstance(returned, BaseException):
                raise returned  # a programming error in a worker
            outcomes.append(returned)
            self.snd.api_calls += returned.calls
            self.fatal = self.fatal or returned.fatal
        self.arrived = []
        if self.fatal is not None and not self.halted:
            self.halt()
        return outcomes

    def next_batches(self) -> Batches:
        nxt: Batches = []
        budget = self.snd.job.budget
        while not (self.halted or self.budget_hit) and self.todo:
            if self.outstanding + len(nxt) >= self.ahead:
                break
            if budget is not None and self.snd.api_calls + self.outstanding + len(nxt) >= budget:
                self.snd.stopped, self.budget_hit = "budget", True
                break
            nxt.append(self.todo.popleft())
        return nxt

    def record(self, outcomes: list[BatchOutcome], nxt: Batches) -> None:
        """One transaction: the outcomes, and the next batches ``sent``; then hand them out."""
        snd = self.snd
        if outcomes:
            snd.step("sent")
        failures, wait = snd.record(outcomes, then_send=nxt)
        self.failures += failures
        if wait is not None:
            self.wait = max(self.wait or 0.0, wait)
        if outcomes:
            snd.step("outcome")
        for batch in nxt:
            snd.step("marked_sent")
            self.ready.put(batch)
            self.outstanding += 1

    def halt(self) -> None:
        """Send no more; batches committed ahead that no worker took go back to pending."""
        self.halted = True
        batches = [b for b in _take_all(self.ready) if b is not None]
        self.outstanding -= len(batches)
        keys = [i.idempotency_key for b in batches for i in b]
        keys = [k for k in keys if k not in self.doubtful]
        if keys:
            snd = self.snd
            why = f"not sent: run stopped ({snd.stopped or 'fatal error'})"
            with snd.store.session() as s:
                outbox.unmark_sent(s, keys, snd.now(), why)

    def _work(self) -> None:
        while (batch := self.ready.get()) is not None:
            try:
                self.done.put((batch, self._send(batch)))
            except BaseException as exc:  # noqa: BLE001 - handed to the sending thread
                self.done.put((batch, exc))

    def _send(self, batch: list[WriteIntent]) -> BatchOutcome:
        """One batch; redriven intents go under their fresh keys, results come back under
        the outbox keys."""
        sent, back = self.snd.on_wire(batch)
        outcome = send_batch(self.snd.target, sent)
        if not back:
            return outcome
        results = [
            r.model_copy(update={"idempotency_key": back.get(r.idempotency_key, r.idempotency_key)})
            for r in outcome.results
        ]
        return BatchOutcome(batch, results, outcome.calls, outcome.fatal)

    def close(self) -> None:
        """Nothing more leaves (after a crash too); calls in flight are waited for."""
        _take_all(self.ready)
        for _ in self.workers:
            self.ready.put(None)
        for worker in self.workers:
            worker.join()
