"""An invoice number open twice in the ERP (a duplicate sync) is a finding, not a crash."""

from __future__ import annotations

from reconcile.cash import apply_cash

from .builders import CUSTOMERS, inv, pay


def test_duplicated_open_invoice_is_never_applied_automatically_and_is_reported() -> None:
    items = [
        inv("INV-500", "C1", "100.00"),
        inv("INV-500", "C1", "100.00"),  # the same invoice synced twice
        inv("INV-501", "C2", "75.00"),
    ]
    lines = [
        pay("L1", "100.00", name="Acme Industries Inc.", text="INV-500"),
        pay("L2", "75.00", name="Globex Corporation", text="INV-501"),
    ]
    result = apply_cash(lines, items, CUSTOMERS)

    by_id = {r.line.line_id: r for r in result.lines}
    assert by_id["L2"].proposal is not None
    assert [a.invoice_number for a in by_id["L2"].proposal.applications] == ["INV-501"]
    applied_500 = [
        a
        for r in result.lines
        if r.proposal is not None
        for a in r.proposal.applications
        if a.invoice_number == "INV-500"
        if r.proposal.status.value == "auto"
    ]
    assert applied_500 == []

    (dup,) = result.duplicate_open_items
    assert (dup.invoice_number, dup.copies, dup.open_minor) == ("INV-500", 2, 10000)
    cands = [c for c in result.to_exception_candidates() if c["category"] == "DUPLICATE_OPEN_ITEM"]
    assert [c["keys"] for c in cands] == [{"invoice_number": "INV-500"}]
    assert str(cands[0]["amount"]) == "100.00"
