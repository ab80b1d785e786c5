"""A payment that names an invoice of the customer's series that is not open (paid
already, or not in the file) is not applied to another invoice by its amount alone: the
amount fitting is a guess, held as a suggestion (a second payment of a paid invoice must
not settle the next one)."""

from __future__ import annotations

from reconcile.cash import Rule, Status, apply_cash

from .builders import CUSTOMERS, inv, pay


def test_a_second_payment_of_a_paid_invoice_is_held_not_applied_to_the_next() -> None:
    items = [inv("INV-1001", "C4", "100.00"), inv("INV-1005", "C4", "100.00")]
    lines = [
        pay("M2", "100.00", name="Umbrella Ltd", text="INV-1001"),
        pay("M3", "100.00", name="Umbrella Ltd", text="INV-1001 duplicate payment"),
    ]
    first, second = apply_cash(lines, items, CUSTOMERS).lines
    assert first.proposal is not None and first.proposal.status == Status.AUTO
    assert second.proposal is not None
    assert [a.invoice_number for a in second.proposal.applications] == ["INV-1005"]
    assert second.proposal.status == Status.SUGGESTED
    (exc,) = second.exceptions
    assert exc.category.value == "AMBIGUOUS"
    assert exc.details == {"cause": "named_invoice_not_open"}
    assert "INV1001" in exc.reason and "INV-1005" in exc.reason


def test_an_invoice_not_in_the_file_holds_the_amount_match_too() -> None:
    items = [inv("INV-2002", "C4", "75.00")]
    (r,) = apply_cash(
        [pay("L1", "75.00", name="Umbrella", text="INV-9999")], items, CUSTOMERS
    ).lines
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED


def test_other_numbers_in_the_memo_do_not_hold_an_amount_match() -> None:
    """A check or PO number, or a token of another series, names no invoice of this one."""
    items = [inv("INV-2002", "C4", "75.00")]
    for text in ("CHECK 48213", "PO4500012345", "ACH CREDIT"):
        (r,) = apply_cash([pay("L1", "75.00", name="Umbrella", text=text)], items, CUSTOMERS).lines
        assert r.proposal is not None, text
        assert (r.proposal.status, r.proposal.rule) == (Status.AUTO, Rule.UNIQUE_AMOUNT), text


def test_a_held_amount_match_keeps_its_invoice_a_candidate_for_later_payments() -> None:
    """L1's amount match is held for a person after its tier spent INV-2002: the money is
    only held, so L2's combination of the other invoices is not "the only fit"."""
    items = [
        inv("INV-2002", "C4", "75.00"),
        inv("INV-2003", "C4", "50.00"),
        inv("INV-2004", "C4", "25.00"),
    ]
    lines = [
        pay("L1", "75.00", name="Umbrella", text="INV-9999"),
        pay("L2", "75.00", name="Umbrella"),
    ]
    first, second = apply_cash(lines, items, CUSTOMERS).lines
    assert first.proposal is not None and first.proposal.status == Status.SUGGESTED
    assert second.proposal is not None and second.proposal.status == Status.SUGGESTED
