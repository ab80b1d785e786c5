"""Sending while the plan is still being committed: the outbox rule holds for every call,
the calls stay those one whole-plan commit would make, and a stop leaves nothing ``sent``
that never left."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from billbridge.state import Store
from billbridge.state.schema import OutboxEventRow, OutboxIntentRow
from canonical import WriteIntent, WriteResult
from sync.batching import sendable
from sync.runner import run_job
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, golden, run, wave1, wave2

#: one record per part (part size = batch size x concurrency): many parts in a small run
SMALL_PARTS = JOB.model_copy(update={"batch_size": 1, "concurrency": 1})


class CheckingTarget(FakeTarget):
    """Checks the outbox at every call: each intent is committed ``sent`` before it leaves;
    notes how much of the plan was committed when the first call went out."""

    def __init__(self, store: Store, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.store = store
        self.violations: list[str] = []
        self.committed_at_first_call: int | None = None
        self.on_write: list[threading.Event] = []

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        keys = [i.idempotency_key for i in intents]
        with self.store.session() as s:
            rows = dict(
                s.execute(
                    select(OutboxIntentRow.idempotency_key, OutboxIntentRow.status).where(
                        OutboxIntentRow.idempotency_key.in_(keys)
                    )
                ).all()
            )
            if self.committed_at_first_call is None:
                self.committed_at_first_call = int(
                    s.scalar(select(func.count()).select_from(OutboxIntentRow)) or 0
                )
        self.violations += [k[:8] for k in keys if rows.get(k) != "sent"]
        for event in self.on_write:
            event.set()
        return super().write(intents)


def _contracts(src: FakeSource, per_account: Sequence[int], version: str = "1") -> None:
    for a, n in enumerate(per_account):
        for c in range(n):
            qty = "1" if version == "1" else "2"
            src.put("contract", contract(f"8{a}{c:02d}", f"00{a}", [line("L1", qty)]))


def _customers(src: FakeSource, accounts: int) -> None:
    for a in range(accounts):
        src.put("customer", customer(f"00{a}", name=f"Customer {a}"))


def test_every_call_finds_its_intents_committed_sent(tmp_path: Path) -> None:
    n = iter(range(100))
    expected = golden(lambda: Store(f"sqlite:///{tmp_path / f'g{next(n)}.db'}"))
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    src, tgt = FakeSource(), CheckingTarget(store)
    wave1(src)
    run(src, tgt, store, job=SMALL_PARTS)
    wave2(src)
    report = run(src, tgt, store, job=SMALL_PARTS)
    assert tgt.violations == []
    assert tgt.state() == expected and not tgt.duplicate_creates
    assert report.cursor_advanced and report.open_left == 0


def test_sending_starts_before_the_last_part_is_committed(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), CheckingTarget(sqlite_store)
    _customers(src, 6)
    run(src, tgt, sqlite_store, job=SMALL_PARTS)  # the accounts exist
    tgt.committed_at_first_call = None
    _contracts(src, [2, 2, 2, 2, 2, 2])
    report = run(src, tgt, sqlite_store, job=SMALL_PARTS)
    assert report.counts["applied"] == 12 and len(tgt.subscriptions) == 12
    # 6 customers from the first run; of the 12 new intents only the first parts were in
    assert tgt.committed_at_first_call is not None and tgt.committed_at_first_call < 6 + 12
    assert tgt.violations == []
    # the report shows the whole plan, in the order one plan over the window gives
    planned = [c.source_id for c in report.plan.changes]
    assert planned == sorted(planned) and len(planned) == 12


def test_parts_make_the_calls_one_whole_plan_would(sqlite_store: Store) -> None:
    job = JOB.model_copy(update={"batch_size": 4, "concurrency": 1})  # parts of 4 records
    src, tgt = FakeSource(), FakeTarget()
    _customers(src, 5)
    run(src, tgt, sqlite_store, job=job)
    _contracts(src, [2, 1, 3, 2, 4])  # accounts of uneven size across part boundaries
    plan = run_job(job, source=src, target=tgt, store=sqlite_store, mode="plan").plan
    whole = sendable(plan.intents(), held=set(), batch_size=job.batch_size)
    calls = tgt.write_calls
    run(src, tgt, sqlite_store, job=job)
    assert len(whole) == 3  # batches that span accounts of two parts
    assert tgt.write_calls - calls == len(whole)
    assert len(tgt.subscriptions) == 12


def test_a_stop_puts_batches_committed_ahead_back_to_pending(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), CheckingTarget(sqlite_store, latency=0.2)
    _customers(src, 1)
    run(src, tgt, sqlite_store, job=SMALL_PARTS)
    _contracts(src, [6])
    stop = threading.Event()
    tgt.on_write.append(stop)  # SIGTERM while the first call is out
    report = run(src, tgt, sqlite_store, job=SMALL_PARTS, stop_event=stop)
    assert report.stopped == "stop_requested" and not report.cursor_advanced
    with sqlite_store.session() as s:
        rows = list(s.scalars(select(OutboxIntentRow).where(OutboxIntentRow.entity != "customer")))
        notes = list(
            s.scalars(
                select(OutboxEventRow.message).where(
                    OutboxEventRow.status == "pending", OutboxEventRow.message.is_not(None)
                )
            )
        )
    statuses = sorted(r.status for r in rows)
    assert "sent" not in statuses and "applied" in statuses and "pending" in statuses
    # the batch that waited for a worker went back, its attempt uncounted
    assert notes == ["not sent: run stopped (stop_requested)"]
    assert all(r.attempts == 0 for r in rows if r.status == "pending")
    run(src, tgt, sqlite_store, job=SMALL_PARTS)  # the next run finishes, nothing twice
    assert len(tgt.subscriptions) == 6 and all(n == 1 for n in tgt.creates.values())
    assert tgt.violations == []
