"""Crash the runner at every durable step, rerun, and check nothing is lost or doubled."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import CursorRow, OutboxIntentRow
from sync.settings import SyncJobSettings
from tests.sync.fakes import FakeSource, FakeTarget
from tests.sync.scenario import JOB, golden, run, wave1, wave2


class Crash(BaseException):
    """Not an Exception: nothing in the runner may swallow it, like a dying process."""


def crash_at(k: int, seen: list[str]) -> Callable[[str], None]:
    def hook(step: str) -> None:
        seen.append(step)
        if len(seen) == k:
            raise Crash(step)

    return hook


def _fresh_store(tmp_path: Path, name: str) -> Store:
    """A migrated SQLite store, copied from a template (migrating each time is slow)."""
    template = tmp_path / "template.db"
    if not template.exists():
        Store(f"sqlite:///{template}").close()
    target = tmp_path / f"{name}.db"
    shutil.copy(template, target)
    return Store(f"sqlite:///{target}")


def _steps_of_a_clean_run(tmp_path: Path, wave: int, job: SyncJobSettings) -> list[str]:
    store = Store(f"sqlite:///{tmp_path / 'probe.db'}")
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    seen: list[str] = []
    if wave == 1:
        run(src, tgt, store, job=job, hook=seen.append)
        return seen
    run(src, tgt, store, job=job)
    wave2(src)
    run(src, tgt, store, job=job, hook=seen.append)
    return seen


def _check_invariants(store: Store, tgt: FakeTarget, expected: dict[str, Any]) -> None:
    assert tgt.state() == expected, "target differs from the run without a crash"
    assert not tgt.duplicate_creates, f"duplicate creates {dict(tgt.duplicate_creates)}"
    assert all(n == 1 for n in tgt.creates.values())
    with store.session() as s:
        statuses = {r.status for r in s.scalars(select(OutboxIntentRow))}
        cursors = list(s.scalars(select(CursorRow)))
    assert statuses <= {"applied", "already_applied"}
    assert {c.stream for c in cursors} == {"customer", "contract"}


#: one account per part: crashes also fall between parts of a plan being committed
SMALL_PARTS = JOB.model_copy(update={"batch_size": 1, "concurrency": 1})


@pytest.mark.parametrize("job", [JOB, SMALL_PARTS], ids=["one_part", "part_per_account"])
@pytest.mark.parametrize("wave", [1, 2])
def test_crash_at_every_step_then_resume(tmp_path: Path, wave: int, job: SyncJobSettings) -> None:
    n = iter(range(10_000))
    expected = golden(lambda: _fresh_store(tmp_path, f"g{next(n)}"))
    steps = _steps_of_a_clean_run(tmp_path, wave, job)
    assert {"lease", "read", "planned", "marked_sent", "sent", "outcome"} <= set(steps)
    if job is SMALL_PARTS:
        assert steps.count("planned") > 2  # several parts, then the cursors armed
    crashed = 0
    for k in range(1, len(steps) + 1):
        store = _fresh_store(tmp_path, f"crash{wave}_{k}")
        src, tgt = FakeSource(), FakeTarget()
        wave1(src)
        seen: list[str] = []
        if wave == 2:
            run(src, tgt, store, job=job)
            wave2(src)
        try:
            run(src, tgt, store, job=job, hook=crash_at(k, seen))
        except Crash:
            crashed += 1
        else:
            # Outcomes that reach the runner together are recorded in one transaction (one
            # "sent"/"outcome" step pair), so a run can take fewer steps than the probe did.
            assert len(seen) < k, f"no crash at step {k} of {len(seen)}"
        run(src, tgt, store, job=job)  # resume: finishes the crashed run's work, then reads
        if wave == 1:
            wave2(src)
            run(src, tgt, store, job=job)
        try:
            _check_invariants(store, tgt, expected)
        except AssertionError as exc:
            raise AssertionError(f"crash at step {k} ({seen[-1]}): {exc}") from exc
        store.close()
    # only the steps of outcome rounds can merge: every other step was crashed at
    assert crashed >= len(steps) - steps.count("sent") - steps.count("outcome")


def test_crash_after_send_before_outcome_is_read_back_not_resent(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    seen: list[str] = []

    def hook(step: str) -> None:
        seen.append(step)
        if step == "sent":
            raise Crash(step)

    with pytest.raises(Crash):
        run(src, tgt, store, hook=hook)
    with store.session() as s:
        sent = [r for r in s.scalars(select(OutboxIntentRow)) if r.status == "sent"]
    assert sent, "the batch was marked sent before the call"
    calls = tgt.write_calls
    run(src, tgt, store)
    assert tgt.lookup_calls >= 1  # read before retry
    assert not tgt.duplicate_creates and tgt.write_calls > calls
