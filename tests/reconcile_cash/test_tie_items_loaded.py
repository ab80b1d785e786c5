"""A payer that several customers match equally well: the tied customers' open items are
loaded, so the one whose open amount fits is offered (held, never automatic) beside the
AMBIGUOUS exception. Their items were only loaded when another line happened to identify
one of them, so a lone tied line always ended AMBIGUOUS with nothing proposed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app
from reconcile.cash import PartyRule, Status, apply_cash

from .builders import cust, inv, pay

INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-501,C10,Acme Corp,2024-01-05,2024-02-04,833.00,USD
INV-502,C11,Acme Corp,2024-01-06,2024-02-05,714.00,USD
"""
BANK = """line_id,date,amount,currency,payer_name,payer_account,reference,memo
T1,2024-01-16,833.00,USD,ACME CORP,,,ACH CREDIT
"""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_two_customers_of_one_name_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "bank.csv").write_text(BANK, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    out = tmp_path / "out"
    args = ["reconcile", "cash", "--bank", str(tmp_path / "bank.csv")]
    args += ["--invoices", str(tmp_path / "invoices.csv"), "--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "0 auto, 1 suggested" in res.output
    (applied,) = _rows(out / "applications.csv")
    assert (applied["line_id"], applied["invoice_number"], applied["applied_amount"]) == (
        "T1",
        "INV-501",
        "833.00",
    )
    assert applied["status"] == "suggested"
    (proposal,) = _rows(out / "proposals.csv")
    assert (proposal["customer_id"], proposal["status"], proposal["invoices"]) == (
        "C10",
        "suggested",
        "INV-501",
    )
    assert _rows(out / "unapplied.csv") == []
    (line,) = json.loads((out / "cash_run.json").read_text())["lines"]
    (exc,) = line["exceptions"]
    assert exc["category"] == "AMBIGUOUS" and exc["details"]["candidates"] == "C10,C11"


def test_a_lone_fuzzy_tie_is_settled_by_the_amount() -> None:
    """No other line names either customer: "BLUEWATER MARINE SUPPLY" ties K1 and K2."""
    customers = [cust("K1", "Bluewater Marina Supply"), cust("K2", "Bluewater Marine Supplys")]
    items = [inv("INV-1", "K1", "1200.00"), inv("INV-2", "K2", "900.00")]
    (line,) = apply_cash(
        [pay("L1", "1200.00", name="BLUEWATER MARINE SUPPLY")], items, customers
    ).lines
    assert line.proposal is not None and line.proposal.status == Status.SUGGESTED
    assert line.customer_id == "K1" and line.party_rule == PartyRule.FUZZY
    assert [a.invoice_number for a in line.proposal.applications] == ["INV-1"]
    assert [e.category.value for e in line.exceptions] == ["AMBIGUOUS"]
    assert line.exceptions[0].details["candidates"] == "K1,K2"


def test_a_tie_where_both_fit_stays_ambiguous_with_nothing_proposed() -> None:
    customers = [cust("C10", "Acme Corp"), cust("C11", "Acme Corp")]
    items = [inv("INV-501", "C10", "833.00"), inv("INV-502", "C11", "833.00")]
    (line,) = apply_cash([pay("T1", "833.00", name="ACME CORP")], items, customers).lines
    assert line.proposal is None and line.customer_id is None
    assert [e.category.value for e in line.exceptions] == ["AMBIGUOUS"]
