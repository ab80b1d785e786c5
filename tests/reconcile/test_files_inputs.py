"""`reconcile files` inputs: how side files are read (blank rows, line numbers, headers,
unreadable files), as the probe of the ad-hoc command found them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import xlsxwriter
from typer.testing import CliRunner, Result

from billbridge.errors import ParseError
from connectors.files import reader
from reconcile import cli as recon_cli
from reconcile.definitions import parse_definitions
from reconcile.engine import adhoc, load_file, prepare, reconcile
from reconcile.engine.sides import LINE

DEFINITION = parse_definitions("""
name: t
a: {label: a}
b: {label: b}
keys: [{name: id}]
compare: [{name: amount, kind: amount}]
""")[0]


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for i, row in enumerate(rows):
        sheet.write_row(i, 0, row)
    book.close()
    return path


def _records(table: pa.Table) -> list[tuple[object, ...]]:
    names = [n for n in table.column_names if n != LINE]
    return [(*(r[n] for n in names), r[LINE]) for r in table.to_pylist()]


# -- A5: blank rows are not records ---------------------------------------------------------
def test_csv_rows_of_bare_delimiters_are_skipped(tmp_path: Path) -> None:
    """Excel's "Save as CSV" writes ',,' under the last row: not records (were DUPLICATEs of
    an empty key), as in connectors/files/reader.py."""
    path = tmp_path / "excel.csv"
    path.write_bytes(b'id,name,amount\r\n1,Acme,100.00\r\n,,\r\n2,Globex,200.00\r\n,,\r\n"", ,\r\n')
    table = load_file(path).table
    assert table is not None
    assert _records(table) == [("1", "Acme", "100.00", 2), ("2", "Globex", "200.00", 4)]


def test_xlsx_rows_of_blank_text_are_skipped(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "s.xlsx",
        [["id", "amount"], ["1", 10], [" ", None], [None, "  "], ["2", 20]],
    )
    table = load_file(path).table
    assert table is not None
    assert _records(table) == [("1", "10", 2), ("2", "20", 5)]


def test_identical_data_with_blank_rows_agrees(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("id,amount\n1,10\n,\n2,20\n,\n")
    b = tmp_path / "b.csv"
    b.write_text("id,amount\n1,10\n2,20\n")
    result = reconcile(DEFINITION, load_file(a), load_file(b))
    assert result.agree and result.summary["row_summary"]["df1_rows"] == 2


# -- B3: line numbers are the file's -------------------------------------------------------
def test_lines_count_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank_mid.csv"
    path.write_text("id,amount\n1,10\n\n\n2,20\n3,30\n")
    table = load_file(path).table
    assert table is not None
    assert table.column(LINE).to_pylist() == [2, 5, 6]


def test_errors_and_details_name_the_real_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,amount\n1,10\n\n\n2,20\n3,abc\n")
    good = tmp_path / "good.csv"
    good.write_text("id,amount\n1,10\n2,20\n3,30\n")
    with pytest.raises(ParseError, match=r"bad\.csv, line 6: field 'amount': 'abc'"):
        reconcile(DEFINITION, load_file(bad), load_file(good))
    gap = tmp_path / "gap.csv"
    gap.write_text("id,amount\n\n1,10\n\n2,20\n3,31\n")
    (exc,) = reconcile(DEFINITION, load_file(gap), load_file(good)).exceptions
    assert exc.keys == {"id": "3"} and exc.details["lines"] == {"a": 6, "b": 4}


# -- A6: an XLSX header names each column once ----------------------------------------------
def test_xlsx_repeated_header_is_the_csv_error(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "dup.xlsx", [["id", "Amount", "Amount "], ["1", 10, 999]])
    with pytest.raises(ParseError) as err:
        load_file(path)
    assert str(err.value) == f"{path}, line 1: duplicate column 'Amount'"
    csv_path = tmp_path / "dup.csv"
    csv_path.write_text("id,Amount,Amount\n1,10,999\n")
    with pytest.raises(ParseError, match=r"dup\.csv, line 1: duplicate column 'Amount'$"):
        load_file(csv_path)


def test_xlsx_header_after_blank_rows_and_blank_header_cells(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "h.xlsx", [[None], ["id", None, "x"], ["1", 2, 3]])
    table = load_file(path).table
    assert table is not None
    assert table.column_names == ["id", "column_2", "x", LINE]
    assert table.column(LINE).to_pylist() == [3]


def test_xlsx_floats_read_as_excel_shows_them(tmp_path: Path) -> None:
    """A cached =0.1+0.2 is 0.30000000000000004 in the file and 0.3 on screen: as a number
    it is 0.3 (more than 10 decimals is refused by the engine), and 229.0 is 229."""
    path = _xlsx(tmp_path / "f.xlsx", [["id", "total"], ["1", 0.1 + 0.2], ["2", 229.0]])
    table = load_file(path).table
    assert table is not None
    assert table.column("total").to_pylist() == ["0.3", "229"]


def test_empty_sheet_names_the_file_once(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    xlsxwriter.Workbook(str(path)).close()
    with pytest.raises(ParseError) as err:
        load_file(path)
    assert str(err.value) == f"{path}, line 1: the sheet is empty"


# -- B1: files that cannot be read are one error naming the file -----------------------------
@pytest.mark.parametrize(
    ("name", "data", "what"),
    [
        ("renamed.xlsx", b"id,amount\n1,2\n", "not a readable XLSX workbook (BadZipFile"),
        ("broken.parquet", b"PAR1 not parquet", "not a readable Parquet file (ArrowInvalid"),
    ],
)
def test_unreadable_file_is_a_parse_error_naming_it(
    tmp_path: Path, name: str, data: bytes, what: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ParseError) as err:
        load_file(path)
    assert str(err.value).startswith(f"{path}: {what}")
    assert "\n" not in str(err.value)


def test_csv_field_over_128_kb_is_read(tmp_path: Path) -> None:
    """A case description of 200 KB with line breaks (so the general reader reads it)."""
    text = ("word " * 40_000 + "\n") * 1
    path = tmp_path / "cases.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["Case Number", "Description"], ["C-1", text], ["C-2", "x"]])
    table = load_file(path).table
    assert table is not None
    assert table.column("Description").to_pylist() == [text, "x"]
    assert table.column(LINE).to_pylist() == [2, 4]


def test_csv_reader_error_is_a_parse_error_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """csv.Error (here: a field over the limit, with the limit forced low) names the line."""
    path = tmp_path / "x.csv"
    path.write_text('id,note\n1,"short"\n2,"' + "y" * 50 + '\nmore"\n')
    monkeypatch.setattr(reader, "_MAX_FIELD_LIMIT", 20)
    previous = csv.field_size_limit(20)
    try:
        with pytest.raises(ParseError) as err:
            reader.read_csv(path)
    finally:
        csv.field_size_limit(previous)
    assert str(err.value) == f"{path}, line 3: field larger than field limit (20)"


# -- the command: columns, kinds, definitions ------------------------------------------------
runner = CliRunner()


def _files(tmp_path: Path, a: str, b: str, *args: str) -> tuple[Result, dict[str, Any]]:
    (tmp_path / "a.csv").write_text(a)
    (tmp_path / "b.csv").write_text(b)
    out = tmp_path / "out"
    res = runner.invoke(
        recon_cli.app,
        ["files", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), *args, "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    summary = (out / "summary.json").read_text() if (out / "summary.json").exists() else "{}"
    return res, json.loads(summary)


def _one_line_error(res: Result) -> str:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def test_columns_pair_ignoring_case_and_spaces(tmp_path: Path) -> None:
    """A1: 'Amount' and 'amount ' are one column; exit 1 with both differences, not 0."""
    res, summary = _files(
        tmp_path,
        "Invoice,Amount,Status,Region\nINV-1,100,Open,EU\n",
        "Invoice, amount ,STATUS,Amount (USD)\nINV-1,999,Void,1\n",
        "--key",
        "Invoice",
    )
    assert res.exit_code == 1, res.output
    assert [s["column"] for s in summary["mismatch_stats"]["stats"]] == ["Amount", "Status"]
    assert summary["columns_only_in_a"] == ["Region"]
    assert summary["columns_only_in_b"] == ["Amount (USD)"]
    assert "not compared, only in A: 'Region'" in res.output
    assert "not compared, only in B: 'Amount (USD)'" in res.output


def test_nothing_left_to_compare_is_an_error(tmp_path: Path) -> None:
    res, _ = _files(tmp_path, "id,Amount\n1,100\n", "id,Amount (USD)\n1,999\n", "--key", "id")
    line = _one_line_error(res)
    assert "no column to compare" in line and "'Amount (USD)'" in line


def test_key_only_files_compare_their_keys(tmp_path: Path) -> None:
    res, summary = _files(tmp_path, "id\n1\n2\n", "id\n1\n", "--key", "id")
    assert res.exit_code == 1, res.output
    assert summary["exceptions_by_category"] == {"MISSING_IN_B": 1}


def test_formatted_numbers_are_inferred_as_numbers(tmp_path: Path) -> None:
    """A3: the engine's spreadsheet parse decides, not a plain cast: equal numbers agree."""
    res, summary = _files(
        tmp_path,
        'id,amount,day\n1,"1,234.56",2024-03-15\n2,$1500.00,2024-03-16T10:00:00\n'
        "3,(12.50),\n4,12.50-,\n5,100,\n6,-0,\n7,1E+3,\n",
        "id,amount,day\n1,1234.56,2024-03-15\n2,1500,2024-03-16\n3,-12.5,\n4,-12.50,\n"
        "5,100.00,\n6,0,\n7,1000,\n",
        "--key",
        "id",
    )
    assert res.exit_code == 0, res.output
    assert summary["row_summary"]["equal_rows"] == 7


def test_mostly_numeric_side_reports_its_odd_value(tmp_path: Path) -> None:
    res, _ = _files(
        tmp_path,
        "id,amount\n1,10\n2,20\n3,30\n",
        "id,amount\n1,10.0\n\n2,20.00\n3,n/a\n",
        "--key",
        "id",
    )
    line = _one_line_error(res)
    assert "b.csv, line 5: field 'amount': 'n/a'" in line and "--compare COL:text" in line


def test_text_on_both_sides_stays_text_and_a_blank_side_says_nothing(tmp_path: Path) -> None:
    res, summary = _files(
        tmp_path,
        "id,ref,amount\n1,PO-1,\n2,17,\n",
        "id,ref,amount\n1,PO-1,5.00\n2,017,7\n",
        "--key",
        "id",
    )
    assert res.exit_code == 1, res.output
    kinds = {s["column"]: s["dtype1"] for s in summary["mismatch_stats"]["stats"]}
    assert kinds == {"ref": "text", "amount": "number"}


def test_inference_reads_each_side_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """B5: one query per side for every column (was a connection per column)."""
    columns = [f"Col {i}" for i in range(60)]
    path = tmp_path / "wide.csv"
    path.write_text(
        "id,"
        + ",".join(columns)
        + "\n"
        + "".join(f"{r}," + ",".join(f"{r * i}.5" for i in range(60)) + "\n" for r in range(5))
    )
    side = load_file(path)
    calls: list[str] = []
    real = prepare.database

    class Counting:
        def cursor(self) -> Any:
            calls.append("cursor")
            return real().cursor()

    monkeypatch.setattr(prepare, "database", Counting)
    plan = adhoc.plan_files(side, side, ["id"], [])
    assert calls == ["cursor", "cursor"]
    assert {c.kind for c in plan.definition.compare} == {"number"}
    assert len(plan.definition.compare) == 60


def test_headers_that_sanitise_alike_stay_comparable(tmp_path: Path) -> None:
    """B4: 'Discount %' and 'Discount $' are two fields; identical files agree."""
    data = "Invoice #,Discount %,Discount $,Amount\nINV-1,10,5.00,45.00\n"
    res, summary = _files(tmp_path, data, data, "--key", "Invoice #")
    assert res.exit_code == 0, res.output
    assert len(summary["mismatch_stats"]["stats"]) == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("amount:abs=-1", "needs a number from 0"),
        ("amount:abs=NaN", "needs a number from 0"),
        ("amount:pct=1e400", "needs a number from 0"),
        ("amount:abs=0.00000000001", "at most 10 decimals"),
        ("amount:days=99999999999", "whole number of days"),
        ("amount:abs=0.01:days=1", "abs/pct/minor_units only apply to amount or number"),
        ("amount:text:abs=1", "abs/pct/minor_units only apply to amount or number"),
    ],
)
def test_bad_compare_options_are_one_line(tmp_path: Path, spec: str, message: str) -> None:
    """C2 and B1: bounds checked when the option is read; pydantic errors as one line."""
    res, _ = _files(
        tmp_path, "id,amount\n1,1\n", "id,amount\n1,1\n", "--key", "id", "--compare", spec
    )
    line = _one_line_error(res)
    assert f"--compare {spec!r}" in line and message in line


def test_a_column_compared_twice_is_one_line(tmp_path: Path) -> None:
    res, _ = _files(
        tmp_path,
        "id,amount\n1,1\n",
        "id,amount\n1,1\n",
        *("--key", "id", "--compare", "amount", "--compare", "amount:abs=1"),
    )
    assert "column compared twice" in _one_line_error(res)


def test_unreadable_workbook_exits_2_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"id,amount\n1,2\n")
    (tmp_path / "ok.csv").write_text("id\n1\n")
    res = runner.invoke(recon_cli.app, ["files", str(bad), str(tmp_path / "ok.csv"), "--key", "id"])
    assert f"error: {bad}: not a readable XLSX workbook" in _one_line_error(res)


def test_unexpected_error_exits_2_naming_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reconcile.engine as engine

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(engine, "reconcile", broken)
    res, _ = _files(tmp_path, "id\n1\n", "id\n1\n", "--key", "id")
    line = _one_line_error(res)
    assert (
        line
        == f"error: {tmp_path / 'a.csv'} vs {tmp_path / 'b.csv'}: unexpected RuntimeError: boom"
    )


def test_key_normalisations_from_the_command_line(tmp_path: Path) -> None:
    a = "id,sku,amount\n00123,SKU-3,10.00\n00124,SKU-4,20.00\n"
    b = "id,sku,amount\n123,sku-3,10.00\n124,sku-4,20.00\n"
    plain, _ = _files(tmp_path, a, b, "--key", "id,sku")
    assert plain.exit_code == 1  # 00123 is not 123, SKU-3 is not sku-3
    normalised, _ = _files(tmp_path, a, b, "--key", "id:strip_leading_zeros,sku:casefold")
    assert normalised.exit_code == 0, normalised.output
    bad, _ = _files(tmp_path, a, b, "--key", "id:upper")
    assert "unknown normalisation 'upper'" in _one_line_error(bad)
