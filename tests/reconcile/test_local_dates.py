"""Dates written the local way (`31.01.2024`, `1/31/2024 2:22 pm`, `Jan 31, 2024`) read as
ISO dates by `reconcile files`: the values decide the order where they can (31/01 is no
month-first date); where they cannot (01/02/2024), `--day-first`/`--month-first` declare
it, and undeclared the column is compared as written with a hint."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from reconcile import cli as recon_cli
from reconcile.engine import load_file
from reconcile.engine.local_dates import with_iso_dates

runner = CliRunner()
ISO = "inv,posted,amount\nA1,2024-01-31,10.00\nA2,2024-02-01,20.00\nA3,2024-12-05,30.00\n"


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wrapping inside the long temporary paths the messages name."""
    monkeypatch.setattr(recon_cli.console, "width", 10_000)


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(recon_cli.app, ["files", *args])
    return res.exit_code, res.output


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "dates",
    [
        ("31.01.2024", "01.02.2024", "05.12.2024"),  # German: points are day first
        ("31.01.24", "1.2.24", "5.12.24"),  # two-digit years, no leading zeros
        ("31/01/2024", "01/02/2024", "05/12/2024"),  # UK: 31/01 decides
        ("01/31/2024", "02/01/2024", "12/05/2024"),  # US: 01/31 decides
        ("1/31/2024 2:22 pm", "2/1/2024 9:05 AM", "12/5/2024 11:59 PM"),  # NetSuite, with times
        ("31-Jan-2024", "01-Feb-2024", "05-Dec-2024"),
        ("Jan 31, 2024", "Feb 1, 2024", "Dec 5, 2024"),  # Salesforce reports
        ("31 January 2024", "1 February 2024", "5 December 2024"),
        ("31-01-2024", " 01-02-2024 ", "05-12-2024 00:00:00"),  # dashes, spaces, midnight
    ],
)
def test_local_dates_agree_with_their_iso_twin(tmp_path: Path, dates: tuple[str, ...]) -> None:
    rows = "".join(f'A{i},"{d}",{i}0.00\n' for i, d in enumerate(dates, 1))
    local = _write(tmp_path, "local.csv", "inv,posted,amount\n" + rows)
    iso = _write(tmp_path, "iso.csv", ISO)
    code, output = _run(str(local), str(iso), "--key", "inv")
    assert code == 0, output
    assert f"local.csv: 'posted' read as dates ('{dates[0]}' is 2024-01-31)" in output
    # a day off is found, with the delta in days
    shifted = _write(tmp_path, "shifted.csv", ISO.replace("2024-02-01", "2024-02-02"))
    code, output = _run(str(local), str(shifted), "--key", "inv", "--compare", "posted")
    assert code == 1 and "DATE_MISMATCH: 1" in output, output


def test_dates_that_read_both_ways_need_the_order_declared(tmp_path: Path) -> None:
    local = _write(tmp_path, "local.csv", "inv,posted\nA1,01/02/2024\nA2,03/04/2024\n")
    iso = _write(tmp_path, "iso.csv", "inv,posted\nA1,2024-02-01\nA2,2024-04-03\n")
    code, output = _run(str(local), str(iso), "--key", "inv")
    assert code == 1
    assert "FIELD_MISMATCH: 2" in output  # compared as written, not guessed
    assert (
        "local.csv: 'posted': dates that read differently day first and month first "
        "(01/02/2024) were compared as written; add --day-first left or --month-first left"
    ) in output
    code, output = _run(str(local), str(iso), "--key", "inv", "--day-first", "left")
    assert code == 0, output
    code, output = _run(str(local), str(iso), "--key", "inv", "--month-first", "left")
    assert code == 1 and "DATE_MISMATCH: 2" in output, output
    code, output = _run(
        str(local), str(iso), "--key", "inv", "--day-first", "both", "--month-first", "left"
    )
    assert code == 2 and "--day-first and --month-first both name the left file" in output


def test_two_files_written_alike_agree_without_a_declaration(tmp_path: Path) -> None:
    text = "inv,posted\nA1,01/02/2024\nA2,03/04/2024\n"
    left, right = _write(tmp_path, "l.csv", text), _write(tmp_path, "r.csv", text)
    code, output = _run(str(left), str(right), "--key", "inv")
    assert code == 0, output
    assert "day first" not in output  # no hint when nothing differs


def test_a_value_that_is_no_date_is_reported_at_its_line(tmp_path: Path) -> None:
    local = _write(tmp_path, "local.csv", "inv,posted\nA1,31.01.2024\nA2,n/a\nA3,05.12.2024\n")
    iso = _write(tmp_path, "iso.csv", "inv,posted\nA1,2024-01-31\nA2,2024-02-01\nA3,2024-12-05\n")
    code, output = _run(str(local), str(iso), "--key", "inv")
    assert code == 2
    assert "local.csv, line 3: field 'posted': 'n/a'" in output
    assert "its other values are dates like '31.01.2024'" in output


def test_keys_codes_numbers_and_impossible_dates_stay_as_written(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "x.csv",
        "day,code,amount,bad,iso,half\n"
        "31.01.2024,AB-12,1.5,31.02.2024,2024-01-31,31.01.2024\n"
        "01.02.2024,CD-34,2.25,30.02.2024,2024-02-01,x\n"
        "02.02.2024,EF-56,3,29.02.2023,,y\n",
    )
    read = with_iso_dates(load_file(path), keep={"day"})
    # a key stays as written; a column whose "dates" do not exist is not dates; ISO needs
    # nothing; a column mostly of other values is not a date column
    assert read.read == {} and read.ambiguous == []
    assert read.side.table is not None
    assert read.side.table.column("day").to_pylist()[0] == "31.01.2024"
    read = with_iso_dates(load_file(path))
    assert read.read == {"day": "day"}
    assert read.examples == {"day": ("31.01.2024", "2024-01-31")}


def test_blanks_stay_blank_and_lines_stay_with_their_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "inv,posted\nA1,31/01/2024\nA2,\nA3,1/2/2024\n")
    side = load_file(path)
    assert side.table is not None
    blank = side.table.column("posted")[1].as_py()
    assert blank in ("", None)
    read = with_iso_dates(side, keep={"inv"})
    assert read.side.table is not None
    rows = read.side.table.select(["inv", "posted", "_line"]).to_pylist()
    assert rows == [
        {"inv": "A1", "posted": "2024-01-31", "_line": 2},
        {"inv": "A2", "posted": blank, "_line": 3},
        {"inv": "A3", "posted": "2024-02-01", "_line": 4},
    ]


def test_a_parquet_file_of_text_dates_is_read_and_a_typed_one_left_in_place(
    tmp_path: Path,
) -> None:
    text = tmp_path / "text.parquet"
    pq.write_table(pa.table({"inv": ["A1", "A2"], "posted": ["12/31/2024", "1/2/2025"]}), text)
    read = with_iso_dates(load_file(text), keep={"inv"})
    assert read.side.table is not None
    assert read.side.table.column("posted").to_pylist() == ["2024-12-31", "2025-01-02"]
    assert read.side.table.column("_line").to_pylist() == [1, 2]
    typed = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"inv": ["A1"], "n": pa.array([1], pa.int64())}), typed)
    side = load_file(typed)
    assert with_iso_dates(side).side is side  # no text column: scanned in place


def test_exceptions_written_show_the_dates_as_read(tmp_path: Path) -> None:
    local = _write(tmp_path, "local.csv", "inv,posted\nA1,31.01.2024\nA2,01.02.2024\n")
    iso = _write(tmp_path, "iso.csv", "inv,posted\nA1,2024-01-31\nA2,2024-02-03\n")
    out = tmp_path / "out"
    code, output = _run(str(local), str(iso), "--key", "inv", "--out", str(out))
    assert code == 1, output
    with (out / "exceptions.csv").open(encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["key_inv"], row["posted_a"], row["posted_b"]) == ("A2", "2024-02-01", "2024-02-03")
    assert row["category"] == "DATE_MISMATCH"


def test_one_date_column_settles_the_order_of_the_files_others(tmp_path: Path) -> None:
    """An export writes all its dates one way: a due date 12/31/2023 says how the same
    file's issue date 12/01/2023 reads; two columns showing different orders settle
    nothing."""
    path = _write(
        tmp_path,
        "x.csv",
        "issued,due\n12/01/2023,12/31/2023\n12/05/2023,01/04/2024\n",
    )
    read = with_iso_dates(load_file(path))
    assert read.read == {"issued": "month", "due": "month"} and read.ambiguous == []
    assert read.side.table is not None
    assert read.side.table.column("issued").to_pylist() == ["2023-12-01", "2023-12-05"]
    mixed = _write(
        tmp_path,
        "y.csv",
        "issued,due,paid\n12/01/2023,12/31/2023,31/12/2023\n12/05/2023,01/04/2024,04/01/2024\n",
    )
    read = with_iso_dates(load_file(mixed))
    assert read.read == {"due": "month", "paid": "day"} and read.ambiguous == ["issued"]


DEFINITIONS = """
reconciliations:
  - name: inv
    a: {label: erp, path: de.csv, decimal_comma: true}
    b: {label: billing, path: iso.csv}
    keys: [{name: number}]
    compare:
      - {name: total, kind: amount}
      - {name: issued, kind: date}
      - {name: ref, kind: text}
    amount_field: total
"""


def test_a_definitions_side_reads_its_local_numbers_and_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A YAML side declares decimal_comma (and, where no value decides, dates); only the
    compared amount and date fields are read so: a text field 01.02.2024 stays text."""
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    head = "number,total,issued,ref\n"
    _write(
        tmp_path, "de.csv", head + 'A,"1.234,56",31.01.2024,01.02.2024\nB,"99,90",01.02.2024,x\n'
    )
    _write(tmp_path, "iso.csv", head + "A,1234.56,2024-01-31,2024-02-01\nB,99.80,2024-02-01,x\n")
    (tmp_path / "recon.yaml").write_text(DEFINITIONS, encoding="utf-8")
    definitions = str(tmp_path / "recon.yaml")
    res = runner.invoke(recon_cli.app, ["run", "inv", "--definitions", definitions])
    assert res.exit_code == 1, res.output
    assert "AMOUNT_MISMATCH: 1" in res.output and "FIELD_MISMATCH: 1" in res.output
    assert "DATE_MISMATCH" not in res.output


def test_a_definitions_side_declares_the_order_no_value_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    head = "number,total,issued,ref\n"
    _write(tmp_path, "de.csv", head + 'A,"1,00",01/03/2024,x\nB,"2,00",02/01/2024,y\n')
    _write(tmp_path, "iso.csv", head + "A,1.00,2024-01-03,x\nB,2.00,2024-02-01,y\n")
    (tmp_path / "recon.yaml").write_text(DEFINITIONS, encoding="utf-8")
    definitions = str(tmp_path / "recon.yaml")
    res = runner.invoke(recon_cli.app, ["run", "inv", "--definitions", definitions])
    assert res.exit_code == 2
    assert "column 'issued' holds dates that read differently day first and month" in res.output
    assert "dates: day_first or dates: month_first on side a (erp)" in res.output
    text = DEFINITIONS.replace("decimal_comma: true}", "decimal_comma: true, dates: month_first}")
    (tmp_path / "recon.yaml").write_text(text, encoding="utf-8")
    res = runner.invoke(recon_cli.app, ["run", "inv", "--definitions", definitions])
    assert res.exit_code == 0, res.output
