"""A payer name that two customers match almost equally well (within 3 points): the name
does not decide. With a 0.5-point margin the higher score won, and a standard price then
made another customer's invoice an automatic match."""

from __future__ import annotations

from reconcile.cash import PartyRule, Status, apply_cash

from .builders import cust, inv, pay

# "BLUEWATER MARINE SUPPLY" scores 97.9 against K2 and 95.7 against K1
CUSTOMERS = [cust("K1", "Bluewater Marina Supply"), cust("K2", "Bluewater Marine Supplys")]


def test_a_near_tie_with_the_amount_open_at_both_is_ambiguous() -> None:
    items = [inv("INV-1", "K1", "1200.00"), inv("INV-2", "K2", "1200.00")]
    r = apply_cash([pay("L1", "1200.00", name="BLUEWATER MARINE SUPPLY")], items, CUSTOMERS)
    (line,) = r.lines
    assert line.proposal is None and line.customer_id is None
    assert [e.category.value for e in line.exceptions] == ["AMBIGUOUS"]
    assert line.exceptions[0].details["candidates"] == "K1,K2"


def test_a_near_tie_settled_by_the_amount_is_only_a_suggestion() -> None:
    """Only K1 has an open 1,200.00: offered, never applied automatically, and held, so a
    later line cannot take the invoice automatically either."""
    items = [inv("INV-1", "K1", "1200.00"), inv("INV-2", "K2", "900.00")]
    lines = [
        pay("L1", "1200.00", name="BLUEWATER MARINE SUPPLY"),
        pay("L2", "1200.00", name="Bluewater Marina Supply"),
    ]
    first, second = apply_cash(lines, items, CUSTOMERS).lines
    assert first.proposal is not None and first.proposal.status == Status.SUGGESTED
    assert first.customer_id == "K1" and first.party_rule == PartyRule.FUZZY
    assert [a.invoice_number for a in first.proposal.applications] == ["INV-1"]
    assert [e.category.value for e in first.exceptions] == ["AMBIGUOUS"]
    assert first.exceptions[0].details["candidates"] == "K1,K2"
    assert second.proposal is None or second.proposal.status != Status.AUTO


def test_a_clear_fuzzy_winner_still_applies() -> None:
    customers = [cust("K1", "Bluewater Marine Supply Co"), cust("K2", "Redwater Marine")]
    items = [inv("INV-1", "K1", "1200.00"), inv("INV-2", "K2", "1200.00")]
    (line,) = apply_cash(
        [pay("L1", "1200.00", name="Bluewatr Marine Supply")], items, customers
    ).lines
    assert line.customer_id == "K1" and line.proposal is not None
    assert line.proposal.status == Status.AUTO
