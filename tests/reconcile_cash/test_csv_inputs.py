"""Input and output edges of the `reconcile cash` command: encodings, ragged rows, debits in
the bank file, amount notation, header spelling, the --out folder and no partial output."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import reconcile.cash.cli as cli
from canonical import Money
from reconcile.cash.csv_io import write_results
from reconcile.cash.model import (
    Application,
    Flags,
    LineResult,
    Proposal,
    Rule,
    Status,
)
from reconcile.cash.results import CashResult

from .builders import pay

app = typer.Typer()
app.command()(cli.cash)

HEADER = "line_id,date,amount,currency,payer_name,payer_account,reference,memo\n"
BANK = HEADER + "B1,2024-03-15,80.00,USD,Globex Corp,,,thanks\n"
INVOICES = (
    "invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency\n"
    "INV-000201,C2,Globex Corporation,2024-02-01,,80.00,USD\n"
)
CUSTOMERS = "customer_id,name,bank_account\nC2,Globex Corporation,\n"


def run(tmp: Path, *, out: Path | None = None, **files: str | bytes) -> tuple[int, str, Path]:
    """Write the files (bank and invoices default to a one-line match) and run the command;
    the output is stderr when it failed."""
    contents: dict[str, str | bytes] = {"bank": BANK, "invoices": INVOICES, **files}
    args = []
    for name, text in contents.items():
        path = tmp / f"{name}.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        args += [f"--{name}", str(path)]
    out = out or tmp / "out"
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    return res.exit_code, (res.stderr if res.exit_code else res.stdout).strip(), out


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# -- #6 encoding ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bank", HEADER + "B1,2024-03-15,80.00,EUR,SOCIÉTÉ GÉNÉRALE,,,\n"),
        ("invoices", INVOICES + "INV-9,C9,SOCIÉTÉ GÉNÉRALE,2024-02-01,,5.00,EUR\n"),
        ("customers", CUSTOMERS + "C9,SOCIÉTÉ GÉNÉRALE,\n"),
    ],
)
def test_a_latin1_file_is_a_one_line_error_naming_file_and_line(
    tmp_path: Path, name: str, text: str
) -> None:
    code, output, out = run(tmp_path, **{name: text.encode("cp1252")})
    line = 3 if name != "bank" else 2
    assert code == 2
    assert output == (
        f"error: {tmp_path / f'{name}.csv'}, line {line}: not UTF-8 (byte 0xc9); re-export as UTF-8"
    )
    assert not out.exists()


def test_the_undecodable_line_is_found_past_the_first_read_buffer(tmp_path: Path) -> None:
    good = "".join(f"B{i},2024-03-15,1.00,USD,Payer {i},,,\n" for i in range(1, 700))
    bad = "B700,2024-03-15,1.00,USD,Müller,,,\n".encode("latin-1")
    code, output, _ = run(tmp_path, bank=(HEADER + good).encode() + bad)
    assert code == 2
    assert output.endswith("line 701: not UTF-8 (byte 0xfc); re-export as UTF-8")


# -- #7 more fields than the header -----------------------------------------------------------
def test_an_unquoted_comma_in_the_memo_is_an_error_not_a_lost_reference(tmp_path: Path) -> None:
    code, output, out = run(
        tmp_path, bank=HEADER + "B1,2024-03-15,80.00,USD,Globex Corp,,,Invoice #803, #804\n"
    )
    assert code == 2
    assert output == (
        f"error: {tmp_path / 'bank.csv'}, line 2: 9 fields, header has 8 (unquoted comma?)"
    )
    assert not out.exists()


def test_an_unquoted_european_amount_is_blamed_on_the_field_count(tmp_path: Path) -> None:
    invoices = INVOICES + "INV-2,C2,Globex,2024-02-01,,1.234,56,USD\n"
    code, output, _ = run(tmp_path, invoices=invoices)
    assert code == 2
    assert output.endswith("line 3: 8 fields, header has 7 (unquoted comma?)")
    assert "currency" not in output


# -- #9 debits, returns and zero records ------------------------------------------------------
def test_non_credit_lines_are_not_matched_and_listed_as_not_a_receipt(tmp_path: Path) -> None:
    bank = BANK + (
        "B2,2024-03-16,-500.00,USD,Globex Corp,,,RETURN ITEM R01 NSF\n"
        "B0,2024-03-14,(75.00),USD,BANK,,,SERVICE CHARGE\n"
        "B3,2024-03-16,0.00,USD,,,,BAI2 TYPE 010 OPENING LEDGER\n"
        "B4,2024-03-16,12.00,USD,Nobody,,,\n"
    )
    code, output, out = run(tmp_path, bank=bank)
    assert code == 0, output
    assert "3 not receipts (NOT_A_RECEIPT)" in output
    assert rows(out / "applications.csv")[1:] == [
        ["B1", "INV-000201", "80.00", "0.87", "unique_amount", "auto"]
    ]
    assert rows(out / "unapplied.csv")[1:] == [  # in (date, line id) order
        ["B0", "-75.00", "USD", "NOT_A_RECEIPT", "-75.00"],
        ["B2", "-500.00", "USD", "NOT_A_RECEIPT", "-500.00"],
        ["B3", "0.00", "USD", "NOT_A_RECEIPT", "0.00"],
        ["B4", "12.00", "USD", "UNAPPLIED", "12.00"],
    ]
    run_doc = json.loads((out / "cash_run.json").read_text(encoding="utf-8"))
    assert [r["line"]["line_id"] for r in run_doc["lines"]] == ["B1", "B4"]


def test_a_non_credit_line_is_still_validated(tmp_path: Path) -> None:
    code, output, _ = run(tmp_path, bank=BANK + "B2,2024-03-16,-5.00,XXQ,,,,\n")
    assert code == 2 and "line 3: column 'currency'" in output
    code, output, _ = run(tmp_path, bank=BANK + "B1,2024-03-16,-5.00,USD,,,,\n")
    assert code == 2 and "line 3: column 'line_id': 'B1' appears more than once" in output


# -- #13 deduction-only parts -----------------------------------------------------------------
def test_a_part_that_is_only_a_deduction_is_not_an_application_row(tmp_path: Path) -> None:
    usd = "USD"
    apps = (
        Application("INV-1", "C1", Money("9950.00", usd), Money("50.00", usd)),
        Application("INV-2", "C1", Money("0.00", usd), Money("100.00", usd)),
    )
    prop = Proposal(
        "L1",
        "C1",
        apps,
        Status.AUTO,
        Rule.REFERENCE_SHORT_TOLERANCE,
        Decimal("0.89"),
        Flags(reference_match=True, party_match=True, amount_match=False),
    )
    result = CashResult((LineResult(pay("L1", "9950.00"), "C1", None, prop),), "test")
    applications, unapplied = write_results(result, tmp_path)
    assert rows(applications) == [
        ["line_id", "invoice_number", "applied_amount", "confidence", "rule", "status"],
        ["L1", "INV-1", "9950.00", "0.89", "reference_short_tolerance", "auto"],
    ]
    assert rows(unapplied) == [["line_id", "amount", "currency", "reason", "remainder"]]


# -- #14 amount notation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("1E+3", "'1E+3' is in exponent notation"),
        ("1e400", "'1e400' is in exponent notation"),
        ("2.5e2", "'2.5e2' is in exponent notation"),
        ("NaN", "'NaN' is not a decimal number"),
        ("Infinity", "'Infinity' is not a decimal number"),
        ("1_000.00", "'1_000.00' is not a decimal number"),
        ("99999999999999999999999.00", "99999999999999999999999.00 is too large"),
    ],
)
def test_amounts_must_be_plain_finite_decimals(tmp_path: Path, amount: str, problem: str) -> None:
    code, output, out = run(tmp_path, bank=HEADER + f"B1,2024-03-15,{amount},USD,X,,,\n")
    assert code == 2
    assert output.startswith(f"error: {tmp_path / 'bank.csv'}, line 2: column 'amount': {problem}")
    assert "\n" not in output
    assert not out.exists()


def test_plain_amount_notations_still_read(tmp_path: Path) -> None:
    bank = HEADER + "".join(
        f"B{i},2024-03-15,{a},USD,Nobody,,,\n"
        for i, a in enumerate(['"1,234.56"', "$80", "1000", "(5.00)"])
    )
    code, output, out = run(tmp_path, bank=bank)
    assert code == 0, output
    assert [r[1] for r in rows(out / "unapplied.csv")[1:]] == [
        "1234.56",
        "80.00",
        "1000.00",
        "-5.00",
    ]


# -- #15 --out, empty files, header spelling --------------------------------------------------
def test_out_pointing_at_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    code, output, _ = run(tmp_path, out=target)
    assert code == 2
    assert output == f"error: --out {target}: exists and is not a directory"
    assert target.read_text() == "keep me"


def test_out_below_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    code, output, _ = run(tmp_path, out=tmp_path / "plain" / "out")
    assert code == 2
    assert output.startswith("error: ") and "\n" not in output


@pytest.mark.parametrize("name", ["bank", "invoices", "customers"])
def test_a_zero_byte_file_is_reported_as_empty(tmp_path: Path, name: str) -> None:
    code, output, _ = run(tmp_path, **{name: ""})
    assert code == 2
    assert output.startswith(f"error: {tmp_path / f'{name}.csv'}: file is empty")


def test_header_names_are_stripped_and_case_folded(tmp_path: Path) -> None:
    bank = "Line_ID, Date , AMOUNT,currency , Payer_Name,payer_account,reference,memo\n"
    bank += "B1, 2024-03-15, 80.00, USD, Globex Corp,,,\n"
    invoices = INVOICES.replace("invoice_number,customer_id", "Invoice_Number , Customer_ID")
    code, output, out = run(tmp_path, bank=bank, invoices=invoices, customers=CUSTOMERS.upper())
    assert code == 0, output
    assert rows(out / "applications.csv")[1][:2] == ["B1", "INV-000201"]


def test_a_column_named_twice_after_folding_is_an_error(tmp_path: Path) -> None:
    code, output, _ = run(tmp_path, bank=BANK.replace("memo", "Amount"))
    assert code == 2
    assert (
        output == f"error: {tmp_path / 'bank.csv'}, line 1: column(s) amount appear more than once"
    )


# -- no partial output ------------------------------------------------------------------------
def test_a_failed_write_leaves_no_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(cli, "save_run", broken)
    bank, invoices = _file(tmp_path, "bank", BANK), _file(tmp_path, "invoices", INVOICES)
    args = ["--bank", str(bank), "--invoices", str(invoices), "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, args)
    assert isinstance(res.exception, RuntimeError)
    assert not (tmp_path / "out").exists()


def test_a_failed_rerun_keeps_the_previous_outputs_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output, out = run(tmp_path)
    assert code == 0, output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == set(cli.OUTPUT_FILES)

    def broken(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device", str(out / "proposals.csv"))

    monkeypatch.setattr(cli, "write_proposals", broken)
    code, output, _ = run(tmp_path, bank=BANK.replace("80.00", "81.00"))
    assert code == 2
    assert output == f"error: {out / 'proposals.csv'}: No space left on device"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _file(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_statement_amount_marked_cr_or_dr_is_money_in_or_out(tmp_path: Path) -> None:
    """UK and Commonwealth bank exports mark the direction: 80.00CR is a receipt (matched),
    1,250.00 DR a payment out (not a receipt)."""
    bank = (
        HEADER
        + "B1,2024-03-15,80.00CR,USD,Globex Corp,,,thanks\nB2,2024-03-15,1,250.00 DR,USD,x,,,\n"
    )
    bank = bank.replace("1,250.00 DR", '"1,250.00 DR"')
    code, output, out = run(tmp_path, bank=bank)
    assert code == 0, output
    assert rows(out / "applications.csv")[1][:3] == ["B1", "INV-000201", "80.00"]
    unapplied = rows(out / "unapplied.csv")
    assert unapplied[1][:4] == ["B2", "-1250.00", "USD", "NOT_A_RECEIPT"]
