"""unapplied.csv names the most specific reason of a line. It took the first exception, so
a EUR payment naming a USD invoice was UNIDENTIFIED_INVOICE though CURRENCY_MISMATCH said
why, and a payment naming an invoice an earlier line of the run had paid was
UNIDENTIFIED_INVOICE ("no open invoice fits") instead of ALREADY_APPLIED."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app
from canonical import Money
from reconcile.cash.model import CashException, Category, LineResult
from reconcile.cash.results import unapplied_reason

from .builders import pay

HEADER = "line_id,date,amount,currency,payer_name,payer_account,reference,memo\n"
INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-1001,C1,Acme Corp,2024-01-01,2024-01-31,100.00,USD
INV-1002,C1,Acme Corp,2024-01-02,2024-02-01,200.00,USD
INV-1010,C8,Stark Industries,2024-01-14,2024-02-13,10000.00,USD
"""


def _unapplied(tmp: Path, bank: str) -> dict[str, str]:
    (tmp / "bank.csv").write_text(HEADER + bank, encoding="utf-8")
    (tmp / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    out = tmp / "out"
    args = ["reconcile", "cash", "--bank", str(tmp / "bank.csv")]
    res = CliRunner().invoke(
        app, [*args, "--invoices", str(tmp / "invoices.csv"), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    with (out / "unapplied.csv").open(newline="") as fh:
        return {r["line_id"]: r["reason"] for r in csv.DictReader(fh)}


def test_a_payment_in_another_currency_naming_its_invoice(tmp_path: Path) -> None:
    bank = "B8,2024-01-23,9000.00,EUR,STARK INDUSTRIES,,INV-1010,FX\n"
    assert _unapplied(tmp_path, bank) == {"B8": "CURRENCY_MISMATCH"}


def test_a_second_payment_of_an_invoice_paid_in_the_run(tmp_path: Path) -> None:
    bank = (
        "M2,2024-01-20,100.00,USD,ACME CORP,,INV-1001,\n"
        "M3,2024-01-21,100.00,USD,ACME CORP,,INV-1001,duplicate payment\n"
    )
    assert _unapplied(tmp_path, bank) == {"M3": "ALREADY_APPLIED"}


def test_an_invoice_not_in_the_open_items_stays_unidentified(tmp_path: Path) -> None:
    """Paid before, or a typo: the file cannot tell, so no more is claimed."""
    bank = "M3,2024-01-21,150.00,USD,ACME CORP,,INV-0999,\n"
    assert _unapplied(tmp_path, bank) == {"M3": "UNIDENTIFIED_INVOICE"}


def test_the_most_specific_exception_wins_whatever_its_place() -> None:
    line = pay("L1", "10.00")

    def exc(category: Category) -> CashException:
        return CashException("L1", category, Money("10.00", "USD"), "")

    generic = (exc(Category.UNIDENTIFIED_INVOICE), exc(Category.CURRENCY_MISMATCH))
    result = LineResult(line, "C1", None, None, generic)
    assert unapplied_reason(result) == "CURRENCY_MISMATCH"
    tie = LineResult(line, None, None, None, (exc(Category.UNAPPLIED), exc(Category.AMBIGUOUS)))
    assert unapplied_reason(tie) == "AMBIGUOUS"
    alone = LineResult(line, None, None, None, (exc(Category.UNAPPLIED),))
    assert unapplied_reason(alone) == "UNAPPLIED"
