"""The exception frame read from the engine's per-field columns must be the frame read from
the details JSON: same columns, same values, same order, for any data (Hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.engine import reconcile
from uat.entities import definition_for
from uat.frame import exception_frame
from uat.kinds import KINDS
from uat.rootcause import attribute
from uat.spec import EntitySpec, RootCauseSpec

ENTITY = EntitySpec.model_validate(
    {"name": "lines", "kind": "invoice_line", "legacy": {"path": "a"}, "new": {"path": "b"}}
)
DEFINITION = definition_for("t", ENTITY)
FIELDS = [c.name for c in DEFINITION.compare]
CFG = RootCauseSpec.model_validate({"rate_changes": [{"old": "0.19", "new": "0.16"}]})

TEXT = st.sampled_from(["N1", "N2", 'quote"d', "back\\slash", "ünï", " padded ", "", None])
AMOUNT = st.sampled_from(["100.00", "100", "100.001", "-3.5", "0", "1e2", "19.00", None])
ROW = st.fixed_dictionaries(
    {
        "invoice_number": st.sampled_from([f"INV-{i}" for i in range(10)]),
        "line_number": st.sampled_from(["1", "2"]),
        "customer_id": TEXT,
        "item_code": TEXT,
        "currency": st.sampled_from(["EUR", "JPY", "", None]),
        "billing_date": st.sampled_from(["2024-02-10", "2024-02-13", None]),
        "quantity": st.sampled_from(["1", "2", "2.0", None]),
        "net_amount": AMOUNT,
        "tax_amount": AMOUNT,
    }
)
SIDE = st.lists(ROW, max_size=14, unique_by=lambda r: (r["invoice_number"], r["line_number"]))


@settings(max_examples=40, deadline=None)
@given(SIDE, SIDE)
def test_the_engine_columns_give_the_frame_the_details_give(
    legacy: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    result = reconcile(DEFINITION, legacy, new, by_field=True)
    assert result.by_field is not None
    # the rows themselves are those of a run without the columns
    assert result.rows.rows == reconcile(DEFINITION, legacy, new).rows.rows  # type: ignore[union-attr]
    from_json = exception_frame(result.rows, FIELDS)  # type: ignore[arg-type]
    from_engine = exception_frame(result.rows, FIELDS, result.by_field)  # type: ignore[arg-type]
    assert from_engine.table.column_names == from_json.table.column_names
    assert from_engine.table.to_pylist() == from_json.table.to_pylist()


def _attributed(by_field: bool) -> list[tuple[str, tuple[Any, ...], str]]:
    legacy = [
        {"invoice_number": "INV-1", "line_number": "1", "customer_id": "N1", "item_code": "A",
         "currency": "EUR", "billing_date": "2024-02-10", "quantity": "2",
         "net_amount": "100.00", "tax_amount": "19.00"},
        {"invoice_number": "INV-2", "line_number": "1", "customer_id": "N1", "item_code": "A",
         "currency": "EUR", "billing_date": "2024-02-10", "quantity": "2",
         "net_amount": "50.00", "tax_amount": "9.50"},
    ]  # fmt: skip
    new = [
        {**legacy[0], "tax_amount": "16.00"},  # the rate change
        {**legacy[1], "net_amount": "50.01"},  # rounding drift
        {**legacy[1], "invoice_number": "INV-3"},  # extra in the new system
    ]
    result = reconcile(DEFINITION, legacy, new, by_field=by_field)
    assert (result.by_field is not None) is by_field
    kinds = {c.name: c.kind for c in DEFINITION.compare}
    found = attribute(
        result.rows,  # type: ignore[arg-type]
        KINDS["invoice_line"], kinds, (), CFG, result.by_field,
    )  # fmt: skip
    return [(a.key_text, a.causes, str(a.at_risk)) for a in found.items]


def test_attribution_is_the_same_from_either_frame() -> None:
    with_columns = _attributed(by_field=True)
    assert with_columns == _attributed(by_field=False)
    causes = {key: {c.pattern for c in found} for key, found, _ in with_columns}
    assert causes == {
        "invoice_number=INV-1, line_number=1": {"tax_rate_change"},
        "invoice_number=INV-2, line_number=1": {"rounding_drift"},
        "invoice_number=INV-3, line_number=1": {"extra_in_new"},
    }


def test_duplicate_keys_leave_the_frame_to_the_details() -> None:
    row = {"invoice_number": "INV-1", "line_number": "1", "customer_id": "N1", "item_code": "A",
           "currency": "EUR", "billing_date": "2024-02-10", "quantity": "2",
           "net_amount": "100.00", "tax_amount": "19.00"}  # fmt: skip
    result = reconcile(DEFINITION, [row, dict(row)], [dict(row)], by_field=True)
    # duplicates are built in Python: only their details JSON has their fields
    assert result.by_field is None
    frame = exception_frame(result.rows, FIELDS, result.by_field)  # type: ignore[arg-type]
    assert frame.table.column("base").to_pylist() == ["DUPLICATE_IN_A"]


def test_a_table_for_other_rows_is_refused() -> None:
    row = {"invoice_number": "INV-1", "line_number": "1", "customer_id": "N1", "item_code": "A",
           "currency": "EUR", "billing_date": "2024-02-10", "quantity": "2",
           "net_amount": "100.00", "tax_amount": "19.00"}  # fmt: skip
    result = reconcile(DEFINITION, [row], [], by_field=True)
    other = reconcile(DEFINITION, [row, {**row, "line_number": "2"}], [], by_field=True)
    assert other.by_field is not None
    with pytest.raises(ValueError, match="2 engine rows for 1 exceptions"):
        exception_frame(result.rows, FIELDS, other.by_field)  # type: ignore[arg-type]
