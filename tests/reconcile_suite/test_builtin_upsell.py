"""CRM vs billing on a mid-term upsell: Salesforce CPQ books the added seats as an extra
contract line from the amendment date, billing amends its charge to the new quantity. The
CRM lines in force are stacked over time and compared with billing's segments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import Contract, ContractLine, Subscription, SubscriptionCharge
from canonical.money import Money
from reconcile.builtin import reconcile_records, sides_from_records

JAN, JUN30, JUL, DEC31, NEXT = (date(2024, 1, 1), date(2024, 6, 30), date(2024, 7, 1),
                                date(2024, 12, 31), date(2025, 1, 1))  # fmt: skip


def _contract(*lines: tuple[str, date, date]) -> Contract:
    return Contract(
        source_system="salesforce", source_id="K3", customer_id="ACC1", currency="USD",
        start_date=JAN, end_date=DEC31,
        lines=tuple(
            ContractLine(line_id=f"L{n}", sku="SKU-U", quantity=Decimal(q),
                         net_unit_price=Money("100.00", "USD"), start_date=s, end_date=e)
            for n, (q, s, e) in enumerate(lines)
        ),
    )  # fmt: skip


def _subscription(*charges: tuple[str, date, date]) -> Subscription:
    return Subscription(
        source_system="zuora", source_id="S3", subscription_number="A-S3", customer_id="ACC1",
        currency="USD", term_start=JAN, term_end=NEXT, contract_ref="K3",
        charges=tuple(
            SubscriptionCharge(charge_number=f"C{n}", sku="SKU-U", quantity=Decimal(q),
                               unit_price=Money("100.00", "USD"), start_date=s, end_date=e)
            for n, (q, s, e) in enumerate(charges)
        ),
    )  # fmt: skip


UPSELL = _contract(("10", JAN, DEC31), ("5", JUL, DEC31))  # +5 seats from July


def test_an_upsell_line_stacks_into_the_seats_in_force_over_time() -> None:
    """Was: two CRM rows for one key, a DUPLICATE never compared."""
    (row,) = sides_from_records("crm_vs_billing", [UPSELL], [])[0]
    # 10 seats Jan-Jun, 15 Jul-Dec at 100.00 a month: runs at 15 x 100 = 1500 MRR
    assert (row["quantity"], row["mrr"], row["acv"]) == (Decimal(15), Decimal(1500), Decimal(18000))
    assert row["ramp"] == "10 × 100.00 → 15 × 100.00"
    assert (row["term_start"], row["term_end"]) == (JAN, DEC31)
    amended = _subscription(("10", JAN, JUL), ("15", JUL, NEXT))  # Zuora: end = next start
    assert reconcile_records("crm_vs_billing", [UPSELL], [amended]).exceptions == []


def test_an_upsell_billing_never_amended_is_a_mismatch() -> None:
    flat = _subscription(("10", JAN, NEXT))
    (found,) = reconcile_records("crm_vs_billing", [UPSELL], [flat]).exceptions
    assert {"quantity", "mrr", "acv", "ramp"} <= set(found.details["diff_columns"])


def test_a_downsell_delta_line_lowers_the_seats() -> None:
    downsell = _contract(("10", JAN, DEC31), ("-4", date(2024, 10, 1), DEC31))
    (row,) = sides_from_records("crm_vs_billing", [downsell], [])[0]
    assert (row["quantity"], row["ramp"]) == (Decimal(6), "10 × 100.00 → 6 × 100.00")
    # an add-on for a few months only: 10, then 12 in Apr-Jun, then 10 again
    bump = _contract(("10", JAN, DEC31), ("2", date(2024, 4, 1), JUN30))
    (row,) = sides_from_records("crm_vs_billing", [bump], [])[0]
    assert row["ramp"] == "10 × 100.00 → 12 × 100.00 → 10 × 100.00"
