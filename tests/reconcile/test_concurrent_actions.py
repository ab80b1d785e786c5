"""Two actors on one exception never lose an update, on either store: the second sees the
first's result. Two operators (resolve vs acknowledge): the second gets a clear error; a run
and an operator's assign: the assign waits for the run and is applied after it (the run
rewrote the status from its stale copy, and an assigned exception ended OPEN)."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from billbridge.state import Store
from reconcile.exceptions import ExceptionStore, RunState, Status
from reconcile.exceptions import recording as recording_mod
from reconcile.exceptions import store as store_mod
from tests.reconcile.concurrency import EID, T0
from tests.reconcile.concurrency import cand as _cand
from tests.reconcile.concurrency import start as _run


def test_resolve_and_acknowledge_at_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    xs = ExceptionStore(store)
    xs.record_run("race", "r1", [_cand("race", "1")], T0)
    # both have read before either writes, as two people clicking at once (without the
    # lock); with it the second waits at its lock and the barrier times out
    barrier = threading.Barrier(2, timeout=3)

    def wait_both(session: Session, *_: Any) -> None:
        if threading.current_thread().name.startswith("op-"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    event.listen(Session, "before_flush", wait_both)
    results: dict[str, str] = {}

    def resolve() -> None:
        xs.resolve(EID, "FIXED_IN_SOURCE", actor="alice", now=T0)

    def ack() -> None:
        xs.acknowledge(EID, actor="bob", now=T0)

    try:
        threads = [_run(resolve, results, "resolve"), _run(ack, results, "ack")]
        for t in threads:
            t.join(60)
    finally:
        event.remove(Session, "before_flush", wait_both)
    view = xs.get(EID, now=T0)
    assert view is not None
    events = [e.event for e in xs.history(EID)]
    if results == {"resolve": "ok", "ack": "ok"}:
        # the acknowledgement went first (a slow machine can order them so): resolving an
        # acknowledged exception is allowed, and it saw the acknowledgement
        assert view.status == Status.RESOLVED and view.resolved_at is not None
        assert events[-2:] == ["ACKNOWLEDGED", "RESOLVED"]
        return
    # the resolution went first: the acknowledgement saw it and was refused, not applied
    assert results["resolve"] == "ok", results
    assert results["ack"].startswith("WorkflowError"), results
    assert "cannot go from RESOLVED to ACKNOWLEDGED" in results["ack"]
    assert view.status == Status.RESOLVED and view.resolved_at is not None
    assert events[-1] == "RESOLVED" and "ACKNOWLEDGED" not in events


@pytest.mark.parametrize("path", ["rows", "candidates"])
def test_an_assign_during_a_run_is_not_lost(
    store: Store, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    xs = ExceptionStore(store)
    xs.record_run("race2", "r1", [_cand("race2", "1")], T0)
    results: dict[str, str] = {}
    operator: list[threading.Thread] = []

    def assign() -> None:
        xs.assign(EID, "carol", actor="alice", now=T0 + timedelta(seconds=1))

    def load_known(s: Session, recon: str) -> Any:
        known = real(s, recon)
        # the operator acts after the run has read what the store knows, before it writes
        operator.append(_run(assign, results, "assign"))
        operator[0].join(1.5)
        return known

    module = recording_mod if path == "rows" else store_mod
    real = module.load_known
    monkeypatch.setattr(module, "load_known", load_known)
    if path == "rows":
        found: Any = [_cand("race2", "2", "7.00")]
    else:  # non-text keys: the candidates' path (plan_run, write_plan)
        found = [_cand("race2", "2", "7.00", key=7)]
    delta = xs.record_run("race2", "r2", found, T0 + timedelta(seconds=2))
    operator[0].join(60)
    assert results == {"assign": "ok"}
    view = xs.get(EID, now=T0)
    assert view is not None
    if path == "rows":
        assert delta.changed == [EID] and view.run_state == RunState.CHANGED
    assert view.status == Status.ASSIGNED and view.owner == "carol"
