"""Invariants of cash application over generated batches (hypothesis)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonical import Money
from reconcile.cash import CashLine, CashResult, OpenItem, apply_cash

from .builders import CUSTOMERS

NAMES = ["Acme Industries", "GLOBEX CORP", "Initech", "Umbrela Holdings", "Unknown Payer", None]


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[CashLine], list[OpenItem]]:
    n_items = draw(st.integers(0, 12))
    items = [
        OpenItem(
            f"INV-{1000 + i}",
            draw(st.sampled_from(["C1", "C2", "C3", "C4"])),
            Money.from_minor(draw(st.integers(1, 50_000)), "USD"),
            date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 60))),
        )
        for i in range(n_items)
    ]
    lines = []
    for j in range(draw(st.integers(1, 8))):
        refs = draw(st.lists(st.integers(1000, 1000 + max(n_items, 1)), max_size=3))
        lines.append(
            CashLine(
                f"L{j}",
                date(2024, 3, 1) + timedelta(days=draw(st.integers(0, 3))),
                Money.from_minor(draw(st.integers(1, 80_000)), "USD"),
                draw(st.sampled_from(NAMES)),
                None,
                " ".join(f"INV-{r}" for r in refs),
            )
        )
    return lines, items


def _summary(result: CashResult) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return sorted(
        (
            r.line.line_id,
            r.proposal.proposal_id if r.proposal else None,
            tuple(e.category.value for e in r.exceptions),
        )
        for r in result.lines
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.randoms(use_true_random=False))
def test_never_over_applies_and_is_order_independent(
    batch: tuple[list[CashLine], list[OpenItem]], rnd: random.Random
) -> None:
    lines, items = batch
    result = apply_cash(lines, items, CUSTOMERS)
    open_amounts = {i.invoice_number: i.open_amount.amount for i in items}
    used: dict[str, Decimal] = {}
    for r in result.lines:
        if r.proposal is None:
            continue
        assert r.proposal.applied <= r.line.amount.amount
        for app in r.proposal.applications:
            assert app.amount.amount >= 0
            taken = app.amount.amount + (app.deduction.amount if app.deduction else 0)
            used[app.invoice_number] = used.get(app.invoice_number, Decimal(0)) + taken
    for number, total in used.items():
        assert total <= open_amounts[number]

    shuffled_lines, shuffled_items, shuffled_customers = list(lines), list(items), list(CUSTOMERS)
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_items)
    rnd.shuffle(shuffled_customers)
    again = apply_cash(shuffled_lines, shuffled_items, shuffled_customers)
    assert _summary(again) == _summary(result)
