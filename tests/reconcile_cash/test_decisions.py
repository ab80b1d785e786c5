"""Decisions remembered in match_decisions feed the next run."""

from __future__ import annotations

from datetime import date

from billbridge.state import Store
from reconcile.cash import apply_cash
from reconcile.cash.decisions import Decision, decided, record_decision

from .builders import CUSTOMERS, inv, pay


def test_rejection_is_stored_and_the_suggestion_stays_away(store: Store) -> None:
    items = [inv("X-1", "C4", "50.00", issued=date(2024, 1, 1)), inv("X-2", "C4", "50.00")]
    line = pay("L1", "50.00", name="Umbrella")
    first = apply_cash([line], items, CUSTOMERS).lines[0].proposal
    assert first is not None
    record_decision(store, first, Decision.ACCEPTED, actor="ar.clerk")
    record_decision(store, first, Decision.REJECTED, actor="ar.lead")  # latest wins
    assert decided(store, Decision.REJECTED) == {first.proposal_id}
    assert decided(store, Decision.ACCEPTED) == set()
    rerun = apply_cash([line], items, CUSTOMERS, rejected=decided(store, Decision.REJECTED))
    assert rerun.lines[0].proposal is None
