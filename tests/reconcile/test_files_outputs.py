"""`reconcile files` outputs: exceptions.csv/.xlsx hold the source text safely, every row,
and where each exception came from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from typer.testing import CliRunner, Result

from reconcile import cli as recon_cli
from reconcile.definitions import parse_definitions
from reconcile.engine import output, reconcile
from reconcile.engine.output import csv_cell, write_outputs

DEFINITION = parse_definitions("""
name: t
a: {label: a}
b: {label: b}
keys: [{name: id}]
compare: [{name: amount, kind: amount}, {name: memo, kind: text}]
""")[0]


def _side(rows: list[tuple[str, str, str]]) -> pa.Table:
    ids, amounts, memos = (list(c) for c in zip(*rows, strict=True))
    return pa.table({"id": ids, "amount": amounts, "memo": memos})


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# -- B2: source text is never a formula or a link --------------------------------------------
MEMOS = ["=1+1", '=HYPERLINK("http://evil.example","click")', "=SUM(A1:A", "http://x.example"]


def test_xlsx_cells_are_text_never_formulas_or_links(tmp_path: Path) -> None:
    a = _side([(str(i), "1", m) for i, m in enumerate(MEMOS)])
    b = _side([(str(i), "1", "plain") for i in range(len(MEMOS))])
    write_outputs(reconcile(DEFINITION, a, b), tmp_path)
    sheet = openpyxl.load_workbook(tmp_path / "exceptions.xlsx").active
    header = [c.value for c in sheet[1]]
    memo = header.index("memo_a") + 1
    cells = [sheet.cell(row=r, column=memo) for r in range(2, len(MEMOS) + 2)]
    assert {c.data_type for c in cells} == {"s"}
    assert sorted(c.value for c in cells) == sorted(MEMOS)
    assert all(c.hyperlink is None for c in cells)
    currency = header.index("currency") + 1  # no currency: blank cells, not empty texts
    assert {sheet.cell(row=r, column=currency).value for r in range(2, len(MEMOS) + 2)} == {None}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+A1", "'+A1"),
        ("-2+3", "'-2+3"),
        ("-", "'-"),
        ("\t=1", "'\t=1"),
        ("-12.50", "-12.50"),  # numbers stay numbers
        ("+3", "+3"),
        ("-1,234.56", "-1,234.56"),
        ("-1.5E-3", "-1.5E-3"),
        ("INV-1", "INV-1"),
        ("2024-01-31", "2024-01-31"),
        ('{"amount": "-1"}', '{"amount": "-1"}'),
        (None, None),
        (True, True),
    ],
)
def test_csv_neutralises_formula_text_but_not_numbers(value: object, written: object) -> None:
    assert csv_cell(value) == written


def test_csv_has_a_bom_and_the_neutralised_text(tmp_path: Path) -> None:
    """C9: Excel on Windows reads UTF-8 only with a BOM (Société, not SociÃ©tÃ©)."""
    a = _side([("1", "-5", "=1+1"), ("2", "1", "Société")])
    b = _side([("1", "-6", "x"), ("2", "1", "Societe")])
    write_outputs(reconcile(DEFINITION, a, b), tmp_path)
    data = (tmp_path / "exceptions.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfexception_id,")
    rows = {r["key_id"]: r for r in _csv_rows(tmp_path / "exceptions.csv")}
    assert (rows["1"]["memo_a"], rows["1"]["amount_a"], rows["1"]["amount_b"]) == (
        "'=1+1",
        "-5",
        "-6",
    )
    assert rows["2"]["memo_a"] == "Société"


# -- B6: every exception row reaches the XLSX ------------------------------------------------
def test_xlsx_rows_over_a_sheet_continue_on_further_sheets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "XLSX_ROWS", 3)
    a = _side([(str(i), "1", "x") for i in range(7)])
    b = _side([("99", "1", "x")])
    result = reconcile(DEFINITION, a, b)
    write_outputs(result, tmp_path)
    book = openpyxl.load_workbook(tmp_path / "exceptions.xlsx")
    assert book.sheetnames == ["exceptions", "exceptions_2", "exceptions_3"]
    sheets = [list(book[name].iter_rows(values_only=True)) for name in book.sheetnames]
    assert [len(rows) for rows in sheets] == [4, 4, 3]  # a header on each
    assert all(rows[0] == sheets[0][0] for rows in sheets)
    ids = [row[0] for rows in sheets for row in rows[1:]]
    assert sorted(ids) == sorted(e.exception_id for e in result.exceptions)
    assert len(_csv_rows(tmp_path / "exceptions.csv")) == 8


def test_no_exceptions_is_one_sheet_with_the_header(tmp_path: Path) -> None:
    a = _side([("1", "1", "x")])
    write_outputs(reconcile(DEFINITION, a, a), tmp_path)
    book = openpyxl.load_workbook(tmp_path / "exceptions.xlsx")
    assert book.sheetnames == ["exceptions"]
    assert next(book.active.iter_rows(values_only=True))[:3] == (
        "exception_id",
        "recon_type",
        "category",
    )


# -- B7: which side repeats a key, and the source lines ----------------------------------------
def test_duplicates_show_the_repeating_side_rows_and_lines(tmp_path: Path) -> None:
    a = _side([("1", "10", "x"), ("2", "20", "x"), ("2", "25", "y"), ("3", "30", "x")])
    b = _side([("1", "11", "x"), ("2", "20", "x"), ("3", "30", "x"), ("3", "30", "x")])
    write_outputs(reconcile(DEFINITION, a, b), tmp_path)
    for rows in (
        _csv_rows(tmp_path / "exceptions.csv"),
        _xlsx_rows(tmp_path / "exceptions.xlsx"),
    ):
        by_key = {r["key_id"]: r for r in rows}
        two, three, one = by_key["2"], by_key["3"], by_key["1"]
        assert (two["category"], two["base_category"]) == ("DUPLICATE", "DUPLICATE_IN_A")
        assert (two["rows_a"], two["rows_b"], two["lines_a"], two["lines_b"]) == (
            "2",
            "1",
            "2, 3",
            "2",
        )
        assert [r["amount"] for r in json.loads(two["dup_rows_a"])] == ["20", "25"]
        assert three["base_category"] == "DUPLICATE_IN_B" and three["lines_b"] == "3, 4"
        assert (one["base_category"], one["lines_a"], one["lines_b"]) == (
            "AMOUNT_MISMATCH",
            "1",
            "1",
        )
        assert one["dup_rows_a"] == ""


def _xlsx_rows(path: Path) -> list[dict[str, str]]:
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [
        {h: "" if v is None else str(v) for h, v in zip(header, row, strict=True)}
        for row in rows[1:]
    ]


# -- through the command ---------------------------------------------------------------------
runner = CliRunner()


def _run(tmp_path: Path, a: str, b: str, *args: str) -> Result:
    (tmp_path / "a.csv").write_text(a)
    (tmp_path / "b.csv").write_text(b)
    return runner.invoke(
        recon_cli.app,
        ["files", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), *args],
        env={"COLUMNS": "200"},
    )


def test_amount_columns_size_severity_and_help_says_how(tmp_path: Path) -> None:
    """C1: an inferred number is a FIELD_MISMATCH without severity; ':amount' is money."""
    a, b = "Invoice,Amount\nINV-1,100\nINV-2,5\n", "Invoice,Amount\nINV-1,999\nINV-2,5\n"
    res = _run(tmp_path, a, b, "--key", "Invoice", "--out", str(tmp_path / "plain"))
    assert res.exit_code == 1, res.output
    (plain,) = _csv_rows(tmp_path / "plain" / "exceptions.csv")
    assert (plain["category"], plain["severity"], plain["amount"]) == ("FIELD_MISMATCH", "LOW", "")
    out = tmp_path / "money"
    res = _run(tmp_path, a, b, "--key", "Invoice", "--compare", "Amount:amount", "--out", str(out))
    assert res.exit_code == 1, res.output
    (money,) = _csv_rows(out / "exceptions.csv")
    assert (money["category"], money["severity"], money["amount"]) == (
        "AMOUNT_MISMATCH",
        "LOW",
        "899",
    )
    res = _run(tmp_path, "Invoice,Amount\nINV-1,5000\n", "Invoice,Amount\nINV-1,1\n",
               "--key", "Invoice", "--compare", "Amount:abs=0.01", "--out", str(out))  # fmt: skip
    assert _csv_rows(out / "exceptions.csv")[0]["severity"] == "MEDIUM"
    help_text = runner.invoke(recon_cli.app, ["files", "--help"], env={"COLUMNS": "200"}).output
    assert "COL:amount" in " ".join(help_text.split())


def test_exceptions_past_one_sheet_are_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "XLSX_ROWS", 2)
    res = _run(tmp_path, "id\n1\n2\n3\n", "id\n", "--key", "id", "--out", str(tmp_path / "o"))
    assert res.exit_code == 1, res.output
    assert "exceptions.xlsx: 3 rows over 2 sheets (2 rows fit on one)" in res.output


def test_an_out_path_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    res = _run(
        tmp_path, "id,v\n1,a\n", "id,v\n1,b\n", "--key", "id", "--out", str(tmp_path / "taken")
    )
    assert res.exit_code == 2
    assert f"error: --out {tmp_path / 'taken'}: exists and is not a directory" in res.output
    assert "Errno" not in res.output
