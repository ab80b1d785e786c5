"""The write protocol (reliability doc §1.2 and §3): one sync run of one job.

Order of work in ``apply`` mode:
1. take the job lease (nothing happens without it);
2. finish unfinished intents of earlier runs (read-before-retry for ``sent`` ones);
3. read each entity since its cursor (minus the lookback);
4. a slice of accounts at a time, diff against the snapshots, plan, and commit: the slice's
   intents as ``pending`` plus its records' new snapshots in one transaction
   (:mod:`sync.plan_commit`; a saved plan is checked against the whole window first, then
   committed the same way); the window's cursors are armed once every slice is committed;
5. send in batches (bounded concurrency) from the first committed slice on, while the next
   ones are planned and committed: each batch marked ``sent`` and committed before any
   worker may take it, each outcome committed after it; the cursors move in the
   transaction that makes the last open intent terminal;
6. transient failures are retried a few rounds with back-off, then left for the next run,
   and dead-lettered after ``max_attempts``.

``fault_hook(step)`` is called after every durable step (``sending.STEPS``) so tests can
crash there. Sending itself lives in :mod:`sync.sending`.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from billbridge.errors import BillbridgeError
from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import Contract, Record, WriteIntent
from connectors.base import Connector, Cursor
from sync import cursors, outbox, plan_commit, runlog, snapshots, specs
from sync.events import content_hash_of, record_events
from sync.leases import Lease
from sync.plan_commit import Part, PlanCommit, RecordKey, Window
from sync.planner import Plan, PlannedChange, build_plan, entity_of, legacy_key
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
        with _older_objects_frozen():
            return run.apply(plan)


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Full GC collections during the run skip the objects that existed before it.

    A run keeps its window, plan and outbox rows alive (a quarter of a million objects at
    10,000 contracts), which sets off full collections; each scanned the whole heap and
    stalled the sending threads for up to half a second. Collections still run, over the
    run's own objects; afterwards the older objects are collected as before. A process that
    froze objects itself (e.g. before forking workers) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class _Read:
    """What the source returned: the latest version of each record, and the cursors."""

    latest: dict[RecordKey, Record]
    cursors: dict[str, Cursor | None]

    def by_account(self, size: int) -> Iterator[list[RecordKey]]:
        """Records in slices of about ``size``, each account's customer and contracts in
        one slice (a parent and its children are planned and committed together)."""
        accounts: dict[str, list[RecordKey]] = {}
        for key, rec in self.latest.items():
            account = rec.customer_id if isinstance(rec, Contract) else rec.source_id
            accounts.setdefault(account, []).append(key)
        chunk: list[RecordKey] = []
        for account in sorted(accounts):
            chunk.extend(accounts[account])
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


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
    def read_window(self) -> Window:
        """The whole window at once (plan mode, and checking a saved plan)."""
        read = self.read_source()
        return self.diff(read, list(read.latest))

    def read_source(self) -> _Read:
        with self.store.session() as s:
            stored = cursors.load(s, self.job.name)
        latest: dict[RecordKey, Record] = {}
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
        self.step("read")
        return _Read(latest, new_cursors)

    def diff(self, read: _Read, keys: list[RecordKey]) -> Window:
        """The records of ``keys`` whose content changed, with their last synced version.

        Unchanged records (same content hash as the snapshot) are dropped before their
        stored versions are parsed: re-reads inside the lookback cost little."""
        window = Window(pairs=[], cursors=read.cursors)
        with self.store.session() as s:
            for kind in ("customer", "contract"):
                ids = [sid for (k, sid) in keys if k == kind]
                synced = snapshots.digests(s, self.job.name, kind, ids) if ids else {}
                model = snapshots.model_for(kind)
                for sid in ids:
                    after = read.latest[(kind, sid)]
                    entry = synced.get(sid)
                    data = after.model_dump(mode="json")
                    digest = content_hash_of(data)
                    if entry is not None and entry[0] == digest:
                        continue
                    window.hashes[(kind, sid)] = digest
                    window.data[(kind, sid)] = data
                    before = model.model_validate_json(entry[1]) if entry is not None else None
                    window.pairs.append((before, after))
        return window

    def make_plan(
        self, window: Window, *, resumed: list[WriteIntent], created_at: datetime | None = None
    ) -> Plan:
        return self.plan_window(window, resumed=resumed, created_at=created_at)[0]

    def plan_window(
        self, window: Window, *, resumed: list[WriteIntent], created_at: datetime | None = None
    ) -> tuple[Plan, set[RecordKey]]:
        """The plan, and the records that changed but did not map (in ``Plan.errors``):
        their snapshots must not move, or the fixed mapping would find nothing to do."""
        plan = build_plan(
            self.job.name,
            self.job.target_kind,
            window.pairs,
            mapping_versions=self.mapping_versions,
            created_at=created_at or self.now(),
            resumed=resumed,
            catalog=self.job.catalog,
            builders=self.builders,
            known_changed=True,  # diff dropped the records whose content hash is unchanged
        )
        # A record with lifecycle events that is not in the plan is one whose mapping failed.
        planned = {(c.entity, c.source_id) for c in plan.changes}
        unmapped = {
            key
            for before, after in window.pairs
            if (key := (entity_of(after), after.source_id)) not in planned
            and record_events(before, after, known_changed=True)
        }
        # Writes already in the outbox (e.g. a create rejected earlier, on the exception
        # report) are not new: the plan shows only what this run would add.
        with self.store.session() as s:
            intents = plan.intents()
            known = outbox.statuses(s, [i.idempotency_key for i in intents])
            known |= known_by_legacy_key(s, [i for i in intents if i.idempotency_key not in known])
        if not known:
            return plan, unmapped
        changes = []
        for change in plan.changes:
            fresh = tuple(i for i in change.intents if i.idempotency_key not in known)
            if fresh or change.manual:
                changes.append(change.model_copy(update={"intents": fresh}))
        return plan.model_copy(update={"changes": tuple(changes)}), unmapped

    # -- apply ---------------------------------------------------------------------------
    def apply(self, saved: Plan | None) -> RunReport:
        self.step("lease")
        self.log_event("started")
        try:
            if saved is None:
                self.drain()  # finish earlier runs' work before reading anything new
                self.step("resumed")
                plan = self.plan_and_send()
            elif self.committed_before(saved):
                # Applying a plan twice equals applying it once: only finish its writes.
                plan = saved
                self.counts["plan_already_committed"] = 1
            else:
                window = self.read_window()
                fresh, unmapped = self.plan_window(window, resumed=self.open_intents())
                # A run of this plan that died part-way committed some records already
                # (intents and snapshots together): those are finished by the drain, the
                # rest is checked against the source and committed now.
                check_fresh(saved, fresh, committed=self.committed_keys(saved))
                plan = saved
                self.drain()
                self.step("resumed")
                size = self.part_size()
                # The fresh plan's writes: checked equal to the saved ones, built from the
                # source as a plain apply builds them (not read back from the file).
                parts = plan_commit.split(fresh.changes, window, fresh.errors, size, unmapped)
                self.send_parts(parts, window.cursors)
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

    def part_size(self) -> int:
        """Records (or intents) per part: about what the workers take at once."""
        return self.job.batch_size * self.job.concurrency

    def plan_and_send(self) -> Plan:
        """Read, then diff, plan and commit a slice of accounts at a time while the
        committed slices are being sent; returns the whole plan."""
        read = self.read_source()
        created = self.now()
        commit = self.send_parts(self._slices(read, created), read.cursors)
        return Plan(
            job=self.job.name,
            target_kind=self.job.target_kind,
            created_at=created,
            mapping_versions=dict(self.mapping_versions),
            # the order one build_plan call over the whole window gives
            changes=tuple(
                sorted(commit.changes, key=lambda c: (c.entity != "customer", c.source_id))
            ),
            errors=tuple(commit.errors),
        )

    def send_parts(self, parts: Iterator[Part], cursors: dict[str, Cursor | None]) -> PlanCommit:
        """Commit ``parts`` one by one, sending each as soon as it is committed."""
        commit = PlanCommit(self, parts, cursors)
        failures, wait = self.send_stream([], more=commit)
        if failures:
            self.sleep(min(wait or 0.5, 30.0))  # before the drain rounds retry them
        return commit

    def _slices(self, read: _Read, created: datetime) -> Iterator[Part]:
        for keys in read.by_account(self.part_size()):
            window = self.diff(read, keys)
            if not window.pairs:
                continue
            plan, unmapped = self.plan_window(window, resumed=[], created_at=created)
            planned = {(c.entity, c.source_id) for c in plan.changes}
            unplanned = [k for k in window.hashes if k not in planned and k not in unmapped]
            yield Part(plan.changes, window, unplanned, plan.errors, unknown=True)

    def committed_before(self, saved: Plan) -> bool:
        keys = [i.idempotency_key for i in saved.intents()]
        return bool(keys) and len(self.committed_keys(saved)) == len(keys)

    def committed_keys(self, saved: Plan) -> set[str]:
        """The saved plan's writes already in the outbox (committed by an earlier run)."""
        with self.store.session() as s:
            return set(outbox.statuses(s, [i.idempotency_key for i in saved.intents()]))


def known_by_legacy_key(session: Session, intents: Sequence[WriteIntent]) -> dict[str, str]:
    """Planned key -> status, for the ``intents`` an earlier release already put in the
    outbox under its key (:func:`sync.planner.legacy_key`: version, action and line, no
    content): the same write (same payload) is not planned again after an upgrade.

    Only a row that is still the last write of its target record counts: a later write
    (e.g. a newer content of the same version, keyed with its content) supersedes it, and
    going back to the old content is a new write."""
    by_legacy = {legacy_key(i): i for i in intents}
    if not by_legacy:
        return {}
    t = OutboxIntentRow
    matched: dict[str, tuple[WriteIntent, str, int, str]] = {}
    keys = sorted(by_legacy)
    for start in range(0, len(keys), 500):
        stmt = select(t.idempotency_key, t.status, t.seq, t.payload_hash, t.job).where(
            t.idempotency_key.in_(keys[start : start + 500])
        )
        for key, status, seq, digest, job in session.execute(stmt):
            intent = by_legacy[key]
            if digest == intent.payload_hash():
                matched[key] = (intent, str(status), int(seq), str(job))
    if not matched:
        return {}
    out: dict[str, str] = {}
    for intent, status, seq, job in matched.values():
        later = session.scalars(
            select(t.idempotency_key).where(
                t.job == job,
                t.entity == intent.entity,
                t.external_id == intent.external_id,
                t.seq > seq,
            )
        )
        if set(later) <= set(matched):  # only rows of the same (old) version's writes
            out[intent.idempotency_key] = status
    return out


def check_fresh(
    saved: Plan,
    fresh: Plan,
    *,
    moved_on: str = "source data has moved on",
    differ: str = "planned writes differ (mapping or unfinished work)",
    version: Callable[[str, str, str], str] = (
        lambda k, old, new: f"{k}: planned version {old}, source now {new}"
    ),
    committed: Collection[str] | None = None,
) -> None:
    """Refuse a saved plan whose sources have moved on since it was signed off (record jobs:
    source versions; cash jobs pass their own wording for runs and decisions), or whose
    writes are not the ones a fresh plan makes now: every saved intent must equal the fresh
    one, payload included (an edited plan file, a changed catalog or mapping).

    ``committed`` (record jobs): the saved plan's keys already in the outbox. A run of the
    plan that died part-way committed some of its records (their intents with their
    snapshots): those are not in the fresh plan any more, and their still open intents are
    among its unfinished work. Only the rest of the plan is compared, and the unfinished
    work may be the saved plan's own or less than it was (finished meanwhile), no more.
    Without ``committed`` the whole plan and the unfinished work must match."""
    if saved.job != fresh.job or saved.target_kind != fresh.target_kind:
        raise PlanStale(f"plan is for job {saved.job} ({saved.target_kind}), not {fresh.job}")
    resumed_old = {i.idempotency_key for i in saved.resumed}
    resumed_new = {i.idempotency_key for i in fresh.resumed}
    if committed is not None:
        saved = _rest_of(saved, fresh, set(committed))
        resumed_ok = resumed_new <= resumed_old | set(committed)
    else:
        resumed_ok = resumed_old == resumed_new
    old, new = saved.source_versions(), fresh.source_versions()
    moved = sorted(
        version(k, old.get(k, "-"), new.get(k, "-"))
        for k in set(old) | set(new)
        if old.get(k) != new.get(k)
    )
    writes = [] if moved else write_differences(saved, fresh)
    if moved or writes or saved.fingerprint() != fresh.fingerprint() or not resumed_ok:
        if moved:
            why, found = moved_on, moved
        elif writes:
            why, found = (
                "its writes are not what would be written now (the plan file was edited, "
                "or the catalog, a mapping or earlier work changed since it was planned)",
                writes,
            )
        else:
            why, found = moved_on, []
        detail = "; ".join(found[:10]) or differ
        more = f" (+{len(found) - 10} more)" if len(found) > 10 else ""
        raise PlanStale(
            f"the saved plan for {saved.job} is out of date, {why}: "
            f"{detail}{more}. Run 'billbridge sync plan {saved.job}' again."
        )


def _rest_of(saved: Plan, fresh: Plan, committed: set[str]) -> Plan:
    """``saved`` without the records an earlier run of it committed: every write of theirs
    is in the outbox, or (a change that writes nothing, e.g. one held for manual handling)
    its record's snapshot moved past it, so a fresh read finds no change."""
    now = {(c.entity, c.source_id) for c in fresh.changes}

    def done(change: PlannedChange) -> bool:
        if change.intents:
            return all(i.idempotency_key in committed for i in change.intents)
        return (change.entity, change.source_id) not in now

    def without_committed_parents(change: PlannedChange) -> PlannedChange:
        # A parent written in the committed part is in the outbox, not in the fresh plan:
        # the fresh writes of its children do not wait on it by key (nor would a plain
        # apply's after the crash); they are sent after it all the same.
        intents = tuple(
            i.model_copy(
                update={"depends_on": tuple(d for d in i.depends_on if d not in committed)}
            )
            for i in change.intents
        )
        return change.model_copy(update={"intents": intents})

    rest = tuple(without_committed_parents(c) for c in saved.changes if not done(c))
    return saved.model_copy(update={"changes": rest})


def write_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Per record of the same version in both plans: the writes that differ, naming the
    action and the first field that differs (its path; values are left out, they may hold
    personal data)."""
    now = {(c.entity, c.source_id): c for c in fresh.changes}
    out: list[str] = []
    for change in saved.changes:
        other = now.get((change.entity, change.source_id))
        if other is None or other.source_version != change.source_version:
            continue  # a version that moved on is reported as such
        label = f"{change.entity} {change.source_id}"
        names = [_write_name(i) for i in change.intents]
        if names != [_write_name(i) for i in other.intents]:
            fresh_names = ", ".join(_write_name(i) for i in other.intents) or "nothing"
            out.append(f"{label}: planned {', '.join(names) or 'nothing'}, now {fresh_names}")
            continue
        for a, b in zip(change.intents, other.intents, strict=True):
            where = _first_difference(_as_sent(a), _as_sent(b))
            if where is not None:
                out.append(f"{label} {_write_name(a)}: {where} differs")
    return out


def _write_name(intent: WriteIntent) -> str:
    return intent.action or str(intent.op)


def _as_sent(intent: WriteIntent) -> dict[str, object]:
    """The intent as JSON (a saved plan's file and a fresh plan compare alike), its key
    last: a payload or target that differs is named before the key it changes."""
    data = intent.model_dump(mode="json")
    key = data.pop("idempotency_key")
    return {**data, "idempotency key": key}


def _first_difference(a: object, b: object, path: str = "") -> str | None:
    """The path of the first place where ``a`` and ``b`` differ, else None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                return sub
            found = _first_difference(a[k], b[k], sub)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for n, (x, y) in enumerate(zip(a, b, strict=False)):
            found = _first_difference(x, y, f"{path}[{n}]")
            if found is not None:
                return found
        return f"{path} (length)" if len(a) != len(b) else None
    return None if a == b else (path or "value")
