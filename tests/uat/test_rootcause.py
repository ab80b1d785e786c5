"""Root-cause patterns over the engine's exception rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from reconcile.engine import reconcile
from uat.entities import definition_for
from uat.kinds import KINDS
from uat.rootcause import Cause, attribute
from uat.spec import EntitySpec, RootCauseSpec
from uat.translate import Gap


def _line(n: int, **over: Any) -> dict[str, Any]:
    net = Decimal(100 + n)
    row = {"invoice_number": f"I{n}", "line_number": "1", "customer_id": "N1", "item_code": "A",
           "currency": "EUR", "billing_date": "2024-02-01", "quantity": "1",
           "net_amount": str(net),
           "tax_amount": str((net * Decimal("0.2")).quantize(Decimal("0.01")))}  # fmt: skip
    row.update(over)
    return row


def _causes(
    legacy: list[dict[str, Any]], new: list[dict[str, Any]], cfg: RootCauseSpec,
    gaps: tuple[Gap, ...] = (),
) -> dict[str, set[Cause]]:  # fmt: skip
    entity = EntitySpec.model_validate(
        {"name": "lines", "kind": "invoice_line", "legacy": {"path": "a"}, "new": {"path": "b"}}
    )
    d = definition_for("t", entity)
    result = reconcile(d, legacy, new)
    kinds = {c.name: c.kind for c in d.compare}
    items = attribute(result.rows, KINDS["invoice_line"], kinds, gaps, cfg).items
    return {i.candidate.keys["invoice_number"]: set(i.causes) for i in items}


def test_constant_factor_needs_a_group_and_single_outliers_stay_plain() -> None:
    legacy = [_line(n) for n in range(1, 6)]
    new = [_line(n, net_amount=str(Decimal(100 + n) * 100)) for n in (1, 2, 3)]
    new += [_line(4, net_amount="7"), _line(5)]
    found = _causes(legacy, new, RootCauseSpec(min_group=3))
    scaled = Cause("scaled_by_factor", "net_amount", "×100")
    assert found == {
        "I1": {scaled}, "I2": {scaled}, "I3": {scaled},
        "I4": {Cause("value_differs", "net_amount")},
    }  # fmt: skip


def test_rate_change_by_base_times_rate_delta() -> None:
    # legacy tax 21 on 105 (20 %); new tax at 16 % of the same base -> 16.80
    legacy = [_line(5)]
    new = [_line(5, tax_amount="16.80")]
    cfg = RootCauseSpec(rate_changes=[{"old": "0.20", "new": "0.16"}])  # type: ignore[list-item]
    assert _causes(legacy, new, cfg) == {
        "I5": {Cause("tax_rate_change", "tax_amount", "0.20 -> 0.16")}
    }
    # a rate change the spec does not declare is a plain difference
    other = RootCauseSpec(rate_changes=[{"old": "0.20", "new": "0.10"}])  # type: ignore[list-item]
    assert _causes(legacy, new, other) == {"I5": {Cause("value_differs", "tax_amount")}}


def test_a_single_date_shift_below_min_group_is_not_a_pattern() -> None:
    legacy = [_line(1), _line(2), _line(3)]
    new = [_line(1, billing_date="2024-02-03"), _line(2, billing_date="2024-02-03"),
           _line(3, billing_date="2024-01-20")]  # fmt: skip
    found = _causes(legacy, new, RootCauseSpec(min_group=2))
    shifted = Cause("date_shift", "billing_date", "+2")
    assert found == {
        "I1": {shifted},
        "I2": {shifted},
        "I3": {Cause("date_differs", "billing_date")},
    }


def test_duplicates_and_several_fields_per_record() -> None:
    legacy = [_line(1), _line(1), _line(2)]
    new = [_line(1), _line(2, net_amount="102.01", item_code="B")]
    found = _causes(legacy, new, RootCauseSpec())
    assert found == {
        "I1": {Cause("duplicate", "", "legacy")},
        "I2": {Cause("rounding_drift", "net_amount", "0.01"), Cause("value_differs", "item_code")},
    }


def test_groups_count_and_sum_amount_at_risk_per_currency() -> None:
    legacy = [_line(1), _line(2), _line(3, currency="GBP")]
    new = [_line(1, net_amount="101.01"), _line(3, currency="GBP", net_amount="103.01")]
    entity = EntitySpec.model_validate(
        {"name": "l", "kind": "invoice_line", "legacy": {"path": "a"}, "new": {"path": "b"}}
    )
    d = definition_for("t", entity)
    result = reconcile(d, legacy, new)
    attribution = attribute(result.rows, KINDS["invoice_line"],
                            {c.name: c.kind for c in d.compare}, (), RootCauseSpec())  # fmt: skip
    groups = {g.cause.pattern: (g.count, g.at_risk) for g in attribution.groups}
    assert groups == {
        "rounding_drift": (2, {"EUR": Decimal("0.01"), "GBP": Decimal("0.01")}),
        # I2 is missing: its net and tax are at risk
        "missing_in_new": (1, {"EUR": Decimal("102") + Decimal("20.40")}),
    }


def test_a_changed_currency_puts_the_legacy_amount_at_risk_in_the_legacy_currency(
    tmp_path: Path,
) -> None:
    """100 EUR booked as 100 USD (or converted to 108.50 USD) is 100 EUR at risk: amounts in
    two currencies never subtract (that gave 0, and 8.50 "EUR")."""
    from tests.uat.conftest import NOW
    from uat.runner import run_uat
    from uat.spec import parse_spec

    head = "document_number,customer_id,currency,due_date,amount,open_amount\n"
    (tmp_path / "old.csv").write_text(
        head + "AR-1,C1,EUR,2024-03-01,100.00,100.00\nAR-2,C1,EUR,2024-03-01,100.00,100.00\n",
        encoding="utf-8",
    )
    (tmp_path / "new.csv").write_text(
        head + "AR-1,C1,USD,2024-03-01,100.00,100.00\nAR-2,C1,USD,2024-03-01,108.50,108.50\n",
        encoding="utf-8",
    )
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv}}\n"
    )
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    assert score.at_risk == {"EUR": Decimal("200.00")}
    assert [item.at_risk for item in score.attributed] == [Decimal(100), Decimal(100)]


def test_a_billing_date_moved_by_whole_months_is_one_pattern() -> None:
    """The monthly run moved by a month: 28 to 31 days apart, and month ends stay month
    ends (01-31 -> 02-29). One cause "+1 month", not "+29 days", "+31 days" and "differs"."""
    moves = {1: ("2024-01-31", "2024-02-29"), 2: ("2024-02-15", "2024-03-15"),
             3: ("2024-03-10", "2024-04-10"), 4: ("2024-04-10", "2024-05-10"),
             5: ("2024-02-29", "2024-03-31"), 6: ("2024-05-01", "2024-05-03")}  # fmt: skip
    legacy = [_line(n, billing_date=old) for n, (old, _) in moves.items()]
    new = [_line(n, billing_date=moved) for n, (_, moved) in moves.items()]
    found = _causes(legacy, new, RootCauseSpec(min_group=2))
    month = Cause("date_shift", "billing_date", "+1 month")
    assert found == {
        **{f"I{n}": {month} for n in range(1, 6)},
        "I6": {Cause("date_differs", "billing_date")},
    }
    assert month.label == "billing_date shifted by +1 month"
    assert Cause("date_shift", "billing_date", "+1").label == "billing_date shifted by +1 day"


def test_a_one_day_shift_reads_in_the_singular() -> None:
    from uat.rootcause import Cause

    labels = [Cause("date_shift", "billing_date", p).label for p in ("+1", "-1", "+3")]
    assert labels == [
        "billing_date shifted by +1 day",
        "billing_date shifted by -1 day",
        "billing_date shifted by +3 days",
    ]
