"""A constant factor whose results were rounded to the currency's minor unit.

A migration that converted amounts (a unit-price conversion ×1.1, cents to units ÷100, a
redenomination ÷7.5345) writes new = round(old × f, minor unit): the ratios new/old scatter
around f, and every record is within half a minor unit of old × f. Expected values are
worked out here with Decimal quantize, the arithmetic the migration itself does."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reconcile.engine import reconcile
from uat.entities import definition_for
from uat.kinds import KINDS
from uat.rootcause import Cause, attribute
from uat.spec import EntitySpec, RootCauseSpec

CENT = Decimal("0.01")
#: legacy unit prices as a price list has them: small, odd cents, and large
NETS = ("12.37", "104.99", "1234.56", "8.15", "599.00", "47.33", "0.99", "23456.78", "3.05")


def _line(n: int, net: str, ccy: str = "EUR", **over: Any) -> dict[str, Any]:
    row = {"invoice_number": f"I{n:03d}", "line_number": "1", "customer_id": "N1",
           "item_code": "A", "currency": ccy, "billing_date": "2024-02-01", "quantity": "1",
           "net_amount": net, "tax_amount": "0.00"}  # fmt: skip
    return {**row, **over}


def _round(value: Decimal, step: Decimal = CENT) -> str:
    return str(value.quantize(step, ROUND_HALF_UP))


def _causes(
    legacy: list[dict[str, Any]], new: list[dict[str, Any]], cfg: RootCauseSpec | None = None
) -> dict[str, set[Cause]]:
    entity = EntitySpec.model_validate(
        {"name": "lines", "kind": "invoice_line", "legacy": {"path": "a"}, "new": {"path": "b"}}
    )
    d = definition_for("t", entity)
    result = reconcile(d, legacy, new)
    kinds = {c.name: c.kind for c in d.compare}
    items = attribute(result.rows, KINDS["invoice_line"], kinds, (), cfg or RootCauseSpec()).items
    return {i.candidate.keys["invoice_number"]: set(i.causes) for i in items}


def _scaled(param: str) -> set[Cause]:
    return {Cause("scaled_by_factor", "net_amount", param)}


def test_a_factor_rounded_to_the_cent_is_one_pattern() -> None:
    """×1.1 rounded to the cent: 12.37 -> 13.61 (ratio 1.10024...), 8.15 -> 8.97 (1.1006):
    no two ratios agree, yet every record is within half a cent of old × 1.1."""
    legacy = [_line(n, net) for n, net in enumerate(NETS)]
    new = [_line(n, _round(Decimal(net) * Decimal("1.1"))) for n, net in enumerate(NETS)]
    ratios = {
        Decimal(b["net_amount"]) / Decimal(a["net_amount"])
        for a, b in zip(legacy, new, strict=True)
    }
    assert len(ratios) > 5
    assert _causes(legacy, new) == {f"I{n:03d}": _scaled("×1.1") for n in range(len(NETS))}


def test_a_price_cut_and_cents_to_units_read_as_the_factor_a_person_wrote() -> None:
    """×0.9 stays ×0.9 (not ÷1.111111); amounts moved from cents to units read ÷100."""
    legacy = [_line(n, net) for n, net in enumerate(NETS)]
    new = [_line(n, _round(Decimal(net) * Decimal("0.9"))) for n, net in enumerate(NETS)]
    cents = [_line(100 + n, str(Decimal(net) * 100)) for n, net in enumerate(NETS[:4])]
    units = [_line(100 + n, net) for n, net in enumerate(NETS[:4])]
    found = _causes(legacy + cents, new + units)
    assert found == {
        **{f"I{n:03d}": _scaled("×0.9") for n in range(len(NETS))},
        **{f"I{100 + n:03d}": _scaled("÷100") for n in range(4)},
    }


def test_a_redenomination_by_a_rate_with_no_short_decimal_factor() -> None:
    """HRK -> EUR at 7.5345: new = round(old / 7.5345, 2). old × 0.132722 misses large
    amounts by more than a cent, so the factor is the divisor, and the currency changes."""
    hrk = ("75345.00", "1000.00", "129.99", "5.00", "1500000.00", "333.33")
    legacy = [_line(n, net, "HRK") for n, net in enumerate(hrk)]
    new = [_line(n, _round(Decimal(net) / Decimal("7.5345")), "EUR") for n, net in enumerate(hrk)]
    currency = Cause("value_differs", "currency")
    assert _causes(legacy, new) == {
        f"I{n:03d}": _scaled("÷7.5345") | {currency} for n in range(len(hrk))
    }


def test_a_currency_without_minor_units_rounds_to_the_whole_unit() -> None:
    """JPY has no minor unit: half a yen is the tolerance (EUR amounts keep half a cent)."""
    yen = ("1234", "98765", "15", "250000", "777")
    legacy = [_line(n, v, "JPY") for n, v in enumerate(yen)]
    yen_new = [_round(Decimal(v) * Decimal("0.9"), Decimal(1)) for v in yen]
    new = [_line(n, v, "JPY") for n, v in enumerate(yen_new)]
    assert _causes(legacy, new) == {f"I{n:03d}": _scaled("×0.9") for n in range(len(yen))}
    # the same amounts in EUR, off by a quarter of a unit, are not "×0.9"
    legacy = [_line(n, v) for n, v in enumerate(yen)]
    new = [_line(n, str(Decimal(v) * Decimal("0.9") + Decimal("0.25"))) for n, v in enumerate(yen)]
    assert all(Cause("value_differs", "net_amount") in c for c in _causes(legacy, new).values())


def test_one_odd_record_and_a_lone_ratio_are_not_a_factor() -> None:
    """Off by 50 cents from old × 1.1 is not the factor; one record ×3 alone is no pattern;
    a single rounded ×1.1 record is no pattern either."""
    legacy = [_line(n, net) for n, net in enumerate(NETS)]
    new = [_line(n, _round(Decimal(net) * Decimal("1.1"))) for n, net in enumerate(NETS)]
    legacy.append(_line(50, "250.00"))
    new.append(_line(50, "275.50"))  # 250 × 1.1 = 275.00
    legacy.append(_line(51, "19.99"))
    new.append(_line(51, "59.97"))  # ×3, once
    found = _causes(legacy, new)
    assert found.pop("I050") == {Cause("value_differs", "net_amount")}
    assert found.pop("I051") == {Cause("value_differs", "net_amount")}
    assert found == {f"I{n:03d}": _scaled("×1.1") for n in range(len(NETS))}
    alone = _causes([_line(1, "12.37")], [_line(1, "13.61")])
    assert alone == {"I001": {Cause("value_differs", "net_amount")}}


def test_rounding_drift_and_a_rate_change_keep_their_causes() -> None:
    """A 0.1 % uplift (×1.001) fits 5.00 -> 5.01 too, but a cent is rounding drift; the tax
    at 16 % instead of 19 % is the declared rate change, not "scaled by ×0.842105"."""
    big = ("1234.56", "23456.78", "5000.00", "879.10")
    legacy = [_line(n, net) for n, net in enumerate(big)]
    new = [_line(n, _round(Decimal(net) * Decimal("1.001"))) for n, net in enumerate(big)]
    legacy.append(_line(10, "5.00"))
    new.append(_line(10, "5.01"))
    taxed = ("1000.00", "2500.00", "120.00")
    for n, net in enumerate(taxed, start=20):
        legacy.append(_line(n, net, tax_amount=_round(Decimal(net) * Decimal("0.19"))))
        new.append(_line(n, net, tax_amount=_round(Decimal(net) * Decimal("0.16"))))
    cfg = RootCauseSpec.model_validate({"rate_changes": [{"old": "0.19", "new": "0.16"}]})
    found = _causes(legacy, new, cfg)
    assert found.pop("I010") == {Cause("rounding_drift", "net_amount", "0.01")}
    rate = {Cause("tax_rate_change", "tax_amount", "0.19 -> 0.16")}
    assert {k: found.pop(k) for k in ("I020", "I021", "I022")} == dict.fromkeys(
        ("I020", "I021", "I022"), rate
    )
    assert found == {f"I{n:03d}": _scaled("×1.001") for n in range(len(big))}


def test_the_factor_comes_from_the_large_amounts() -> None:
    """×1.0325 (an index uplift): 10.00 -> 10.33 alone reads as ×1.033 and 2.00 -> 2.07 as
    ×1.035, but the large amounts pin 1.0325 down and the small ones fit it as well."""
    nets = ("10.00", "2.00", "1200.00", "45678.90", "310.40", "7.77")
    legacy = [_line(n, net) for n, net in enumerate(nets)]
    new = [_line(n, _round(Decimal(net) * Decimal("1.0325"))) for n, net in enumerate(nets)]
    assert _causes(legacy, new) == {f"I{n:03d}": _scaled("×1.0325") for n in range(len(nets))}
    assert Cause("scaled_by_factor", "net_amount", "×1.0325").label == (
        "net_amount scaled by a constant factor ×1.0325"
    )


def test_without_a_currency_half_the_rounding_step_is_the_tolerance() -> None:
    """No currency to take minor units from: a migration rounding to 0.10 (the spec's
    rounding step) fits within 0.05 of old × 1.1."""
    nets = ("12.37", "104.99", "1234.56", "47.33")
    legacy = [_line(n, net, "") for n, net in enumerate(nets)]
    tenth = Decimal("0.1")
    new = [_line(n, _round(Decimal(net) * Decimal("1.1"), tenth), "") for n, net in enumerate(nets)]
    cfg = RootCauseSpec(rounding=Decimal("0.10"))
    assert _causes(legacy, new, cfg) == {f"I{n:03d}": _scaled("×1.1") for n in range(len(nets))}
    # at the default step (0.01) 12.37 -> 13.6 is 0.007 from 13.607: not the factor
    assert Cause("value_differs", "net_amount") in _causes(legacy, new)["I000"]
