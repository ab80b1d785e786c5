"""`reconcile files`: outputs written all or none, engine columns apart from source columns,
internal line numbers apart from source columns, totals rows, blank key parts, workbook
formulas without values and sheet choice."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner, Result

from reconcile import cli as recon_cli
from reconcile.definitions import parse_definitions
from reconcile.engine import output, reconcile
from reconcile.engine.output import OutputError, write_outputs

DEFINITION = parse_definitions("""
name: t
a: {label: a}
b: {label: b}
keys: [{name: id}]
compare: [{name: amount, kind: amount}]
""")[0]


def _files(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(recon_cli.app, ["files", *args])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- outputs: all or none -----------------------------------------------------------------
def _result() -> object:
    a = pa.table({"id": ["1", "2"], "amount": ["1", "2"]})
    b = pa.table({"id": ["1", "2"], "amount": ["1", "3"]})
    return reconcile(DEFINITION, a, b)


def test_an_output_that_cannot_be_written_leaves_earlier_outputs_as_they_were(
    tmp_path: Path,
) -> None:
    (tmp_path / "exceptions.xlsx").mkdir()
    (tmp_path / "summary.json").write_text('{"old": 1}')
    with pytest.raises(OutputError, match=r"exceptions\.xlsx"):
        write_outputs(_result(), tmp_path)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exceptions.xlsx", "summary.json"]
    assert (tmp_path / "summary.json").read_text() == '{"old": 1}'


def test_a_failing_writer_leaves_no_temporary_file_and_no_new_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "summary.json").write_text('{"old": 1}')

    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(output, "write_xlsx", broken)
    with pytest.raises(OutputError, match=r"exceptions\.xlsx.*disk full"):
        write_outputs(_result(), tmp_path)  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
    assert (tmp_path / "summary.json").read_text() == '{"old": 1}'


def test_outputs_are_written_whole(tmp_path: Path) -> None:
    written = write_outputs(_result(), tmp_path)  # type: ignore[arg-type]
    assert [p.name for p in written] == ["exceptions.csv", "exceptions.xlsx", "summary.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert json.loads((tmp_path / "summary.json").read_text())["row_summary"]


def test_the_command_names_the_output_it_could_not_write(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "id,amount\n1,1\n2,2\n")
    b = _write(tmp_path / "b.csv", "id,amount\n1,1\n2,3\n")
    out = tmp_path / "out"
    (out / "exceptions.xlsx").mkdir(parents=True)
    result = _files(tmp_path, str(a), str(b), "--key", "id", "--out", str(out))
    assert result.exit_code == 2
    assert "exceptions.xlsx" in result.output and "folder" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["exceptions.xlsx"]


# -- source columns named like the engine's own -------------------------------------------
def test_source_columns_named_like_engine_columns_keep_their_values(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "id,rows,lines,dup_rows,is_exclusive,amt\n1,5,L1,x,n,10\n")
    b = _write(tmp_path / "b.csv", "id,rows,lines,dup_rows,is_exclusive,amt\n1,7,L3,y,m,11\n")
    out = tmp_path / "out"
    result = _files(tmp_path, str(a), str(b), "--key", "id", "--out", str(out))
    assert result.exit_code == 1, result.output
    with (out / "exceptions.csv").open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        (row,) = list(reader)
    assert reader.fieldnames is not None
    assert len(reader.fieldnames) == len(set(reader.fieldnames))
    assert (row["rows_a"], row["rows_b"], row["lines_a"], row["lines_b"]) == ("1", "1", "2", "2")
    assert row["is_exclusive_a"] == "False"
    assert (row["field_rows_a"], row["field_rows_b"]) == ("5", "7")
    assert (row["field_lines_a"], row["field_lines_b"]) == ("L1", "L3")
    assert (row["field_dup_rows_a"], row["field_is_exclusive_b"]) == ("x", "m")
    assert (row["amt_a"], row["amt_b"]) == ("10", "11")


# -- a source column named _line ------------------------------------------------------------
@pytest.mark.parametrize("name", ["_line", "_Line", "_LINE"])
@pytest.mark.parametrize("fmt", ["csv", "csv-quoted-break", "xlsx", "parquet"])
def test_a_column_named_line_is_refused_naming_it(tmp_path: Path, name: str, fmt: str) -> None:
    from billbridge.errors import ParseError
    from reconcile.engine import load_file

    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        for row in (["id", name, "amt"], ["1", "x", "10"]):
            sheet.append(row)
        path = tmp_path / "a.xlsx"
        book.save(path)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        path = tmp_path / "a.parquet"
        pq.write_table(pa.table({"id": ["1"], name: ["x"], "amt": ["10"]}), path)
    else:
        memo = '"two\nlines"' if fmt == "csv-quoted-break" else "x"
        path = _write(tmp_path / "a.csv", f"id,{name},amt\n1,{memo},10\n")
    with pytest.raises(ParseError, match=f"column '{name}'.*rename the column"):
        load_file(path)


def test_files_with_a_line_column_are_not_compared_on_made_up_lines(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "id,_line,amt\n1,x,10\n2,y,20\n")
    b = _write(tmp_path / "b.csv", "id,_line,amt\n1,x,10\n2,z,20\n")
    result = _files(tmp_path, str(a), str(b), "--key", "id")
    assert result.exit_code == 2
    assert "'_line'" in result.output and "rename the column" in result.output


# -- totals rows under the data -------------------------------------------------------------
def test_a_grand_total_row_under_the_data_is_not_a_record(tmp_path: Path) -> None:
    a = _write(
        tmp_path / "a.csv", "Invoice,Amount\nINV-1,100.00\nINV-2,200.00\nGrand Total,300.00\n"
    )
    b = _write(
        tmp_path / "b.csv", "Invoice,Amount\nINV-1,100.00\nINV-2,250.00\nGrand Total,350.00\n"
    )
    out = tmp_path / "out"
    result = _files(tmp_path, str(a), str(b), "--key", "Invoice", "--compare", "Amount:abs=0",
                    "--out", str(out))  # fmt: skip
    assert result.exit_code == 1
    assert "AMOUNT_MISMATCH: 1" in result.output
    assert "'Grand Total') is a totals row" in " ".join(result.output.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals_rows_not_read"] == {
        "a": [{"line": 4, "label": "Grand Total"}],
        "b": [{"line": 4, "label": "Grand Total"}],
    }
    assert summary["row_summary"]["df1_rows"] == 2


def test_a_total_after_a_blank_line_and_an_xlsx_sum_row_are_not_records(tmp_path: Path) -> None:
    import openpyxl

    from reconcile.engine import load_file

    csv_side = load_file(
        _write(
            tmp_path / "a.csv",
            'Invoice,Who,Amount,\r\nINV-1,Beta,$2.00,\r\n\r\nTotal,,"736.56",\r\n',
        )
    )
    assert csv_side.num_rows == 1 and csv_side.totals == ((4, "Total"),)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["Invoice", "Amount"], ["INV-1", 3], ["INV-2", 4], ["Total", 7]):
        sheet.append(row)
    book.save(tmp_path / "a.xlsx")
    xlsx_side = load_file(tmp_path / "a.xlsx")
    assert xlsx_side.num_rows == 2 and xlsx_side.totals == ((4, "Total"),)


@pytest.mark.parametrize(
    "text",
    [
        "id,amt\n1,5\nTotal,5\n2,7\n",  # a record after it: it is in the middle of the data
        "id,memo\n1,x\nTotal,carried over\n",  # text besides the label: a record
        "id,amt\n1,5\nTOTALLY,5\n",  # not a totals label
    ],
)
def test_rows_that_are_no_trailing_totals_row_stay_records(tmp_path: Path, text: str) -> None:
    from reconcile.engine import load_file

    side = load_file(_write(tmp_path / "a.csv", text))
    assert side.num_rows == text.count("\n") - 1 and side.totals == ()


# -- workbook formulas without a cached value -----------------------------------------------
def _formula_book(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()  # openpyxl writes formulas without their values
    sheet = book.active
    assert sheet is not None
    sheet.title = "Invoices"
    for row in (["Invoice", "Qty", "Price", "Amount"], ["INV-1", 3, 0.1, "=B2*C2"]):
        sheet.append(row)
    book.save(path)
    return path


def test_a_formula_without_a_cached_value_is_an_error_naming_sheet_and_cell(
    tmp_path: Path,
) -> None:
    a = _formula_book(tmp_path / "a.xlsx")
    b = _write(tmp_path / "b.csv", "Invoice,Qty,Price,Amount\nINV-1,3,0.1,0.30\n")
    result = _files(tmp_path, str(a), str(b), "--key", "Invoice", "--compare", "Amount:amount")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "a.xlsx" in message and "sheet 'Invoices', cell D2" in message
    assert "formula with no cached value; open and save the file in Excel" in message


def test_blank_cells_and_calculated_formulas_read_as_before(tmp_path: Path) -> None:
    import openpyxl

    from reconcile.engine import load_file

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["Invoice", "Amount", "Memo"], ["INV-1", 3, None], ["INV-2", None, "x"]):
        sheet.append(row)
    book.save(tmp_path / "a.xlsx")
    side = load_file(tmp_path / "a.xlsx")
    assert side.table is not None
    assert side.table.column("Amount").to_pylist() == ["3", None]


# -- which sheet of a workbook ---------------------------------------------------------------
def _book(path: Path, sheets: list[tuple[str, list[list[object]], str]], active: int) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows, state in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state
    book.active = active
    book.save(path)
    return path


DATA: list[list[object]] = [["Invoice", "Amount"], ["INV-1", 100], ["INV-2", 200]]
LOOKUP: list[list[object]] = [["Invoice", "Amount"], ["INV-9", 9]]
COVER: list[list[object]] = [["Report", "Invoice Register"], ["Run by", "jdoe"]]


def test_a_hidden_first_sheet_is_not_read(tmp_path: Path) -> None:
    a = _book(tmp_path / "a.xlsx", [("Lookup", LOOKUP, "hidden"), ("Data", DATA, "visible")], 0)
    b = _write(tmp_path / "b.csv", "Invoice,Amount\nINV-1,100\nINV-2,200\n")
    result = _files(tmp_path, str(a), str(b), "--key", "Invoice")
    assert result.exit_code == 0, result.output
    message = " ".join(result.output.split())
    assert "read sheet 'Data'" in message and "'Lookup' (hidden)" in message


def test_the_sheet_the_workbook_opens_on_is_read_and_sheet_chooses_another(
    tmp_path: Path,
) -> None:
    a = _book(tmp_path / "a.xlsx", [("Summary", COVER, "visible"), ("Data", DATA, "visible")], 1)
    b = _write(tmp_path / "b.csv", "Invoice,Amount\nINV-1,100\nINV-2,200\n")
    assert _files(tmp_path, str(a), str(b), "--key", "Invoice").exit_code == 0
    wrong = _files(tmp_path, str(a), str(b), "--key", "Invoice", "--sheet", "Summary")
    assert wrong.exit_code == 2
    message = " ".join(wrong.output.split())
    assert "no column 'Invoice'" in message and "sheet 'Summary'" in message
    assert "also has 'Data'" in message
    missing = _files(tmp_path, str(a), str(b), "--key", "Invoice", "--sheet-left", "Nope")
    assert missing.exit_code == 2 and "'Summary', 'Data'" in missing.output
    not_a_book = _files(tmp_path, str(a), str(b), "--key", "Invoice", "--sheet-right", "Data")
    assert not_a_book.exit_code == 2 and "not an XLSX workbook" in not_a_book.output


def test_a_hidden_active_sheet_gives_way_to_the_first_visible_one(tmp_path: Path) -> None:
    from reconcile.engine import load_file

    path = _book(
        tmp_path / "a.xlsx",
        [("Cover", COVER, "visible"), ("Data", DATA, "visible"), ("Old", LOOKUP, "hidden")],
        2,
    )
    side = load_file(path)
    assert side.sheet is not None and side.sheet.name == "Cover"
    assert load_file(path, sheet="Data").num_rows == 2


# -- a date column no order was settled for, named with --compare COL:days=N ------------------
def test_an_undecided_date_order_error_names_the_flags(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", "id,d\n1,01/02/2024\n2,03/04/2024\n")
    b = _write(tmp_path / "b.csv", "id,d\n1,2024-01-02\n2,2024-03-04\n")
    result = _files(tmp_path, str(b), str(a), "--key", "id", "--compare", "d:days=0")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "'01/02/2024'" in message and "--day-first right or --month-first right" in message
