"""Every suite calculator names the entity each side reads, and a required side without a
single record fails the run instead of resolving every open exception."""

from __future__ import annotations

from datetime import date

import pytest

from billbridge.errors import ConfigError
from canonical import Money, Payment
from reconcile.suite.configured import SUITE


@pytest.mark.parametrize(
    ("definition", "sides", "side"),
    [
        ("ar_aging", {"invoices": "ns/payment"}, "invoices"),
        ("revenue_leakage", {"invoices": "z/invoice", "contracts": "sf/invoice"}, "contracts"),
        (
            "revenue_leakage",
            {"invoices": "z/invoice", "contracts": "sf/contract", "customers_a": "z/invoice"},
            "customers_a",
        ),
        ("billed_vs_recognized", {"invoices": "z/invoice", "schedules": "ns/invoice"}, "schedules"),
    ],
)
def test_a_side_reading_another_entity_is_refused(
    definition: str, sides: dict[str, str], side: str
) -> None:
    problems = SUITE[definition].side_problems(definition, sides)
    assert [s for s, _ in problems] == [side]


def test_every_calculator_names_the_entity_of_every_side() -> None:
    for recon in SUITE.values():
        assert set(recon.entities) == {*recon.needs, *recon.may}


@pytest.mark.parametrize("definition", sorted(SUITE))
def test_a_required_side_without_records_fails_the_run(definition: str) -> None:
    recon = SUITE[definition]
    sides = {side: [] for side in recon.needs}
    options = (
        recon.options.model_validate({"control_accounts": ["1200"]}) if recon.options else None
    )
    with pytest.raises(ConfigError, match=f"side '{recon.needs[0]}' read no"):
        recon.run(sides, date(2026, 12, 1), options)


def test_an_aging_over_payment_records_fails_naming_the_side() -> None:
    payment = Payment(
        source_system="ns",
        source_id="P-1",
        number="P-1",
        customer_id="C1",
        received_date=date(2026, 11, 1),
        currency="USD",
        amount=Money("200.00", "USD"),
    )
    with pytest.raises(ConfigError, match="side 'invoices' read no invoice records"):
        SUITE["ar_aging"].run({"invoices": [payment]}, date(2026, 12, 1), None)
