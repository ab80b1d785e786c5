"""Suite and cash candidates go into the exception store and keep their identity."""

from __future__ import annotations

from datetime import UTC, datetime

from billbridge.state import Store
from reconcile.cash import apply_cash
from reconcile.exceptions import ExceptionStore
from reconcile.suite.common import to_store_candidates
from tests.reconcile_cash.builders import CUSTOMERS, inv, pay


def test_cash_exceptions_are_stable_across_runs(sqlite_store: Store) -> None:
    items = [inv("INV-100", "C2", "80.00")]
    lines = [pay("L1", "100.00", text="INV-100"), pay("L2", "5.00", name="Nobody")]
    cands = to_store_candidates(apply_cash(lines, items, CUSTOMERS).to_exception_candidates())
    assert {(c.category, c.keys["line_id"]) for c in cands} == {
        ("OVERPAY", "L1"),
        ("UNAPPLIED", "L2"),
    }
    store = ExceptionStore(sqlite_store)
    first = store.record_run("cash_application", "r1", cands, datetime(2024, 3, 1, tzinfo=UTC))
    assert sorted(first.new) == sorted(c.exception_id for c in cands)
    again = to_store_candidates(apply_cash(lines, items, CUSTOMERS).to_exception_candidates())
    second = store.record_run("cash_application", "r2", again, datetime(2024, 3, 2, tzinfo=UTC))
    assert second.new == [] and sorted(second.still_open) == sorted(first.new)
