"""Property tests of the matching engine (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.engine import ReconResult, reconcile
from reconcile.exceptions import exception_id
from tests.reconcile.helpers import invoices

KEYS = st.sampled_from([f"INV-{i}" for i in range(12)])
ROWS = st.fixed_dictionaries(
    {
        "number": KEYS,
        "total": st.integers(-10_000, 10_000).map(lambda c: str(Decimal(c) / 100)),
        "issued": st.sampled_from(["2024-01-01", "2024-01-02", "2024-01-05", None]),
        "status": st.sampled_from(["posted", "Posted", "void", None]),
        "currency": st.sampled_from(["USD", "JPY"]),
    }
)
SIDE = st.lists(ROWS, max_size=15)
UNIQUE_SIDE = st.lists(ROWS, max_size=12, unique_by=lambda r: r["number"])
FAST = settings(max_examples=20, deadline=None)


def _signature(result: ReconResult) -> set[tuple[str, str, str]]:
    return {(e.exception_id, e.category, e.fingerprint) for e in result.exceptions}


@FAST
@given(UNIQUE_SIDE)
def test_a_data_set_reconciled_with_itself_has_no_exception(rows: list[dict[str, Any]]) -> None:
    result = reconcile(invoices(), rows, [dict(r) for r in rows])
    assert result.exceptions == []
    assert result.counts["MATCHED"] == len(rows)
    assert result.summary["row_summary"]["common_rows"] == len(rows)
    assert result.summary["row_summary"]["match_rate"] == 1.0


@FAST
@given(SIDE, SIDE)
def test_every_key_lands_in_exactly_one_category(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> None:
    result = reconcile(invoices(), a, b)
    keys = {r["number"].lower() for r in a} | {r["number"].lower() for r in b}
    exc_keys = [e.keys["number"] for e in result.exceptions]
    # ids computed in SQL agree with the Python identity function
    assert all(
        e.exception_id == exception_id("invoices", e.keys, e.category) for e in result.exceptions
    )
    assert len(exc_keys) == len(set(exc_keys)), "a key appears in two exceptions"
    assert len(set(exc_keys)) + result.counts["MATCHED"] == len(keys)
    rate = result.summary["row_summary"]["match_rate"]
    assert rate == (round(result.counts["MATCHED"] / len(keys), 6) if keys else 1.0)
    assert set(exc_keys) <= keys
    # keys duplicated on a side are DUPLICATE exceptions, never paired
    dup = {
        k
        for k in keys
        if sum(r["number"].lower() == k for r in a) > 1
        or sum(r["number"].lower() == k for r in b) > 1
    }
    assert {e.keys["number"] for e in result.exceptions if e.category == "DUPLICATE"} == dup
    only_a = {r["number"].lower() for r in a} - {r["number"].lower() for r in b} - dup
    assert {e.keys["number"] for e in result.exceptions if e.category == "MISSING_IN_B"} == only_a


@FAST
@given(SIDE, SIDE, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(
    a: list[dict[str, Any]], b: list[dict[str, Any]], rnd: Any
) -> None:
    a2, b2 = list(a), list(b)
    rnd.shuffle(a2)
    rnd.shuffle(b2)
    first, second = reconcile(invoices(), a, b), reconcile(invoices(), a2, b2)
    assert _signature(first) == _signature(second)
    assert first.summary == second.summary


@FAST
@given(UNIQUE_SIDE, st.data())
def test_exact_copies_of_matching_rows_are_duplicates(
    rows: list[dict[str, Any]], data: Any
) -> None:
    """Copies identical to the other side leave no differing join row; the join's own pair
    count must still find every one of them (and nothing else)."""
    copies_a = data.draw(st.lists(st.sampled_from(rows), max_size=3)) if rows else []
    copies_b = data.draw(st.lists(st.sampled_from(rows), max_size=3)) if rows else []
    a = [dict(r) for r in rows + copies_a]
    b = [dict(r) for r in rows + copies_b]
    result = reconcile(invoices(), a, b)
    copied = {r["number"].lower() for r in copies_a + copies_b}
    assert {e.keys["number"] for e in result.exceptions} == copied
    assert all(e.category == "DUPLICATE" for e in result.exceptions)
    assert result.counts["MATCHED"] == len(rows) - len(copied)


TYPED_YAML = """
name: typed
a: {label: billing}
b: {label: erp}
keys: [{name: number}]
compare:
  - {name: total, kind: amount, abs: 0.02}
  - {name: tax, kind: amount, pct: 5}
  - {name: fee, kind: amount}
  - {name: qty, kind: number, abs: 1}
  - {name: issued, kind: date, days: 2}
  - {name: status, kind: status}
amount_field: total
"""
TYPED_ROWS = st.fixed_dictionaries(
    {
        "number": st.sampled_from([f"INV-{i}" for i in range(10)]),
        "total": st.sampled_from([None, "10.00", "10.01", "10.02", "10.03", "-4.50"]),
        "tax": st.sampled_from([None, "2.00", "2.10", "2.11", "1.90", "0.00"]),
        "fee": st.sampled_from([None, "1.00", "1.01"]),
        "qty": st.sampled_from([None, "0", "1", "10", "100", "-20"]),
        "issued": st.sampled_from([None, "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
        "status": st.sampled_from(["posted", "void"]),
    }
)


def _typed(rows: list[dict[str, Any]]) -> Any:
    """The same rows with decimal amounts and real dates (what Parquet and ERPs give)."""
    import datetime as dt

    import pyarrow as pa

    def col(name: str) -> list[Any]:
        return [r[name] for r in rows]

    return pa.table(
        {
            "number": pa.array(col("number"), pa.string()),
            **{
                n: pa.array(
                    [None if v is None else Decimal(v) for v in col(n)], pa.decimal128(12, 2)
                )
                for n in ("total", "tax", "fee")
            },
            # a whole-number decimal: its text has no point, and its zeros are digits
            "qty": pa.array(
                [None if v is None else Decimal(v) for v in col("qty")], pa.decimal128(9, 0)
            ),
            "issued": pa.array(
                [None if v is None else dt.date.fromisoformat(v) for v in col("issued")],
                pa.date32(),
            ),
            "status": pa.array(col("status"), pa.string()),
        }
    )


NUDGES = {
    "total": ["0", "0.01", "-0.02", "0.03"],
    "tax": ["0", "0.05", "-0.10", "0.50"],
    "fee": ["0", "0.01"],
    "qty": ["0", "1", "-1", "90"],
}


def _nudged(row: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The row as the other system might hold it: amounts and dates moved a little (often
    within tolerance), now and then a value gone or a status changed."""
    import datetime as dt

    out = dict(row)
    for name, steps in NUDGES.items():
        if out[name] is not None:
            out[name] = str(Decimal(out[name]) + Decimal(data.draw(st.sampled_from(steps))))
    if out["issued"] is not None:
        day = dt.date.fromisoformat(out["issued"]) + dt.timedelta(
            days=data.draw(st.integers(-3, 3))
        )
        out["issued"] = day.isoformat()
    if data.draw(st.integers(0, 9)) == 0:
        out[data.draw(st.sampled_from(["total", "issued", "status"]))] = None
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(TYPED_ROWS, max_size=12, unique_by=lambda r: r["number"]), st.data())
def test_typed_sides_reconcile_as_their_text_does(
    a: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Decimal and date columns have their tolerances applied inside the join; text ones
    after it. The outcome, details and summary figures must not differ."""
    from reconcile.definitions import parse_definitions

    (d,) = parse_definitions(TYPED_YAML)
    b = [_nudged(r, data) for r in a if data.draw(st.integers(0, 9))]
    as_text, typed = reconcile(d, a, b), reconcile(d, _typed(a), _typed(b))
    assert typed.counts == as_text.counts
    assert [(e.exception_id, e.fingerprint, e.details) for e in typed.exceptions] == [
        (e.exception_id, e.fingerprint, e.details) for e in as_text.exceptions
    ]
    assert typed.summary == as_text.summary
