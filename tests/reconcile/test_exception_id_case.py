"""An exception id or prefix given in capitals finds the exception on both stores (ids are
lower-case hex; SQLite's LIKE ignored the case, PostgreSQL's did not)."""

from __future__ import annotations

from datetime import UTC, datetime

from billbridge.state import Store
from reconcile.engine.result import ExceptionCandidate
from reconcile.exceptions import ExceptionStore
from reconcile.exceptions_cli import _resolve_ids

T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
EID = "ab12cd" + "0" * 58


def test_upper_case_prefix_resolves(store: Store) -> None:
    xs = ExceptionStore(store)
    cand = ExceptionCandidate(
        EID, "case", "AMOUNT_MISMATCH", {"number": "INV-1"}, "f" * 64, details={}
    )
    xs.record_run("case", "r1", [cand], T0)

    assert _resolve_ids(xs, ["AB12CD"]) == [EID]
    assert _resolve_ids(xs, [EID.upper()]) == [EID]
    found = xs.get("AB12CD0", now=T0)
    assert found is not None and found.id == EID
    whole = xs.get(EID.upper(), now=T0)
    assert whole is not None and whole.id == EID
