"""`billbridge reconcile cash` as the console script runs it: the Typer group's callback
(`reconcile.cash.cli.main`) under the `billbridge` app, not the inner `cash` function."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app

BANK = """line_id,date,amount,currency,payer_name,payer_account,reference,memo
L1,01/02/2024,100.00,USD,ACME,,INV-1,
L2,02/05/2024,200.00,USD,ACME,,INV-2,
L3,03/05/2024,300.00,USD,GLOBEX,,INV-3,
"""
INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-1,C1,Acme,2024-01-02,2024-01-31,100.00,USD
INV-2,C1,Acme,2024-02-03,2024-03-04,200.00,USD
INV-3,C2,Globex,2024-03-04,2024-04-03,300.00,USD
"""


def _run(tmp: Path, *extra: str) -> tuple[int, str]:
    bank, invoices = tmp / "bank.csv", tmp / "invoices.csv"
    bank.write_text(BANK, encoding="utf-8")
    invoices.write_text(INVOICES, encoding="utf-8")
    args = ["reconcile", "cash", "--bank", str(bank), "--invoices", str(invoices)]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp / "out"), *extra])
    return res.exit_code, res.output + (res.stderr if res.exit_code else "")


def test_dates_the_bank_file_cannot_decide_are_declared_with_dates(tmp_path: Path) -> None:
    code, output = _run(tmp_path)
    assert code == 2
    assert "bank.csv, line 2: column 'date': dates that read differently" in output
    assert "('01/02/2024')" in output
    code, output = _run(tmp_path, "--dates", "month-first")
    assert code == 0, output
    assert "3 auto" in output
    applied = (tmp_path / "out" / "applications.csv").read_text().splitlines()
    assert [row.split(",")[:3] for row in applied[1:]] == [
        ["L1", "INV-1", "100.00"],
        ["L2", "INV-2", "200.00"],
        ["L3", "INV-3", "300.00"],
    ]


def test_dates_day_first_reads_the_other_way(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--dates", "day-first")
    assert code == 0, output
    assert "3 auto" in output


def test_an_unknown_dates_order_is_a_usage_error(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--dates", "sideways")
    assert code == 2
    assert "--dates 'sideways': one of day-first, month-first" in output
    assert not (tmp_path / "out").exists()
