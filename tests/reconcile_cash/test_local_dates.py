"""`reconcile cash` over bank and invoice files that write dates the local way: a US bank's
`01/31/2024`, a German one's `31.01.2024`. The file's values decide the order where they can
(one date column can decide for the others of the same file); `--dates` declares it where
none can."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

import reconcile.cash.cli as cli
from reconcile.cash.csv_io import read_bank, read_invoices

app = typer.Typer()
app.command()(cli.cash)

HEADER = "line_id,date,amount,currency,payer_name,payer_account,reference,memo\n"
INVOICE_HEADER = (
    "invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency\n"
)


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _run(tmp: Path, bank: str, invoices: str, *extra: str) -> tuple[int, str]:
    args = [
        "--bank",
        str(_write(tmp, "bank", bank)),
        "--invoices",
        str(_write(tmp, "inv", invoices)),
    ]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp / "out"), *extra])
    return res.exit_code, (res.stderr if res.exit_code else res.stdout).strip()


def test_a_us_bank_file_and_invoice_export_are_read_month_first(tmp_path: Path) -> None:
    bank = (
        HEADER
        + 'B1,01/31/2024,"$1,234.56",USD,ACME CORP,,INV-1001,\n'
        + "B2,2/1/2024,500.00,USD,Beta LLC,,INV-1002,\n"
    )
    # issue dates alone read both ways; the due dates of the same file say month first
    invoices = INVOICE_HEADER + (
        'INV-1001,C1,Acme Corp,12/01/2023,12/31/2023,"1,234.56",USD\n'
        "INV-1002,C2,Beta LLC,12/05/2023,1/4/2024,500.00,USD\n"
    )
    code, output = _run(tmp_path, bank, invoices)
    assert code == 0, output
    assert "2 auto" in output
    lines = read_bank(tmp_path / "bank.csv").receipts
    assert [str(line.date) for line in lines] == ["2024-01-31", "2024-02-01"]
    table, _ = read_invoices(tmp_path / "inv.csv")
    assert [str(d) for d in table.column("issue_date").to_pylist()] == ["2023-12-01", "2023-12-05"]
    assert [str(d) for d in table.column("due_date").to_pylist()] == ["2023-12-31", "2024-01-04"]


def test_a_german_bank_file_is_read_day_first(tmp_path: Path) -> None:
    bank = HEADER + "B1,01.02.2024,80.00,EUR,Globex GmbH,,RE-7,\n"
    invoices = INVOICE_HEADER + "RE-7,C2,Globex GmbH,2024-01-15,,80.00,EUR\n"
    code, output = _run(tmp_path, bank, invoices)
    assert code == 0, output
    (line,) = read_bank(tmp_path / "bank.csv").receipts
    assert str(line.date) == "2024-02-01"


def test_dates_no_value_decides_need_the_order_declared(tmp_path: Path) -> None:
    bank = HEADER + "B1,01/02/2024,80.00,USD,Globex,,INV-1,\nB2,03/04/2024,5.00,USD,Globex,,,\n"
    invoices = INVOICE_HEADER + "INV-1,C2,Globex,2024-01-15,,80.00,USD\n"
    code, output = _run(tmp_path, bank, invoices)
    assert code == 2
    assert (
        "bank.csv, line 2: column 'date': dates that read differently day first and month "
        "first ('01/02/2024')" in output
    )
    assert "--dates day-first or --dates month-first" in output
    code, output = _run(tmp_path, bank, invoices, "--dates", "day-first")
    assert code == 0, output
    assert str(read_bank(tmp_path / "bank.csv", "day").receipts[0].date) == "2024-02-01"
    assert str(read_bank(tmp_path / "bank.csv", "month").receipts[0].date) == "2024-01-02"
    code, output = _run(tmp_path, bank, invoices, "--dates", "sideways")
    assert code == 2 and "--dates 'sideways': one of day-first, month-first" in output


def test_the_ambiguity_error_names_the_first_value_read_as_two_dates(tmp_path: Path) -> None:
    """05/05/2024 is the same day either way: the line named is the one that is not."""
    bank = HEADER + (
        "B1,05/05/2024,80.00,USD,Globex,,INV-1,\n"
        "B2,,1.00,USD,Globex,,,\n"
        "B3,03/04/2024,5.00,USD,Globex,,,\n"
    )
    invoices = INVOICE_HEADER + "INV-1,C2,Globex,2024-01-15,,80.00,USD\n"
    code, output = _run(tmp_path, bank, invoices)
    assert code == 2
    assert "bank.csv, line 4: column 'date': dates that read differently" in output
    assert "('03/04/2024')" in output


def test_a_value_that_is_no_date_names_its_line_and_the_files_form(tmp_path: Path) -> None:
    bank = (
        HEADER + "B1,31.01.2024,80.00,EUR,G,,,\nB2,n/a,5.00,EUR,G,,,\nB3,01.02.2024,1.00,EUR,G,,,\n"
    )
    invoices = INVOICE_HEADER + "RE-7,C2,Globex GmbH,2024-01-15,,80.00,EUR\n"
    code, output = _run(tmp_path, bank, invoices)
    assert code == 2
    assert "bank.csv, line 3: column 'date': 'n/a' is not a date" in output
    assert "like the file's other dates: '31.01.2024'" in output


def test_an_iso_date_with_a_time_is_the_day_as_written(tmp_path: Path) -> None:
    bank = (
        HEADER + "B1,2024-01-31T23:30:00-05:00,80.00,USD,G,,,\nB2,2024-02-01 08:00,5.00,USD,G,,,\n"
    )
    path = _write(tmp_path, "bank", bank)
    assert [str(x.date) for x in read_bank(path).receipts] == ["2024-01-31", "2024-02-01"]
