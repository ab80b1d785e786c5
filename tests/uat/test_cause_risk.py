"""The amount at risk per root cause: a field's cause carries that field's own gap, so the
causes of one record never count its risk twice; record-level causes (missing, extra,
duplicate, a record whose currency changed) carry the record's risk."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec

HEAD = "invoice_number,line_number,customer_id,item_code,currency,billing_date,quantity,"
HEAD += "net_amount,tax_amount\n"
LEGACY = (
    "R1,1,C1,S1,EUR,2024-02-01,1,1000.00,190.00\n"
    "R2,1,C1,S1,EUR,2024-02-01,1,500.00,95.00\n"
    "R3,1,C1,S1,EUR,2024-02-01,1,100.00,19.00\n"
    "R4,1,C1,S1,EUR,2024-02-01,1,10.00,1.90\n"
    "R5,1,C1,S1,EUR,2024-02-01,1,20.00,3.80\n"
)
NEW = (
    "R1,1,C1,S1,EUR,2024-02-01,1,10.00,1.90\n"  # net and tax both ÷100
    "R2,1,C1,S1,EUR,2024-02-01,1,5.00,0.95\n"
    "R3,1,C1,S1,USD,2024-02-01,1,100.00,19.00\n"  # currency changed
    "R5,1,C2,S1,EUR,2024-02-01,1,20.01,3.80\n"  # R4 missing; R5 drift and another customer
)


def test_each_field_cause_carries_its_own_gap(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(HEAD + LEGACY)
    (tmp_path / "new.csv").write_text(HEAD + NEW)
    text = (
        "name: t\nentities:\n"
        "  - {name: lines, kind: invoice_line, legacy: {path: leg.csv}, new: {path: new.csv}}\n"
    )
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    risk = {g.cause.label: {c: str(v) for c, v in g.at_risk.items()} for g in score.root_causes}
    assert risk == {
        "net_amount scaled by a constant factor ÷100": {"EUR": "1485.00"},
        "tax_amount scaled by a constant factor ÷100": {"EUR": "282.15"},
        "currency differs": {"EUR": "119.00"},  # the record's legacy amounts
        "missing in new system": {"EUR": "11.90"},
        "net_amount: rounding drift ≤ 0.01": {"EUR": "0.01"},
        "customer_id differs": {"EUR": "0.00"},  # no amount of its own
    }
    # the entity total is the records' risk, each record once: the causes add up to it
    assert score.at_risk == {"EUR": Decimal("1898.06")}
    assert sum(Decimal(r["EUR"]) for r in risk.values()) == Decimal("1898.06")
