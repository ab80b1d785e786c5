"""Header names as exports write them: a trailing delimiter (a blank name), names that
differ only in letter case, and names in other alphabets (Fällig am, 金额)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from billbridge.errors import ParseError
from reconcile import cli as recon_cli
from reconcile.engine import load_file

runner = CliRunner()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(recon_cli.app, ["files", *args])
    return res.exit_code, res.output


@pytest.mark.parametrize("header", ["id,amount,", "id,,amount", "id,amount,,"])
def test_a_blank_column_name_is_named_by_its_position(tmp_path: Path, header: str) -> None:
    names = header.split(",")
    row = ",".join({"id": "1", "amount": "10.00"}.get(c, "") for c in names)
    left = _write(tmp_path, "l.csv", f"{header}\n{row}\n")
    right = _write(tmp_path, "r.csv", "id,amount\n1,10.00\n")
    blanks = [f"column_{i + 1}" for i, c in enumerate(names) if not c]
    assert load_file(left).column_names == [c or f"column_{i + 1}" for i, c in enumerate(names)] + [
        "_line"
    ]
    code, output = _run(str(left), str(right), "--key", "id", "--out", str(tmp_path / "out"))
    assert code == 0, output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["columns_only_in_a"] == blanks


def test_names_that_differ_only_in_case_are_refused_not_confused(tmp_path: Path) -> None:
    """SQL reads `Amount` and `amount` as one column: comparing would read one for both and
    could report agreement on the other."""
    left = _write(tmp_path, "l.csv", "id,Amount,amount\n1,10.00,11.00\n2,20.00,21.00\n")
    right = _write(tmp_path, "r.csv", "id,Amount,amount\n1,10.00,11.00\n2,20.00,22.00\n")
    code, output = _run(str(left), str(right), "--key", "id")
    assert code == 2
    assert "l.csv, line 1: columns 'Amount' and 'amount' differ only in letter case" in output
    # the DuckDB CSV path, the project's reader (a ragged file) and Parquet all refuse
    ragged = _write(tmp_path, "g.csv", "id;Amount;amount\n1;1,5;2\n")
    with pytest.raises(ParseError, match="differ only in letter case"):
        load_file(ragged)
    pq.write_table(pa.table({"ID": ["1"], "id": ["2"]}), tmp_path / "p.parquet")
    with pytest.raises(ParseError, match="columns 'ID' and 'id' differ only in letter case"):
        load_file(tmp_path / "p.parquet")


def test_names_in_other_alphabets_are_compared(tmp_path: Path) -> None:
    head = "Belegnummer;Fällig am;Betrag;金额;Währung\n"
    left = _write(
        tmp_path, "l.csv", head + "A1;2024-03-01;10.00;5;EUR\nA2;2024-03-02;20.00;6;EUR\n"
    )
    right = _write(
        tmp_path, "r.csv", head + "A1;2024-03-01;10.00;5;EUR\nA2;2024-03-03;20.00;7;EUR\n"
    )
    out = tmp_path / "out"
    code, output = _run(str(left), str(right), "--key", "Belegnummer", "--out", str(out))
    assert code == 1, output
    rows = (out / "exceptions.csv").read_text(encoding="utf-8-sig").splitlines()
    header = rows[0].split(",")
    assert "Fallig_am_a" in header and "column_a" in header and "Wahrung_a" in header
    assert len(rows) == 2  # A2: the due date and the amount differ, one exception
    assert "DATE_MISMATCH" in rows[1] or "FIELD_MISMATCH" in rows[1]


def test_typed_booleans_agree_with_the_same_data_as_csv_text(tmp_path: Path) -> None:
    """A workbook's TRUE cell reads as Excel shows it (TRUE, not Python's True), and a
    Parquet bool matches a CSV's TRUE or True."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (("sku", "taxable"), ("A-1", True), ("A-2", False)):
        sheet.append(row)
    book.save(tmp_path / "b.xlsx")
    pq.write_table(
        pa.table({"sku": ["A-1", "A-2"], "taxable": [True, False]}), tmp_path / "b.parquet"
    )
    # Excel writes TRUE/FALSE to CSV; pandas writes True/False
    excel = _write(tmp_path, "e.csv", "sku,taxable\nA-1,TRUE\nA-2,FALSE\n")
    pandas = _write(tmp_path, "p.csv", "sku,taxable\nA-1,True\nA-2,False\n")
    for typed, text in (("b.xlsx", excel), ("b.parquet", excel), ("b.parquet", pandas)):
        code, output = _run(str(tmp_path / typed), str(text), "--key", "sku")
        assert code == 0, (typed, text, output)
    changed = _write(tmp_path, "c.csv", "sku,taxable\nA-1,TRUE\nA-2,TRUE\n")
    code, output = _run(str(tmp_path / "b.parquet"), str(changed), "--key", "sku")
    assert code == 1 and "FIELD_MISMATCH: 1" in output


def test_a_memo_with_windows_line_breaks_equals_the_same_memo_with_lf(tmp_path: Path) -> None:
    crlf = tmp_path / "w.csv"
    crlf.write_bytes(b'id,memo\r\n1,"line one\r\nline two"\r\n2,plain\r\n')
    lf = tmp_path / "u.csv"
    lf.write_bytes(b'id,memo\n1,"line one\nline two"\n2,plain\n')
    code, output = _run(str(crlf), str(lf), "--key", "id")
    assert code == 0, output
    side = load_file(crlf)
    assert side.table is not None
    assert side.table.column("memo").to_pylist() == ["line one\nline two", "plain"]
    assert side.table.column("_line").to_pylist() == [2, 4]
