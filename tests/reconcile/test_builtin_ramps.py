"""CRM vs billing on ramp deals: one booking line sold as consecutive date segments with
different quantities or prices (10 seats in the first half, 20 in the second). A ramp on
both sides agrees; a ramp billed flat, or ramped to another quantity, is a mismatch on
the ramp itself; a split charge (overlapping dates) is still summed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import Contract, ContractLine, Subscription, SubscriptionCharge
from canonical.enums import ContractStatus, SubscriptionStatus
from canonical.money import Money
from reconcile.builtin import reconcile_records, sides_from_records

START, MID, END = date(2024, 1, 1), date(2024, 7, 1), date(2024, 12, 31)
H1_END = date(2024, 6, 30)  # the CRM writes a segment's last day; Zuora the next start


def _contract(*segments: tuple[str, str, date, date]) -> Contract:
    return Contract(
        source_system="salesforce",
        source_id="C-1",
        customer_id="ACC-1",
        currency="USD",
        start_date=START,
        end_date=END,
        status=ContractStatus.ACTIVATED,
        lines=tuple(
            ContractLine(
                line_id=f"L{n}",
                sku="SKU-A",
                quantity=Decimal(qty),
                net_unit_price=Money(price, "USD"),
                start_date=start,
                end_date=end,
            )
            for n, (qty, price, start, end) in enumerate(segments)
        ),
    )


def _subscription(*segments: tuple[str, str, date, date]) -> Subscription:
    return Subscription(
        source_system="zuora",
        source_id="S1",
        subscription_number="A-S1",
        customer_id="ZA-1",
        currency="USD",
        term_start=START,
        term_end=END,
        contract_ref="C-1",
        status=SubscriptionStatus.ACTIVE,
        charges=tuple(
            SubscriptionCharge(
                charge_number=f"C-{n}",
                sku="SKU-A",
                quantity=Decimal(qty),
                unit_price=Money(price, "USD"),
                start_date=start,
                end_date=end,
            )
            for n, (qty, price, start, end) in enumerate(segments)
        ),
    )


CRM_RAMP = (("10", "50.00", START, H1_END), ("20", "50.00", MID, END))


def test_a_ramp_booked_and_billed_alike_agrees() -> None:
    billed = _subscription(("10", "50.00", START, MID), ("20", "50.00", MID, END))
    result = reconcile_records("crm_vs_billing", [_contract(*CRM_RAMP)], [billed])
    assert result.exceptions == []
    a, b = sides_from_records("crm_vs_billing", [_contract(*CRM_RAMP)], [billed])
    assert [r["ramp"] for r in a] == [r["ramp"] for r in b] == ["10 × 50.00 → 20 × 50.00"]
    # the run rate it ramps to, over the whole term
    assert (a[0]["quantity"], a[0]["term_start"], a[0]["term_end"]) == (20, START, END)


def test_a_price_ramp_agrees_to_the_cent() -> None:
    crm = _contract(("5", "33.3333", START, H1_END), ("5", "40.00", MID, END))
    billed = _subscription(("5", "33.33", START, MID), ("5", "40", MID, END))
    assert reconcile_records("crm_vs_billing", [crm], [billed]).exceptions == []


def test_a_ramp_billed_flat_is_a_ramp_mismatch() -> None:
    """Billing charges 20 seats all year: the same run rate, but half a year over-billed."""
    billed = _subscription(("20", "50.00", START, END))
    result = reconcile_records("crm_vs_billing", [_contract(*CRM_RAMP)], [billed])
    assert len(result.exceptions) == 1
    (only,) = result.exceptions
    assert only.details["diff_columns"] == ["ramp"]
    assert only.details["a"]["ramp"] == "10 × 50.00 → 20 × 50.00"
    assert only.details["b"]["ramp"] is None


def test_a_ramp_to_another_quantity_differs_in_quantity_and_ramp() -> None:
    billed = _subscription(("10", "50.00", START, MID), ("25", "50.00", MID, END))
    result = reconcile_records("crm_vs_billing", [_contract(*CRM_RAMP)], [billed])
    assert len(result.exceptions) == 1
    assert set(result.exceptions[0].details["diff_columns"]) == {"quantity", "mrr", "acv", "ramp"}


def test_overlapping_lines_are_no_ramp() -> None:
    """A split charge (two charges over the same dates) is summed as before; two CRM
    lines over the same dates stay a duplicate key, not a ramp."""
    crm = _contract(("10", "50.00", START, END))
    split = _subscription(("6", "50.00", START, END), ("4", "50.00", START, END))
    assert reconcile_records("crm_vs_billing", [crm], [split]).exceptions == []
    doubled = _contract(("10", "50.00", START, END), ("10", "50.00", START, END))
    billed = _subscription(("10", "50.00", START, END))
    found = reconcile_records("crm_vs_billing", [doubled], [billed]).exceptions
    assert [e.details["base_category"] for e in found] == ["DUPLICATE_IN_A"]
