"""A sample migration with planted defects: each defect is found and attributed to the
right root-cause group, and nothing else is reported."""

from __future__ import annotations

from decimal import Decimal

from tests.uat.builder import DEFECTS
from uat.runner import UatRun


def test_every_planted_defect_lands_in_its_root_cause_group_and_nothing_else(
    sample_run: UatRun,
) -> None:
    found = {
        sc.entity: {
            a.key_text: {(c.pattern, c.field, c.param) for c in a.causes} for a in sc.attributed
        }
        for sc in sample_run.scores
    }
    assert found == DEFECTS


def test_scorecard_counts_rates_and_amount_at_risk(sample_run: UatRun) -> None:
    scores = {sc.entity: sc for sc in sample_run.scores}
    customers = scores["customers"]
    assert (customers.rows_legacy, customers.rows_new, customers.matched) == (20, 19, 18)
    assert customers.match_rate == Decimal("85.71")  # 18 of 21 keys seen on either side
    assert customers.categories == {"MISSING_IN_A": 1, "MISSING_IN_B": 2}
    assert customers.at_risk == {}  # customer master carries no receivable amounts
    ar = scores["ar_items"]
    assert ar.at_risk == {"EUR": Decimal("0.01")}  # the drift; untranslated customers move no money
    lines = scores["invoice_lines"]
    # INV-004: tax 16 % instead of 19 % of the nets 210.40 and 220.40, plus one cent drift
    tax_gap = (Decimal("39.98") - Decimal("33.66")) + (Decimal("41.88") - Decimal("35.26"))
    assert lines.at_risk == {"EUR": tax_gap + Decimal("0.01")}
    top = lines.root_causes[0]
    assert (top.cause.label, top.count) == ("billing_date shifted by +1 day", 4)


def test_translation_gaps_are_findings_with_the_missing_codes(sample_run: UatRun) -> None:
    gaps = {
        (sc.entity, g.table, g.field): (g.records, g.codes)
        for sc in sample_run.scores
        for g in sc.gaps
    }
    assert gaps == {
        ("customers", "customer", "customer_id"): (1, {"C0007": 1}),
        ("ar_items", "customer", "customer_id"): (2, {"C0007": 2}),
        ("subscriptions", "item", "item_code"): (1, {"OLD-X": 1}),
        ("invoice_lines", "customer", "customer_id"): (2, {"C0007": 2}),
    }
