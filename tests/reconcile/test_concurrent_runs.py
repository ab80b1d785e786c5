"""Two runs of one recon at once, on either store: the second waits for the first (a lock
per recon taken before it reads what the store knows)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from billbridge.state import Store
from reconcile.exceptions import ExceptionStore
from reconcile.exceptions import recording as recording_mod
from tests.reconcile.concurrency import T0
from tests.reconcile.concurrency import cand as _cand
from tests.reconcile.concurrency import start as _run


def test_two_runs_of_a_recon_at_once(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second waits for the first and finds its exceptions (was: both read an empty
    store, and the second failed on a duplicate key)."""
    import time

    xs = ExceptionStore(store)
    real = recording_mod.load_known

    def load_known(s: Session, recon: str) -> Any:
        known = real(s, recon)
        time.sleep(0.5)  # both have read before either writes (without the lock)
        return known

    monkeypatch.setattr(recording_mod, "load_known", load_known)
    results: dict[str, str] = {}
    deltas = []

    def run(run_id: str) -> None:
        deltas.append(xs.record_run("twice", run_id, [_cand("twice", "1")], T0))

    threads = [_run(lambda: run("a"), results, "a"), _run(lambda: run("b"), results, "b")]
    for t in threads:
        t.join(60)
    assert results == {"a": "ok", "b": "ok"}
    assert sorted((len(d.new), len(d.still_open)) for d in deltas) == [(0, 1), (1, 0)]
