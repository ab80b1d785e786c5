"""Committing a plan a part at a time, so that sending starts with the first part.

Each part is one transaction: its records' intents as ``pending`` with their new snapshots.
A record's intents and its snapshot always commit together, so a crash between parts
replans exactly the records of the parts not committed (their snapshots are still the old
ones) and nothing twice. The window's cursors are armed only once every part is committed;
they move in the transaction that makes the window's last intent final.

A part hands over at once only what nothing waits for, batched as :func:`sendable` would
batch it in a drain round: not the children of an account or customer written in this run,
failed, or still open; not records with an unfinished intent of an earlier run; not a second
record writing the same target record. The drain rounds after the parts send those. A
part's last, unfilled batch waits for the next part's, so the batches (and the calls) are
those one whole-plan commit would give.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.orm import Session

from canonical import Record, WriteIntent
from connectors.base import Cursor
from sync import outbox, snapshots
from sync.batching import parent_external_id, phase, sendable
from sync.dead_letters import record_manual
from sync.events import is_deleted
from sync.planner import PlannedChange, entity_of
from sync.sending import Batches, Sender

log = structlog.get_logger(__name__)

RecordKey = tuple[str, str]  # (entity, source id)


@dataclass
class Window:
    """Records read whose content changed (or that are new), and the cursors read up to."""

    #: (last synced, current)
    pairs: list[tuple[Record | None, Record]]
    cursors: dict[str, Cursor | None]
    #: content hash of each current record in ``pairs``
    hashes: dict[RecordKey, str] = field(default_factory=dict)
    #: each current record's ``model_dump(mode="json")``, written as its snapshot
    data: dict[RecordKey, dict[str, Any]] = field(default_factory=dict)

    def by_record(self) -> dict[RecordKey, tuple[Record | None, Record]]:
        return {(entity_of(after), after.source_id): (b, after) for b, after in self.pairs}


@dataclass
class Part:
    """Records committed together: their changes, and records with nothing to write."""

    changes: Sequence[PlannedChange]
    #: holds the pairs of ``changes`` and ``unplanned`` (it may hold more)
    window: Window
    #: read with a new content but nothing to write: only the snapshot moves (records
    #: whose mapping failed are not among them: they are planned again once they map)
    unplanned: list[RecordKey]
    #: records left out because their mapping failed
    errors: tuple[str, ...] = ()
    #: the changes hold only intents the outbox did not have when they were planned
    unknown: bool = False


def parent_order(change: PlannedChange) -> tuple[int, str]:
    """Accounts/customers first, then records by parent, as :func:`sendable` batches them."""
    first = change.intents[0] if change.intents else None
    return (phase(change.entity), (parent_external_id(first) if first else None) or "")


def split(
    changes: Sequence[PlannedChange],
    window: Window,
    errors: tuple[str, ...],
    size: int,
    unmapped: set[RecordKey],
) -> Iterator[Part]:
    """A whole plan in parts of about ``size`` intents (whole records, parents first).
    ``unmapped`` records (their mapping failed) keep their old snapshots."""
    planned = {(c.entity, c.source_id) for c in changes}
    unplanned = [k for k in window.by_record() if k not in planned and k not in unmapped]
    part: list[PlannedChange] = []
    count = 0
    first = True
    for change in sorted(changes, key=parent_order):
        if count >= size:
            yield Part(part, window, unplanned if first else [], errors if first else ())
            part, count, first = [], 0, False
        part.append(change)
        count += len(change.intents)
    yield Part(part, window, unplanned if first else [], errors if first else ())


class PlanCommit:
    """The producer :meth:`Sender.send_stream` calls: commits the next part and returns its
    batches, then arms the cursors, then returns None."""

    def __init__(
        self, sender: Sender, parts: Iterator[Part], cursors: dict[str, Cursor | None]
    ) -> None:
        self.sender, self.parts, self.cursors = sender, parts, cursors
        self.changes: list[PlannedChange] = []
        self.errors: list[str] = []
        self.done = False
        #: the job's last planned-order number, once read
        self.seq: int | None = None
        #: parents already looked up for a failed last write
        self.checked: set[str] = set()
        self.carry: list[WriteIntent] = []
        #: parents whose children wait for the drain rounds
        self.waits: set[str] = set()
        #: target records an intent was handed over for, or with an earlier open intent
        self.taken: set[tuple[str, str]] = set()
        self._index: tuple[Window, dict[RecordKey, tuple[Record | None, Record]]] | None = None

    def __call__(self) -> Batches | None:
        if self.done:
            return None
        part = next(self.parts, None)
        if part is None:
            self.done = True
            return self._arm_cursors()
        self.changes.extend(part.changes)
        self.errors.extend(part.errors)
        return self._commit(part)

    def _commit(self, part: Part) -> Batches:
        snd, job = self.sender, self.sender.job
        intents = [i for c in part.changes for i in c.intents]
        records: list[tuple[str, str, list[str] | None]] = [
            (c.entity, c.source_id, [i.idempotency_key for i in c.intents]) for c in part.changes
        ]
        records += [(kind, sid, None) for kind, sid in part.unplanned]
        if not records:
            return self._batches([], frozenset())
        now = snd.now()
        with snd.store.session() as s:
            if self.seq is None:
                self._survey(s)
            # Under the lease nobody else adds to this job's outbox: a part planned against
            # it just now needs no second look, and the planned-order numbers are counted.
            keys = [i.idempotency_key for i in intents]
            existing = {} if part.unknown else outbox.statuses(s, keys)
            inserted = outbox.enqueue(
                s, job.name, snd.run_id, intents, now, known=existing, after_seq=self.seq
            )
            held = {(c.entity, c.source_id) for c in part.changes if c.manual}
            remember, held_versions = self._remember(part, records, existing, held)
            snapshots.save_many(s, job.name, remember, run_id=snd.run_id, now=now)
            snapshots.save_held(s, job.name, held_versions, run_id=snd.run_id, now=now)
            for change in part.changes:
                if change.manual:
                    # visible to AR in the same transaction that moves past the version
                    record_manual(s, job.name, change, run_id=snd.run_id, now=now)
                    snd.counts["manual"] += 1
                    log.warning(
                        "sync.needs_manual_action",
                        job=job.name,
                        entity=change.entity,
                        source_id=change.source_id,
                        why="; ".join(change.manual),
                    )
            self.waits |= outbox.failed_parents(s, job.name, _parents(intents) - self.checked)
            self.checked |= _parents(intents)
        self.seq = (self.seq or 0) + len(inserted)
        fresh = frozenset(inserted)
        snd.intents.update({i.idempotency_key: i for i in intents if i.idempotency_key in fresh})
        snd.known_open.update(inserted)
        snd.counts["planned"] += len(inserted)
        snd.step("planned")
        return self._batches(intents, fresh)

    def _batches(self, intents: list[WriteIntent], fresh: frozenset[str]) -> Batches:
        self.waits |= {i.external_id for i in intents if phase(i.entity) == 0}
        # A target record written by an earlier part (or still open from an earlier run)
        # is not written again before that finishes: the drain rounds send it after.
        ready = self.carry + [
            i
            for i in intents
            if i.idempotency_key in fresh and (i.entity, i.external_id) not in self.taken
        ]
        self.taken |= {(i.entity, i.external_id) for i in intents}
        job = self.sender.job
        batches = sendable(ready, held=set(), batch_size=job.batch_size, failed_parents=self.waits)
        self.carry = []
        if batches and len(batches[-1]) < job.batch_size:
            self.carry = batches.pop()  # the next part may fill it (the last: _arm_cursors)
        return batches

    def _survey(self, s: Session) -> None:
        """Earlier runs' unfinished intents: their records and children wait."""
        snd = self.sender
        earlier = [k for k, _ in outbox.open_keys(s, snd.job.name)]
        snd.intents.update(outbox.intents_by_key(s, [k for k in earlier if k not in snd.intents]))
        old = [snd.intents[k] for k in earlier]
        self.taken = {(i.entity, i.external_id) for i in old}
        self.waits = {i.external_id for i in old if phase(i.entity) == 0}
        self.seq = outbox.last_seq(s, snd.job.name)

    def _remember(
        self,
        part: Part,
        records: list[tuple[str, str, list[str] | None]],
        existing: dict[str, str],
        held: set[RecordKey],
    ) -> tuple[list[snapshots.Snapshot], list[snapshots.Snapshot]]:
        """The snapshots to save, and the held versions to keep beside them."""
        window = part.window
        if self._index is None or self._index[0] is not window:
            self._index = (window, window.by_record())
        pairs = self._index[1]
        out: list[snapshots.Snapshot] = []
        kept: list[snapshots.Snapshot] = []
        for kind, sid, keys in records:
            pair = pairs.get((kind, sid))
            if pair is None:
                continue
            before, after = pair
            key = (kind, sid)
            if keys is None and before is None and not is_deleted(after):
                continue  # nothing to remember (e.g. a draft never synced)
            if any(existing.get(k) in (outbox.REJECTED, outbox.DEAD) for k in keys or []):
                continue  # this version failed for good; keep planning from the old one
            if key in held and before is not None:
                # Not written: keep the content the target has, under this version's hash,
                # so re-reads add nothing and the next change is planned from what is there.
                digest = window.hashes.get(key)
                out.append(snapshots.Snapshot(kind, before, True, digest, None))
                # ... and the held version, for when AR has fixed the target by hand
                kept.append(snapshots.Snapshot(kind, after, True, digest, window.data.get(key)))
                continue
            out.append(
                snapshots.Snapshot(
                    kind, after, before is not None, window.hashes.get(key), window.data.get(key)
                )
            )
        return out, kept

    def _arm_cursors(self) -> list[list[WriteIntent]]:
        """Every part committed: the cursors move once nothing is open (now, or with the
        outcome that makes the last open intent final)."""
        snd = self.sender
        # A record that does not map keeps the window open: re-read until it maps.
        snd.pending_cursors = None if self.errors else self.cursors
        if self.errors:
            snd.counts["mapping_errors"] += len(self.errors)
            log.warning("sync.mapping_errors", job=snd.job.name, count=len(self.errors))
        with snd.store.session() as s:
            if outbox.count_open(s, snd.job.name) == 0:
                snd.advance_cursors(s)
        snd.step("planned")
        carry, self.carry = self.carry, []
        return [carry] if carry else []


def _parents(intents: list[WriteIntent]) -> set[str]:
    return {p for i in intents if phase(i.entity) > 0 and (p := parent_external_id(i))}
