"""`sync apply --plan` that died part-way (some parts of the plan committed) is resumed by
running the same command again: the rest is applied, nothing twice. It was refused as out of
date ("planned version 14, source now -") for every crash after the first part committed."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import ContractStatus
from sync.planner import Plan
from sync.runner import PlanStale, RunReport, run_job
from sync.settings import SyncJobSettings
from tests.sync.fakes import FakeSource, FakeTarget, contract, line
from tests.sync.scenario import JOB, run, wave1, wave2
from tests.sync.test_crash_resume import Crash, crash_at

#: one account per part: a crash falls between parts of the plan being committed
SMALL_PARTS = JOB.model_copy(update={"batch_size": 1, "concurrency": 1})


class _Books:
    def __init__(self, tmp_path: Path, job: SyncJobSettings) -> None:
        self.tmp, self.job = tmp_path, job
        Store(f"sqlite:///{tmp_path / 'template.db'}").close()

    def setup(self, name: str) -> tuple[Store, FakeSource, FakeTarget, Plan]:
        """Wave 1 synced, wave 2 read into a saved plan."""
        shutil.copy(self.tmp / "template.db", self.tmp / f"{name}.db")
        store, src, tgt = Store(f"sqlite:///{self.tmp / name}.db"), FakeSource(), FakeTarget()
        wave1(src)
        run(src, tgt, store, job=self.job)
        wave2(src)
        saved = run_job(self.job, source=src, target=tgt, store=store, mode="plan").plan
        return store, src, tgt, saved

    def apply(
        self,
        store: Store,
        src: FakeSource,
        tgt: FakeTarget,
        saved: Plan,
        hook: Callable[[str], None] | None = None,
    ) -> RunReport:
        return run(src, tgt, store, job=self.job, hook=hook, plan=saved)


def _statuses(store: Store) -> set[str]:
    with store.session() as s:
        return {r.status for r in s.scalars(select(OutboxIntentRow))}


@pytest.mark.parametrize("job", [JOB, SMALL_PARTS], ids=["one_part", "part_per_account"])
def test_the_same_saved_plan_resumes_after_a_crash_at_every_step(
    tmp_path: Path, job: SyncJobSettings
) -> None:
    books = _Books(tmp_path, job)
    store, src, tgt, saved = books.setup("golden")
    books.apply(store, src, tgt, saved)
    golden = tgt.state()
    steps: list[str] = []
    store, src, tgt, saved = books.setup("probe")
    books.apply(store, src, tgt, saved, steps.append)
    assert steps.count("planned") > (2 if job is SMALL_PARTS else 0)
    for k in range(1, len(steps) + 1):
        store, src, tgt, saved = books.setup(f"c{k}")
        seen: list[str] = []
        with pytest.raises(Crash):
            books.apply(store, src, tgt, saved, crash_at(k, seen))
        books.apply(store, src, tgt, saved)  # the same command again: not refused
        where = f"crash at step {k} ({seen[-1]})"
        assert tgt.state() == golden, where
        assert not tgt.duplicate_creates and all(n == 1 for n in tgt.creates.values()), where
        assert _statuses(store) <= {"applied", "already_applied"}, where
        calls = tgt.write_calls
        after = run(src, tgt, store, job=job)  # nothing left for a plain run
        assert after.plan.empty and tgt.write_calls == calls, where
        store.close()


def _crash_after_800a_committed(books: _Books) -> tuple[Store, FakeSource, FakeTarget, Plan]:
    """The plan's parts: customer 001B, customer 001D, contract 800A, 800D, ...; the run
    dies once the third is committed."""
    store, src, tgt, saved = books.setup("moved")
    parts: list[str] = []

    def hook(step: str) -> None:
        if step == "planned":
            parts.append(step)
            if len(parts) == 3:
                raise Crash(step)

    with pytest.raises(Crash):
        books.apply(store, src, tgt, saved, hook)
    with store.session() as s:
        committed = {r.source_id for r in s.scalars(select(OutboxIntentRow))}
    assert "800A" in committed and "800E" not in committed
    return store, src, tgt, saved


def test_a_partly_applied_plan_is_refused_when_an_uncommitted_record_moved_on(
    tmp_path: Path,
) -> None:
    books = _Books(tmp_path, SMALL_PARTS)
    store, src, tgt, saved = _crash_after_800a_committed(books)
    # 800E was not committed; it changes now
    src.put("contract", contract("800E", "001D", [line("L1", "3")]))
    with pytest.raises(PlanStale, match=r"contract:800E: planned version \d+, source now \d+"):
        books.apply(store, src, tgt, saved)
    assert "SF-800E" not in tgt.subscriptions


def test_a_partly_applied_plan_is_refused_when_a_committed_record_moved_on(
    tmp_path: Path,
) -> None:
    books = _Books(tmp_path, SMALL_PARTS)
    store, src, tgt, saved = _crash_after_800a_committed(books)
    # 800A was committed; a newer version of it is not in the plan
    src.put(
        "contract",
        contract("800A", "001A", [line("L1", "4")], status=ContractStatus.CANCELLED),
    )
    with pytest.raises(PlanStale, match=r"contract:800A: planned version -, source now \d+"):
        books.apply(store, src, tgt, saved)
    assert tgt.subscriptions["SF-800A"]["status"] == "active"
