"""A currency both sides hold but ``fields:`` does not compare is still each exception's
currency: amounts at risk stay per currency, with its minor units."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec

SPEC = """\
name: ccy
entities:
  - name: ar
    kind: ar_open
    fields: [open_amount]
    legacy: {path: leg.csv, columns: {document_number: doc, currency: ccy, open_amount: open}}
    new: {path: new.csv, columns: {document_number: doc, currency: ccy, open_amount: open}}
expectations:
  - {type: ties, entity: ar, field: open_amount, by: [currency]}
"""


def test_an_uncompared_currency_keeps_amounts_at_risk_apart(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(
        "doc,ccy,open\nA-1,EUR,100.00\nA-2,JPY,20000\nA-3,USD,300.00\n"
    )
    (tmp_path / "new.csv").write_text("doc,ccy,open\nA-1,EUR,90.00\nA-2,JPY,10000\n")
    run = run_uat(parse_spec(SPEC), tmp_path, now=NOW)
    (score,) = run.scores
    assert score.at_risk == {
        "EUR": Decimal("10.00"),
        "JPY": Decimal("10000"),
        "USD": Decimal("300.00"),
    }
    assert str(score.at_risk["EUR"]) == "10.00"
    found = {i.key_text: (i.candidate.currency, str(i.at_risk)) for i in score.attributed}
    assert found == {
        "document_number=A-1": ("EUR", "10.00"),
        "document_number=A-2": ("JPY", "10000"),
        "document_number=A-3": ("USD", "300.00"),
    }
    (ties,) = run.expectations
    assert ties.examples == [
        "currency=EUR (delta -10.00)",
        "currency=JPY (delta -10000)",
        "currency=USD (delta -300.00)",
    ]


def test_a_currency_column_on_one_side_only_is_not_required(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text("doc,ccy,open\nA-1,EUR,100.00\n")
    (tmp_path / "new.csv").write_text("doc,open\nA-1,90.00\n")
    spec = SPEC.replace(
        "columns: {document_number: doc, currency: ccy, open_amount: open}}\nexp",
        "columns: {document_number: doc, open_amount: open}}\nexp",
    ).replace("  - {type: ties, entity: ar, field: open_amount, by: [currency]}\n", "")
    spec = spec.replace("expectations:\n", "")
    run = run_uat(parse_spec(spec), tmp_path, now=NOW)
    (score,) = run.scores
    assert score.at_risk == {"-": Decimal("10.00")}
