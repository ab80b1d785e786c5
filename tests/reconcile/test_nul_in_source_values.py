"""A NUL character in a key or currency from a dirty source file is recorded on both stores
(PostgreSQL failed the whole run: its text columns refuse NUL). The keys come back exactly
(JSON); PostgreSQL's key text and currency hold U+FFFD in its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billbridge.state import Store
from reconcile.engine.result import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, RunState, Status

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def _cand(eid: str, fp: str) -> ExceptionCandidate:
    return ExceptionCandidate(
        eid * 64,
        "nul",
        "AMOUNT_MISMATCH",
        {"number": f"INV-\x00{eid}"},
        fp * 64,
        details={"total": "1\x002"},
        amount=Decimal("1.00"),
        currency="U\x00D",
    )


def test_a_nul_in_a_key_or_currency_is_recorded(store: Store) -> None:
    xs = ExceptionStore(store)
    shown = "\x00" if store.dialect == "sqlite" else "\ufffd"
    # new (the rows' fast path), then changed (a rewrite), then gone (resolved by the data)
    d1 = xs.record_run("nul", "r1", [_cand("a", "1"), _cand("b", "1")], T0)
    assert len(d1.new) == 2
    d2 = xs.record_run("nul", "r2", [_cand("a", "2")], T0 + timedelta(days=1))
    assert d2.changed == ["a" * 64] and d2.resolved_by_data == ["b" * 64]
    changed = xs.get("a" * 64, now=T0)
    assert changed is not None and changed.run_state == RunState.CHANGED
    assert changed.keys == {"number": "INV-\x00a"}
    assert changed.key_text == f"INV-{shown}a" and changed.currency == f"U{shown}D"
    gone = xs.get("b" * 64, now=T0)
    assert gone is not None and gone.status == Status.RESOLVED
    assert gone.keys == {"number": "INV-\x00b"}
