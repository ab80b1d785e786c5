"""Property tests of the three-sided engine (Hypothesis), against a plain-Python oracle of the
categories: presence, duplicates and every pair's tolerance check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.definitions import ReconDefinition, parse_definitions
from reconcile.engine import ReconResult, reconcile
from reconcile.engine.three_way import reconcile_three_way
from reconcile.exceptions import exception_id
from tests.reconcile.helpers import INVOICES_YAML

THREE_YAML = INVOICES_YAML.replace("name: invoices", "name: invoices3").replace(
    "b: {label: erp}", "b: {label: erp}\nc: {label: gl}"
)
KEYS = st.sampled_from([f"INV-{i}" for i in range(8)] + ["inv-1", " INV-2 "])
ROWS = st.fixed_dictionaries(
    {
        "number": KEYS,
        "total": st.sampled_from(["100.00", "100", "100.01", "100.02", "99.99", "7.5", None]),
        "issued": st.sampled_from(["2024-01-01", "2024-01-02", "2024-01-03", None]),
        "status": st.sampled_from(["posted", "Posted", "void", None]),
        "currency": st.just("USD"),
    }
)
SIDE = st.lists(ROWS, max_size=12)
UNIQUE_SIDE = st.lists(ROWS, max_size=10, unique_by=lambda r: str(r["number"]).strip().lower())
FAST = settings(max_examples=20, deadline=None)
SIDES = ("a", "b", "c")


def three() -> ReconDefinition:
    return parse_definitions(THREE_YAML, "three.yaml")[0]


def _key(r: dict[str, Any]) -> str:
    return str(r["number"]).strip().lower()


def _equal(kind: str, x: str | None, y: str | None) -> bool:
    """The definition's tolerances: total ±0.01, issued ±1 day, status case-folded."""
    if x is None or y is None:
        return x is None and y is None
    if kind == "total":
        return abs(Decimal(x) - Decimal(y)) <= Decimal("0.01")
    if kind == "issued":
        return abs((date.fromisoformat(x) - date.fromisoformat(y)).days) <= 1
    return x.strip().lower() == y.strip().lower()


def _summed(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """An aggregated side's group: totals summed, the earliest date, the least status."""
    totals = [Decimal(r["total"]) for r in rows if r["total"] is not None]
    issued = [r["issued"] for r in rows if r["issued"] is not None]
    status = [r["status"].strip().lower() for r in rows if r["status"] is not None]
    return {
        "total": str(sum(totals)) if totals else None,
        "issued": min(issued) if issued else None,
        "status": min(status) if status else None,
    }


def expected_categories(
    sides: dict[str, list[dict[str, Any]]], aggregated: str | None = None
) -> dict[str, str | None]:
    """Key -> base category, None for matched: what the engine must find."""
    by_side = {s: {} for s in SIDES}  # type: dict[str, dict[str, list[dict[str, Any]]]]
    for s, rows in sides.items():
        for r in rows:
            by_side[s].setdefault(_key(r), []).append(r)
    out: dict[str, str | None] = {}
    for key in set().union(*by_side.values()):
        counts = {s: len(by_side[s].get(key, [])) for s in SIDES}
        dup = [s for s in SIDES if counts[s] > 1 and s != aggregated]
        present = [s for s in SIDES if counts[s]]
        if dup:
            out[key] = f"DUPLICATE_IN_{dup[0].upper()}" if len(dup) == 1 else "DUPLICATE"
        elif len(present) == 1:
            out[key] = f"ONLY_IN_{present[0].upper()}"
        elif len(present) == 2:
            out[key] = "MISSING_IN_" + next(s for s in SIDES if s not in present).upper()
        else:
            row = {s: by_side[s][key][0] for s in SIDES}
            if aggregated:
                row[aggregated] = _summed(by_side[aggregated][key])
            out[key] = None
            pairs = (("a", "b"), ("a", "c"), ("b", "c"))
            if aggregated is not None and counts[aggregated] > 1:
                # the group does not add up: its sum differs from both other sides
                own = [(p, q) for p, q in pairs if aggregated in (p, q)]
                if not any(_equal("total", row[p]["total"], row[q]["total"]) for p, q in own):
                    out[key] = "MANY_TO_ONE"
                    continue
            for field, category in (
                ("total", "AMOUNT_MISMATCH"),
                ("issued", "DATE_MISMATCH"),
                ("status", "STATUS_MISMATCH"),
            ):
                if not all(_equal(field, row[p][field], row[q][field]) for p, q in pairs):
                    out[key] = category
                    break
    return out


def _signature(result: ReconResult) -> set[tuple[str, str, str]]:
    return {(e.exception_id, e.category, e.fingerprint) for e in result.exceptions}


@FAST
@given(UNIQUE_SIDE)
def test_a_data_set_reconciled_with_itself_on_three_sides_has_no_exception(
    rows: list[dict[str, Any]],
) -> None:
    result = reconcile_three_way(three(), rows, [dict(r) for r in rows], [dict(r) for r in rows])
    assert result.exceptions == []
    assert result.counts["MATCHED"] == len(rows)
    assert result.summary["row_summary"]["keys_total"] == len(rows)
    assert result.summary["row_summary"]["match_rate"] == 1.0


@FAST
@given(SIDE, SIDE, SIDE)
def test_every_key_lands_in_exactly_one_category_the_oracle_names(
    a: list[dict[str, Any]], b: list[dict[str, Any]], c: list[dict[str, Any]]
) -> None:
    result = reconcile_three_way(three(), a, b, c)
    expected = expected_categories({"a": a, "b": b, "c": c})
    found = [(e.keys["number"], e.details["base_category"]) for e in result.exceptions]
    keys = [k for k, _ in found]
    assert len(keys) == len(set(keys)), "a key appears in two exceptions"
    assert dict(found) == {k: v for k, v in expected.items() if v is not None}
    matched = sum(v is None for v in expected.values())
    assert result.counts["MATCHED"] == matched
    rs = result.summary["row_summary"]
    assert rs["keys_total"] == len(expected)
    assert rs["match_rate"] == (round(matched / len(expected), 6) if expected else 1.0)
    assert (rs["df1_rows"], rs["df2_rows"], rs["df3_rows"]) == (len(a), len(b), len(c))
    for e in result.exceptions:
        # ids from the shared identity function; categories as the definition names them
        assert e.exception_id == exception_id("invoices3", e.keys, e.category)
        assert e.category == three().category(e.details["base_category"])


@FAST
@given(SIDE, SIDE, SIDE)
def test_an_aggregated_side_is_summed_per_key_before_every_pair_is_compared(
    a: list[dict[str, Any]], b: list[dict[str, Any]], c: list[dict[str, Any]]
) -> None:
    d = parse_definitions(THREE_YAML.replace("{label: gl}", "{label: gl, aggregate: true}"))[0]
    result = reconcile_three_way(d, a, b, c)
    expected = expected_categories({"a": a, "b": b, "c": c}, aggregated="c")
    found = {e.keys["number"]: e.details["base_category"] for e in result.exceptions}
    assert found == {k: v for k, v in expected.items() if v is not None}
    assert result.counts["MATCHED"] == sum(v is None for v in expected.values())


@FAST
@given(SIDE, SIDE, SIDE, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(
    a: list[dict[str, Any]], b: list[dict[str, Any]], c: list[dict[str, Any]], rnd: Any
) -> None:
    shuffled = [list(a), list(b), list(c)]
    for side in shuffled:
        rnd.shuffle(side)
    first = reconcile_three_way(three(), a, b, c)
    again = reconcile_three_way(three(), *shuffled)
    assert _signature(first) == _signature(again)
    assert first.counts == again.counts
    assert [e.details["context"] for e in first.exceptions] == [
        e.details["context"] for e in again.exceptions
    ]


@FAST
@given(SIDE, SIDE)
def test_with_c_a_copy_of_b_the_two_sided_categories_come_back(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> None:
    """B and C always agree, so each key's outcome is the two-sided A-B one (A alone is
    ONLY_IN_A; a key repeated on B repeats on C too)."""
    d3 = three()
    two = reconcile(d3.model_copy(update={"c": None}), a, b)
    result = reconcile_three_way(d3, a, b, [dict(r) for r in b])
    rename = {"MISSING_IN_B": "ONLY_IN_A"}
    assert {e.keys["number"]: e.category for e in result.exceptions} == {
        e.keys["number"]: rename.get(e.category, e.category) for e in two.exceptions
    }
    assert result.counts["MATCHED"] == two.counts["MATCHED"]
