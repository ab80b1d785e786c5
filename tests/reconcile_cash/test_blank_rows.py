"""Rows of bare delimiters (``,,,,,,,``), as Excel writes under a sheet's data, are no
records: they were read as a row with an empty line_id ("line 3: column 'line_id': is
empty"). Skipped in the bank, invoice and customer files; other rows keep their lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app
from reconcile.cash.csv_io import read_bank, read_customers, read_invoices

BANK = (
    "line_id,date,amount,currency,payer_name,payer_account,reference,memo\r\n"
    "A1,2024-01-16,1000.00,USD,ACME CORP,,INV 10045,\r\n"
    ",,,,,,,\r\n"
    " , ,,,,,,\r\n"
    ",,,,,,,\r\n"
)
INVOICES = (
    "invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency\n"
    "10045,C1,Acme Corp,2024-01-02,,1000.00,USD\n"
    ",,,,,,\n"
)
CUSTOMERS = "customer_id,name,bank_account\nC1,Acme Corp,\n,,\n"


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_blank_rows_under_the_data_are_skipped_end_to_end(tmp_path: Path) -> None:
    bank = _write(tmp_path, "bank.csv", BANK)
    invoices = _write(tmp_path, "invoices.csv", INVOICES)
    customers = _write(tmp_path, "customers.csv", CUSTOMERS)
    out = tmp_path / "out"
    args = ["reconcile", "cash", "--bank", str(bank), "--invoices", str(invoices)]
    res = CliRunner().invoke(app, [*args, "--customers", str(customers), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 lines: 1 auto" in res.output
    assert (out / "applications.csv").read_text().splitlines()[1:] == [
        "A1,10045,1000.00,0.99,reference,auto"
    ]
    assert [r.customer_id for r in read_customers(customers)] == ["C1"]
    table, _ = read_invoices(invoices)
    assert table.column("invoice_number").to_pylist() == ["10045"]
    assert [ln.line_id for ln in read_bank(bank).receipts] == ["A1"]


def test_a_bad_row_after_blank_rows_keeps_its_line_number(tmp_path: Path) -> None:
    bank = _write(tmp_path, "bank.csv", BANK + "A2,2024-01-17,,USD,X,,,\r\n")
    invoices = _write(tmp_path, "invoices.csv", INVOICES)
    out = tmp_path / "out"
    args = ["reconcile", "cash", "--bank", str(bank), "--invoices", str(invoices)]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 2
    assert "bank.csv, line 6: column 'amount': is empty" in res.stderr


def test_a_row_with_only_some_fields_blank_is_still_a_record(tmp_path: Path) -> None:
    bank = _write(tmp_path, "bank.csv", BANK.replace(" , ,", " ,2024-01-17,"))
    invoices = _write(tmp_path, "invoices.csv", INVOICES)
    args = ["reconcile", "cash", "--bank", str(bank), "--invoices", str(invoices)]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "bank.csv, line 4: column 'line_id': is empty" in res.stderr
