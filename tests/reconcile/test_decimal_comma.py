"""`reconcile files --decimal-comma left|right|both`: a file that writes numbers with a
decimal comma (a German ERP's `1.234,56`, `-5,00`, `1 234,56`) compared with one that writes
`1234.56`. Declared per file, never guessed: `1.000` is a thousand only when declared."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from reconcile import cli as recon_cli
from reconcile.engine import load_file
from reconcile.engine.decimal_comma import looks_decimal_comma, with_decimal_point

runner = CliRunner()
GERMAN = (
    "Rechnung;Betrag;Steuer;Datum;Menge;Konto\n"
    "1.000;1.234,56;234,57;01.03.2024;1.000;4.400\n"
    "R-2;99,90;18,98;02.03.2024;2.500;4.400\n"
    "R-3;(5,00);0,00;03.03.2024;7;8.000\n"
    "R-4;1 234 567,8;€ 12,5;04.03.2024;;8.000\n"
)
POINT = (
    "Rechnung,Betrag,Steuer,Datum,Menge,Konto\n"
    "1.000,1234.56,234.57,01.03.2024,1000,4400\n"
    "R-2,99.90,18.98,02.03.2024,2500,4400\n"
    "R-3,-5.00,0.00,03.03.2024,7,8000\n"
    "R-4,1234567.80,12.50,04.03.2024,,8000\n"
)


def _files(tmp_path: Path, point: str = POINT) -> tuple[Path, Path]:
    (tmp_path / "de.csv").write_text(GERMAN, encoding="utf-8")
    (tmp_path / "us.csv").write_text(point, encoding="utf-8")
    return tmp_path / "de.csv", tmp_path / "us.csv"


def _run(*args: str) -> tuple[int, str]:
    res = runner.invoke(recon_cli.app, ["files", *args])
    return res.exit_code, res.output


def test_a_declared_decimal_comma_file_agrees_with_its_decimal_point_twin(tmp_path: Path) -> None:
    de, us = _files(tmp_path)
    code, output = _run(str(de), str(us), "--key", "Rechnung", "--decimal-comma", "left")
    assert code == 0, output


def test_a_difference_is_found_with_its_exact_delta(tmp_path: Path) -> None:
    de, us = _files(tmp_path, POINT.replace("99.90", "99.80"))
    out = tmp_path / "out"
    code, output = _run(
        str(de), str(us), "--key", "Rechnung", "--decimal-comma", "left",
        "--compare", "Betrag:abs=0.001", "--out", str(out),
    )  # fmt: skip
    assert code == 1, output
    rows = list(csv.DictReader((out / "exceptions.csv").open(encoding="utf-8-sig")))
    assert [(r["key_Rechnung"], r["category"]) for r in rows] == [("R-2", "AMOUNT_MISMATCH")]
    assert (rows[0]["Betrag_a"], rows[0]["Betrag_b"]) == ("99.9", "99.8")
    assert json.loads(rows[0]["delta"]) == {"Betrag": "0.1"}


def test_keys_codes_and_dates_stay_as_written(tmp_path: Path) -> None:
    """The key 1.000 is not a thousand; an account column with a code 4.400 in every row
    is a number column of the declared file (it says so), a date column is not touched."""
    de, _ = _files(tmp_path)
    side = with_decimal_point(load_file(de), keep={"Rechnung"})
    table = side.table
    assert table is not None
    assert table.column("Rechnung").to_pylist() == ["1.000", "R-2", "R-3", "R-4"]
    assert table.column("Betrag").to_pylist() == ["1234.56", "99.90", "(5.00)", "1234567.8"]
    assert table.column("Steuer").to_pylist() == ["234.57", "18.98", "0.00", "€12.5"]
    assert table.column("Menge").to_pylist()[:2] == ["1000", "2500"]
    assert table.column("Datum").to_pylist()[0] == "01.03.2024"


def test_undeclared_the_columns_differ_as_text_and_the_output_says_how_to_declare(
    tmp_path: Path,
) -> None:
    de, us = _files(tmp_path)
    code, output = _run(str(de), str(us), "--key", "Rechnung")
    assert code == 1
    flat = " ".join(output.split())
    assert "'Betrag', 'Steuer' hold numbers with a decimal comma" in flat
    assert "add --decimal-comma left" in flat
    # only columns with a comma are evidence: 1.000 alone proves nothing
    assert looks_decimal_comma(load_file(de), ["Menge", "Konto"]) == []


def test_a_parquet_side_with_text_numbers_is_read_too(tmp_path: Path) -> None:
    table = pa.table(
        {"id": ["A", "B"], "amount": ["1.234,50", "7,25"], "qty": pa.array([1, 2], pa.int64())}
    )
    pq.write_table(table, tmp_path / "de.parquet")
    (tmp_path / "us.csv").write_text("id,amount,qty\nA,1234.5,1\nB,7.25,2\n")
    code, output = _run(
        str(tmp_path / "de.parquet"), str(tmp_path / "us.csv"), "--key", "id",
        "--decimal-comma", "left",
    )  # fmt: skip
    assert code == 0, output


def test_an_unknown_side_is_an_error(tmp_path: Path) -> None:
    de, us = _files(tmp_path)
    code, output = _run(str(de), str(us), "--key", "Rechnung", "--decimal-comma", "middle")
    assert code == 2
    assert "--decimal-comma 'middle': one of left, right, both" in output


def test_a_parquet_side_with_nothing_to_rewrite_stays_scanned_in_place(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["A"], "code": ["X-1"]}), tmp_path / "plain.parquet")
    side = load_file(tmp_path / "plain.parquet")
    assert with_decimal_point(side, keep={"id"}) is side


def test_a_stray_value_in_a_declared_number_column_is_reported_at_its_own_line(
    tmp_path: Path,
) -> None:
    """One `n/a` among decimal-comma numbers: the numbers are read, and the error names the
    `n/a` and its line, not the first good number."""
    de = tmp_path / "de.csv"
    de.write_text("Rechnung;Betrag\nR-1;1.000,00\nR-2;500,00\nR-3;n/a\n", encoding="utf-8")
    us = tmp_path / "us.csv"
    us.write_text("Rechnung,Betrag\nR-1,1000.00\nR-2,500.00\nR-3,0\n", encoding="utf-8")
    code, output = _run(
        str(de), str(us), "--key", "Rechnung", "--decimal-comma", "left",
        "--compare", "Betrag:amount",
    )  # fmt: skip
    assert code == 2
    assert "de.csv, line 4: field 'Betrag': 'n/a'" in output
    side = with_decimal_point(load_file(de), {"Rechnung"})
    assert side.table is not None
    assert side.table.column("Betrag").to_pylist() == ["1000.00", "500.00", "n/a"]


def test_a_column_mostly_of_other_values_stays_as_written(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id;note\n1;12,5\n2;see memo\n3;n/a\n", encoding="utf-8")
    side = with_decimal_point(load_file(path), {"id"})
    assert side.table is not None
    assert side.table.column("note").to_pylist() == ["12,5", "see memo", "n/a"]


def test_an_undeclared_decimal_comma_under_compare_amount_names_the_flag(tmp_path: Path) -> None:
    de, us = _files(tmp_path)
    code, output = _run(str(de), str(us), "--key", "Rechnung", "--compare", "Betrag:amount")
    assert code == 2
    assert "de.csv, line 2: field 'Betrag': '1.234,56'" in output
    assert "if the file writes numbers with a decimal comma, add --decimal-comma left" in output


def test_half_a_declared_column_is_enough_and_the_hint_never_repeats_a_given_flag(
    tmp_path: Path,
) -> None:
    de = tmp_path / "de.csv"
    de.write_text("id;Betrag\nA;1.234,56\nB;n/a\n", encoding="utf-8")
    us = tmp_path / "us.csv"
    us.write_text("id,Betrag\nA,1234.56\nB,5\n", encoding="utf-8")
    for flag in ("left", "both"):
        code, output = _run(
            str(de), str(us), "--key", "id", "--decimal-comma", flag, "--compare", "Betrag:amount"
        )
        assert code == 2
        assert "de.csv, line 3: field 'Betrag': 'n/a'" in output
        assert "add --decimal-comma" not in output


def test_decimal_comma_percentages_read_as_their_fractions(tmp_path: Path) -> None:
    (tmp_path / "de.csv").write_text(
        "Rechnung;Satz\nR-1;19 %\nR-2;7,5%\nR-3;-2,25 %\n", encoding="utf-8"
    )
    (tmp_path / "us.csv").write_text("Rechnung,Satz\nR-1,0.19\nR-2,7.5%\nR-3,-0.0225\n")
    code, output = _run(
        str(tmp_path / "de.csv"), str(tmp_path / "us.csv"), "--key", "Rechnung",
        "--decimal-comma", "left",
    )  # fmt: skip
    assert code == 0, output


def test_a_header_only_file_is_no_decimal_comma_column_and_no_crash(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,note\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("id,note\n1,x\n", encoding="utf-8")
    code, output = _run(str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--key", "id")
    assert code == 1, output  # the one record is on side B only: a finding, not a crash
    code, output = _run(
        str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--key", "id",
        "--decimal-comma", "left",
    )  # fmt: skip
    assert code == 1, output
