"""``amounts_match ... where:`` says how many records its filter selected and fails when it
selects none (a gate that checks nothing must not pass); currency codes compare in any
case, in the comparison and in the filter."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec

SPEC = """\
name: wh
entities:
  - name: ar
    kind: ar_open
    fields: [customer_id, currency, open_amount]
    legacy: {path: leg.csv}
    new: {path: new.csv}
expectations:
  - {type: amounts_match, entity: ar, field: open_amount, over: 10000, where: {currency: eur}}
  - {type: amounts_match, entity: ar, field: open_amount, over: 10000, where: {customer_id: k9}}
  - {type: amounts_match, entity: ar, field: open_amount, over: 0, where: {currency: USD}}
"""
HEAD = "document_number,customer_id,currency,open_amount\n"


def test_where_counts_its_selection_and_currency_case_does_not_differ(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(
        HEAD + "A-1,K1,EUR,20000.00\nA-2,K1,EUR,15000.00\nA-3,K1,usd,500.00\n"
    )
    (tmp_path / "new.csv").write_text(
        HEAD + "A-1,K1,EUR,19000.00\nA-2,K1,EUR,15000.00\nA-3,K1,USD,500.00\n"
    )
    run = run_uat(parse_spec(SPEC), tmp_path, now=NOW)
    (score,) = run.scores
    # usd and USD are one currency: no "currency differs", nothing at risk for A-3
    assert [i.key_text for i in score.attributed] == ["document_number=A-1"]
    assert score.at_risk == {"EUR": Decimal("1000.00")}
    eur, nobody, usd = run.expectations
    assert (eur.passed, eur.examples) == (False, ["document_number=A-1"])
    assert eur.evidence.startswith("2 record(s) with currency=eur; ")
    assert (nobody.passed, nobody.failing) == (False, 0)
    assert "selects no record" in nobody.evidence
    assert (usd.passed, usd.evidence) == (
        True,
        "1 record(s) with currency=USD; 0 record(s) over 0 differ by more than 0",
    )
