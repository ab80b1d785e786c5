"""A mixed batch with planted outcomes: every planted exception is found, nothing else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import Money, Payment
from reconcile.cash import CashResult, Status, applications_to_intents, apply_cash

from .builders import CUSTOMERS, inv, pay

ITEMS = [
    inv("INV-1001", "C1", "100.00"),
    inv("INV-1002", "C1", "250.00"),
    inv("INV-1003", "C1", "40.00"),
    inv("INV-2001", "C2", "500.00"),
    inv("INV-2002", "C2", "75.25"),
    inv("INV-3001", "C3", "60.00", issued=date(2024, 1, 10)),
    inv("INV-3002", "C3", "60.00", issued=date(2024, 1, 20)),
    inv("INV-4001", "C4", "10.00"),
    inv("INV-4002", "C4", "32.00"),
    inv("INV-4003", "C4", "18.00"),
    inv("INV-5001", "C5", "999.00"),
]
LINES = [
    pay("B01", "100.00", text="INV-1001"),  # clean single reference
    pay("B02", "290.00", text="Invoices 1002 and 1003"),  # two references, exact sum
    pay("B03", "490.00", text="INV-2001", name="Globex"),  # short within 3%: deduction
    pay("B04", "50.00", text="INV-2002"),  # short beyond tolerance: SHORT_PAY
    pay("B05", "60.00", name="Initech GmbH"),  # two equal amounts: suggestion + AMBIGUOUS
    pay("B06", "42.00", name="UMBRELLA LTD"),  # unique subset 10 + 32
    pay("B07", "1099.00", text="INV-5001"),  # overpay: OVERPAY, 100 on account
    pay("B08", "12.34", name="Nobody at all"),  # unknown payer: UNAPPLIED
    pay("B09", "7.00", name="Stark Manufacturing"),  # known payer, no match
]
PLANTED = {
    ("B03", None),
    ("B04", "SHORT_PAY"),
    ("B05", "AMBIGUOUS"),
    ("B07", "OVERPAY"),
    ("B08", "UNAPPLIED"),
    ("B09", "UNIDENTIFIED_INVOICE"),
}


def run() -> CashResult:
    return apply_cash(LINES, ITEMS, CUSTOMERS)


def test_exactly_the_planted_exceptions() -> None:
    found = {(c["keys"]["line_id"], c["category"]) for c in run().to_exception_candidates()}
    assert found == {p for p in PLANTED if p[1] is not None}


def test_applications_of_the_batch() -> None:
    by_line = {r.line.line_id: r for r in run().lines}
    expected = {
        "B01": {"INV-1001": "100.00"},
        "B02": {"INV-1002": "250.00", "INV-1003": "40.00"},
        "B03": {"INV-2001": "490.00"},
        "B04": {"INV-2002": "50.00"},
        "B05": {"INV-3001": "60.00"},
        "B06": {"INV-4001": "10.00", "INV-4002": "32.00"},
        "B07": {"INV-5001": "999.00"},
    }
    for line_id, apps in expected.items():
        prop = by_line[line_id].proposal
        assert prop is not None, line_id
        assert {a.invoice_number: str(a.amount.amount) for a in prop.applications} == apps
    assert by_line["B03"].proposal is not None
    assert by_line["B03"].proposal.applications[0].deduction is not None
    assert by_line["B08"].proposal is None and by_line["B09"].proposal is None


def test_exception_candidates_carry_store_fields() -> None:
    cands = {c["keys"]["line_id"]: c for c in run().to_exception_candidates()}
    short = cands["B04"]
    assert short["amount"] == Decimal("25.25") and short["currency"] == "USD"
    assert short["severity"] == "low"
    assert short["details"]["invoice_numbers"] == ["INV-2002"]
    assert short["details"]["match_rule"] == "reference_short"
    assert short["details"]["cause"] == "source_imbalance"
    assert cands["B08"]["details"]["cause"] == "no_candidate"
    assert "proposal_id" in cands["B05"]["details"]


def test_match_rate_kpis() -> None:
    kpis = run().kpis()
    # header: 8 of 9 payers identified (B08 unknown), B05 by a suggestion
    assert (kpis.header.auto, kpis.header.suggested, kpis.header.unmatched) == (7, 1, 1)
    # line: fully applied B01-B04, B06 auto; B05 suggested; B07 overpaid, B08, B09 not
    assert (kpis.line.auto, kpis.line.suggested, kpis.line.unmatched) == (5, 1, 3)
    assert kpis.line.auto_rate == Decimal("0.5556")
    assert kpis.unapplied_by_currency == {"USD": Decimal("119.34")}


def test_only_approved_applications_become_payment_intents() -> None:
    result = run()
    intents = applications_to_intents(result.lines, target_system="netsuite")
    assert [i.source_id for i in intents] == ["B01", "B02", "B03", "B04", "B06", "B07"]
    b02 = intents[1]
    assert b02.entity == "payment" and b02.target_system == "netsuite"
    assert [a["invoice_number"] for a in b02.payload["applications"]] == ["INV-1002", "INV-1003"]
    assert intents[2].payload["extra"]["deductions"] == [
        {"invoice_number": "INV-2001", "amount": "10.00", "reason": "SHORT_PAY_TOLERANCE"}
    ]
    # the payload is a canonical Payment
    payment = Payment.model_validate(b02.payload)
    assert payment.applied_amount == Money("290.00", "USD") and payment.customer_id == "C1"
    # deterministic keys: same inputs, same keys
    again = applications_to_intents(run().lines, target_system="netsuite")
    assert [i.idempotency_key for i in again] == [i.idempotency_key for i in intents]
    suggestion = next(p for p in result.proposals(Status.SUGGESTED) if p.line_id == "B05")
    accepted = applications_to_intents(
        result.lines, target_system="netsuite", accepted={suggestion.proposal_id}
    )
    assert "B05" in [i.source_id for i in accepted]
    other = applications_to_intents(result.lines, target_system="zuora")
    assert other[0].idempotency_key != intents[0].idempotency_key


def test_kpis_in_the_match_rate_api_shape() -> None:
    shape = run().kpis().as_dict()
    assert shape["line"] == {
        "totalCount": 9,
        "autoMatchedCount": 5,
        "suggestedCount": 1,
        "suggestedAcceptedCount": 0,
        "unmatchedCount": 3,
        "autoMatchRate": "0.5556",
        "matchRate": "0.6667",
    }
    assert shape["unappliedByCurrency"] == {"USD": "119.34"}
    result = run()
    (suggestion,) = result.proposals(Status.SUGGESTED)
    accepted = result.kpis(accepted={suggestion.proposal_id})
    assert (accepted.line.suggested_accepted, accepted.header.suggested_accepted) == (1, 1)
