"""A suppression made, or one that ended, while a run or an action of the recon is in
progress, on either store: ``suppress`` and ``expire_suppressions`` take the recon's lock
as runs and transitions do, and read the statuses after it. Was: a run rewrote a
just-suppressed exception's status from its stale copy (suppressed, yet shown OPEN), a
suppression was made for an exception the run had just resolved, an expiry put a resolved
exception back to OPEN, and an expiry and a resolve both acted on SUPPRESSED."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timedelta
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

CASES = [("rows", "changed"), ("candidates", "changed"), ("rows", "gone")]


def _during_run(
    xs: ExceptionStore,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    data: str,
    action: Any,
    results: dict[str, str],
    at: datetime,
) -> None:
    """Record run r2 at ``at``; ``action`` starts after the run has read what the store
    knows, before it writes (and is given 1.5 s to finish before the run goes on)."""
    operator: list[threading.Thread] = []

    def load_known(s: Session, recon: str) -> Any:
        known = real(s, recon)
        operator.append(_run(action, results, "op"))
        operator[0].join(1.5)
        return known

    module = recording_mod if path == "rows" else store_mod
    real = module.load_known
    monkeypatch.setattr(module, "load_known", load_known)
    if data == "gone":
        found: Any = []
    elif path == "rows":
        found = [_cand("sup", "2", "7.00")]
    else:  # non-text keys: the candidates' path (plan_run, write_plan)
        found = [_cand("sup", "2", "7.00", key=7)]
    xs.record_run("sup", "r2", found, at)
    operator[0].join(60)


@pytest.mark.parametrize(("path", "data"), CASES)
def test_a_suppress_during_a_run(
    store: Store, monkeypatch: pytest.MonkeyPatch, path: str, data: str
) -> None:
    xs = ExceptionStore(store)
    xs.record_run("sup", "r1", [_cand("sup", "1", key=7 if path == "candidates" else "INV-R")], T0)
    results: dict[str, str] = {}

    def suppress() -> None:
        xs.suppress(reason="timing", owner="ar", expires_at=T0 + timedelta(days=7),
                    actor="alice", now=T0 + timedelta(seconds=1), exception_id=EID)  # fmt: skip

    _during_run(xs, monkeypatch, path, data, suppress, results, T0 + timedelta(seconds=2))
    view = xs.get(EID, now=T0)
    assert view is not None
    if data == "gone":
        # the run resolved it first: nothing to park, and no suppression half-made
        assert view.status == Status.RESOLVED
        assert results["op"].startswith("WorkflowError") and "is RESOLVED" in results["op"]
        assert xs.suppressions() == []
        return
    assert results == {"op": "ok"}
    assert view.status == Status.SUPPRESSED and view.run_state == RunState.CHANGED
    assert len(xs.suppressions()) == 1


@pytest.mark.parametrize(("path", "data"), CASES)
def test_an_expiry_during_a_run(
    store: Store, monkeypatch: pytest.MonkeyPatch, path: str, data: str
) -> None:
    xs = ExceptionStore(store)
    xs.record_run("sup", "r1", [_cand("sup", "1", key=7 if path == "candidates" else "INV-R")], T0)
    xs.suppress(reason="timing", owner="ar", expires_at=T0 + timedelta(hours=1), actor="alice",
                now=T0, exception_id=EID)  # fmt: skip
    results: dict[str, str] = {}
    expired: list[list[str]] = []

    def expire() -> None:
        expired.append(xs.expire_suppressions(T0 + timedelta(hours=2)))

    # the run is at a time its suppression still covers the exception; the expiry after
    _during_run(xs, monkeypatch, path, data, expire, results, T0 + timedelta(minutes=30))
    assert results == {"op": "ok"}
    view = xs.get(EID, now=T0)
    assert view is not None
    ended = [e for e in xs.history(EID) if e.event == "SUPPRESSION_ENDED"]
    if data == "gone":
        # resolved by the run first: nothing left to return to OPEN
        assert expired == [[]] and ended == []
        assert view.status == Status.RESOLVED and view.resolved_at is not None
        return
    # the run kept it SUPPRESSED (covered at its time), then the expiry ended it
    assert expired == [[EID]] and len(ended) == 1
    assert view.status == Status.OPEN and view.run_state == RunState.CHANGED


def test_an_expiry_and_a_resolve_at_once(store: Store) -> None:
    xs = ExceptionStore(store)
    xs.record_run("sup", "r1", [_cand("sup", "1")], T0)
    xs.suppress(reason="timing", owner="ar", expires_at=T0 + timedelta(hours=1), actor="alice",
                now=T0, exception_id=EID)  # fmt: skip
    later = T0 + timedelta(hours=2)
    # both have read before either writes (without the lock); with it the second waits
    # at its lock and the barrier times out
    barrier = threading.Barrier(2, timeout=3)

    def wait_both(session: Session, *_: Any) -> None:
        if threading.current_thread().name.startswith("op-"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    event.listen(Session, "before_flush", wait_both)
    results: dict[str, str] = {}
    expired: list[list[str]] = []

    def expire() -> None:
        expired.append(xs.expire_suppressions(later))

    def resolve() -> None:
        xs.resolve(EID, "FIXED_IN_SOURCE", actor="bob", now=later)

    try:
        threads = [_run(expire, results, "expire"), _run(resolve, results, "resolve")]
        for t in threads:
            t.join(60)
    finally:
        event.remove(Session, "before_flush", wait_both)
    assert results == {"expire": "ok", "resolve": "ok"}
    view = xs.get(EID, now=later)
    assert view is not None
    assert view.status == Status.RESOLVED and view.resolved_at is not None
    resolved = [e for e in xs.history(EID) if e.event == Status.RESOLVED]
    assert len(resolved) == 1 and resolved[0].details is not None
    # either the expiry went first and the resolve saw OPEN, or the resolve went first
    # and the expiry found nothing to end (was: both acted on SUPPRESSED)
    if expired == [[EID]]:
        assert resolved[0].details["from"] == Status.OPEN
    else:
        assert expired == [[]] and resolved[0].details["from"] == Status.SUPPRESSED


def test_nothing_to_expire_does_not_wait_for_a_run(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``exceptions`` command expires suppressions first: with none due it takes no
    lock, so it does not wait for a run being recorded (on SQLite the whole database's)."""
    xs = ExceptionStore(store)
    xs.record_run("sup", "r1", [_cand("sup", "1")], T0)
    xs.suppress(reason="timing", owner="ar", expires_at=T0 + timedelta(days=7), actor="alice",
                now=T0, exception_id=EID)  # fmt: skip
    results: dict[str, str] = {}
    during: list[dict[str, str]] = []
    expired: list[list[str]] = []

    def expire() -> None:
        expired.append(xs.expire_suppressions(T0 + timedelta(hours=2)))

    real = recording_mod.load_known

    def load_known(s: Session, recon: str) -> Any:
        known = real(s, recon)
        t = _run(expire, results, "op")
        t.join(20)  # well under SQLite's busy timeout: a lock taken would still be waiting
        during.append(dict(results))
        return known

    monkeypatch.setattr(recording_mod, "load_known", load_known)
    xs.record_run("sup", "r2", [_cand("sup", "1")], T0 + timedelta(hours=1))
    assert during == [{"op": "ok"}] and expired == [[]]
