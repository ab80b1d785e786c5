"""Real process death: fork a runner, SIGKILL it at a random moment, repeat, then finish.

The target is served on loopback by this process, so it keeps whatever the killed runner
managed to write. Invariants at the end: the target equals the run without kills, one
create per record, no open intent, cursors stored.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import CursorRow, OutboxIntentRow
from sync.leases import LeaseBusy
from sync.runner import run_job
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.loopback import HttpTarget, TargetServer
from tests.sync.scenario import JOB, run, wave1

ITERATIONS = 20
#: a killed runner's lease must expire quickly for the next one to start
KILL_JOB = JOB.model_copy(
    update={"lease_ttl": timedelta(seconds=0.15), "batch_size": 1, "concurrency": 2}
)


def _mutate(src: FakeSource, rng: random.Random, i: int) -> None:
    """Changes whose end state does not depend on which versions a runner saw in between."""
    for _ in range(3):
        cid = rng.choice(sorted(src.records["contract"]))
        old = src.records["contract"][cid]
        lines = [
            ln.model_copy(update={"quantity": ln.quantity + rng.randint(1, 3)}) for ln in old.lines
        ]
        if rng.random() < 0.3:
            lines.append(line(f"X{i}", "1", "5.00", "SKU-X"))
        src.put("contract", contract(cid, old.customer_id, lines))
    src.put("customer", customer(f"C{i:02d}", name=f"New {i}"))
    src.put("contract", contract(f"9{i:03d}", f"C{i:02d}", [line("L1", str(i + 1))]))


def _golden(src: FakeSource, tmp_path: Path) -> dict[str, object]:
    """The target after one clean sync of the final source state."""
    tgt = FakeTarget()
    run(src, tgt, Store(f"sqlite:///{tmp_path / 'golden.db'}"))
    return tgt.state()


def _child(url: str, src: FakeSource, store: Store) -> None:
    """Runs in the forked child: retry until the dead runner's lease expires, then run."""
    store.engine.dispose(close=False)  # the parent's pooled connections are not ours
    target = HttpTarget(url)
    deadline = time.monotonic() + 5
    while True:
        try:
            run_job(
                KILL_JOB, source=src, target=target, store=store, mode="apply", sleep=lambda s: None
            )
            return
        except LeaseBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(state)  # migrated once, before any fork
    rng = random.Random(20251123)
    src, tgt = FakeSource(), FakeTarget(latency=0.02)
    wave1(src)
    kills = 0
    with TargetServer(tgt) as server:
        for i in range(ITERATIONS):
            _mutate(src, rng, i)
            pid = os.fork()
            if pid == 0:  # child
                code = 0
                try:
                    _child(server.url, src, store)
                except BaseException:  # noqa: BLE001 - child exit code only
                    code = 1
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            time.sleep(rng.uniform(0.05, 0.45))
            try:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        time.sleep(KILL_JOB.lease_ttl.total_seconds())
        for _ in range(3):  # finish: a final runner that is not killed
            run_job(
                KILL_JOB,
                source=src,
                target=HttpTarget(server.url),
                store=store,
                mode="apply",
                sleep=lambda s: None,
            )
    assert kills >= ITERATIONS // 2, "too few runners were actually killed mid-run"
    assert tgt.state() == _golden(src, tmp_path)
    assert not tgt.duplicate_creates, dict(tgt.duplicate_creates)
    assert all(c == 1 for c in tgt.creates.values())
    with store.session() as s:
        statuses = {r.status for r in s.scalars(select(OutboxIntentRow))}
        streams = {c.stream for c in s.scalars(select(CursorRow))}
    assert statuses <= {"applied", "already_applied"} and streams == {"customer", "contract"}
