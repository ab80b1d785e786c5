"""How a planned payment reads: applications, deductions, the remainder on account."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from reconcile.cash import applications_to_intents
from sync import plan_render
from sync.planner import Plan, PlannedChange
from tests.reconcile_cash.test_batch import run


def _plan() -> Plan:
    intents = applications_to_intents(run().lines, target_system="zuora")
    changes = tuple(
        PlannedChange(
            entity="payment",
            source_system="bank",
            source_id=i.source_id,
            source_version=i.source_version,
            label=f"label {i.source_id}",
            events=(),
            intents=(i,),
        )
        for i in intents
        if i.source_id in ("B03", "B07")
    )
    return Plan(
        job="cash",
        target_kind="zuora",
        created_at=datetime(2024, 3, 16, tzinfo=UTC),
        mapping_versions={"payment": "cash-1"},
        changes=changes,
        errors=("payment B09: held for the test",),
    )


def test_payment_lines_show_deductions_and_the_remainder() -> None:
    b03, b07 = _plan().changes
    assert list(plan_render.payment_lines(b03)) == [
        ("+", "apply", "INV-2001", "490.00 USD"),
        ("~", "deduction (SHORT_PAY_TOLERANCE), left open", "INV-2001", "10.00 USD"),
    ]
    assert list(plan_render.payment_lines(b07)) == [
        ("+", "apply", "INV-5001", "999.00 USD"),
        ("~", "unapplied (on account)", "", "100.00 USD"),
    ]


def test_render_counts_payments_as_adds_and_names_held_back_lines() -> None:
    console = Console(width=200, record=True)
    plan_render.render(_plan(), console)
    text = console.export_text()
    assert "+ payment B07  label B07" in text and "~ unapplied (on account)  100.00 USD" in text
    assert "! held back: payment B09: held for the test" in text
    assert "Plan: 2 to add, 0 to change, 0 to remove (2 writes)." in text
