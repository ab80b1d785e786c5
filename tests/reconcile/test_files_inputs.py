"""`reconcile files` inputs: how side files are read (blank rows, line numbers, headers,
unreadable files), as the probe of the ad-hoc command found them."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest
import xlsxwriter

from billbridge.errors import ParseError
from connectors.files import reader
from reconcile.definitions import parse_definitions
from reconcile.engine import load_file, reconcile
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
