"""An owner, actor or ticket longer than the store's columns hold (or with a NUL) is one
line naming the option before anything is written, on both stores (PostgreSQL refused it
with the driver's error and the SQL; SQLite stored it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billbridge.state import Store
from reconcile.engine.result import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, Status, WorkflowError

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
EID = "c" * 64


def _store(store: Store) -> ExceptionStore:
    xs = ExceptionStore(store)
    cand = ExceptionCandidate(EID, "lim", "AMOUNT_MISMATCH", {"n": "1"}, "f" * 64, details={})
    xs.record_run("lim", "r1", [cand], T0)
    return xs


def test_a_too_long_owner_is_refused_up_front(store: Store) -> None:
    xs = _store(store)
    with pytest.raises(WorkflowError, match="the owner is 130 characters long; at most 120"):
        xs.assign(EID, "x" * 130, actor="me", now=T0)
    view = xs.get(EID, now=T0)
    assert view is not None and view.status == Status.OPEN and view.owner is None
    # the longest allowed is stored as it is
    xs.assign(EID, "y" * 120, actor="me", now=T0)
    view = xs.get(EID, now=T0)
    assert view is not None and view.owner == "y" * 120


def test_a_too_long_actor_ticket_or_nul_is_refused(store: Store) -> None:
    xs = _store(store)
    with pytest.raises(WorkflowError, match="the actor is 121 characters"):
        xs.acknowledge(EID, actor="a" * 121, now=T0)
    with pytest.raises(WorkflowError, match="the ticket is 200 characters"):
        xs.transition(EID, Status.ACKNOWLEDGED, actor="me", now=T0, ticket="t" * 200)
    with pytest.raises(WorkflowError, match="the owner contains a NUL"):
        xs.assign(EID, "car\x00ol", actor="me", now=T0)
    with pytest.raises(WorkflowError, match="the owner is 121 characters"):
        xs.suppress(
            reason="r", owner="o" * 121, expires_at=T0 + timedelta(days=1), actor="me", now=T0,
            exception_id=EID,
        )  # fmt: skip
    view = xs.get(EID, now=T0)
    assert view is not None and view.status == Status.OPEN
    assert xs.suppressions() == []
