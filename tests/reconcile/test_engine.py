"""Matching engine behaviour: normalisation, tolerances, many-to-one, filters, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from billbridge.errors import ConfigError, ParseError
from reconcile.definitions import load_definitions, parse_definitions
from reconcile.engine import load_file, reconcile
from tests.reconcile.helpers import invoices, row


def _cats(result) -> dict[str, str]:
    return {"|".join(e.keys.values()): e.category for e in result.exceptions}


def test_tolerance_rule_abs_and_null_equals_null() -> None:
    a = [
        row("A", total="10.00"),
        row("B", total="10.00"),
        row("C", status=None),
        row("D", issued=None),
    ]
    b = [
        row("a", total="10.01"),
        row("B", total="10.02"),
        row("C", status=None),
        row("D", issued="2024-03-01"),
    ]
    result = reconcile(invoices(), a, b)
    assert _cats(result) == {"b": "AMOUNT_MISMATCH", "d": "DATE_MISMATCH"}
    assert result.counts["MATCHED_WITHIN_TOLERANCE"] == 1  # A: 0.01 within abs 0.01
    stats = {s["column"]: s for s in result.summary["mismatch_stats"]["stats"]}
    assert stats["total"]["unequal_cnt"] == 1 and stats["total"]["max_diff"] == "0.02"
    assert stats["issued"]["null_diff"] == 1
    assert stats["total"]["tolerated_diff_total"] == "0.01"
    assert result.summary["row_summary"]["match_rate"] == 0.5
    exc = next(e for e in result.exceptions if e.category == "AMOUNT_MISMATCH")
    assert exc.details["delta"] == {"total": "-0.02"} and exc.details["diff_columns"] == ["total"]


def test_percent_and_minor_unit_tolerances_per_currency() -> None:
    d = parse_definitions("""
name: t
a: {label: x}
b: {label: y}
keys: [{name: id}]
compare:
  - {name: amt, kind: amount, minor_units: 1}
  - {name: qty, kind: number, pct: 0.5}
currency_field: ccy
context: [{name: ccy}]
""")[0]
    a = [
        {"id": "1", "amt": "100", "qty": "1000", "ccy": "JPY"},
        {"id": "2", "amt": "1.00", "qty": "1000", "ccy": "USD"},
        {"id": "3", "amt": "1.000", "qty": "1000", "ccy": "BHD"},
        {"id": "4", "amt": "1.00", "qty": "1000", "ccy": "USD"},
    ]
    b = [
        {"id": "1", "amt": "101", "qty": "1005", "ccy": "JPY"},  # 1 yen, 0.5 %: ok
        {"id": "2", "amt": "1.02", "qty": "1000", "ccy": "USD"},  # 2 cents: break
        {"id": "3", "amt": "1.002", "qty": "1000", "ccy": "BHD"},  # 2 fils: break
        {"id": "4", "amt": "1.00", "qty": "1006", "ccy": "USD"},
    ]  # 0.6 % of 1006: break
    result = reconcile(d, a, b)
    assert _cats(result) == {"2": "AMOUNT_MISMATCH", "3": "AMOUNT_MISMATCH", "4": "FIELD_MISMATCH"}


def test_key_normalisation() -> None:
    d = parse_definitions("""
name: t
a: {label: x}
b: {label: y}
keys:
  - {name: inv, normalize: [trim, digits_only, strip_leading_zeros]}
  - {name: cust, normalize: [trim, casefold]}
  - {name: ref, regex: "REF-([0-9]+)"}
""")[0]
    a = [
        {"inv": "INV-000123", "cust": " Acme ", "ref": "paid REF-9 ok"},
        {"inv": "0000", "cust": "x", "ref": "REF-1"},
    ]
    b = [{"inv": "123", "cust": "ACME", "ref": "REF-9"}, {"inv": "0", "cust": "X", "ref": "REF-1"}]
    result = reconcile(d, a, b)
    assert result.exceptions == [] and result.counts["MATCHED"] == 2


def test_many_to_one_aggregates_then_compares() -> None:
    d = parse_definitions("""
name: lines_vs_total
a: {label: lines, aggregate: true}
b: {label: header}
keys: [{name: inv}]
compare: [{name: amount, kind: amount}]
amount_field: amount
""")[0]
    a = [
        {"inv": "1", "amount": "10.00"},
        {"inv": "1", "amount": "5.50"},
        {"inv": "2", "amount": "10.00"},
        {"inv": "2", "amount": "1.00"},
        {"inv": "3", "amount": "7.00"},
    ]
    b = [
        {"inv": "1", "amount": "15.50"},
        {"inv": "2", "amount": "12.00"},
        {"inv": "3", "amount": "7.00"},
        {"inv": "3", "amount": "7.00"},
    ]
    result = reconcile(d, a, b)
    assert _cats(result) == {"2": "MANY_TO_ONE", "3": "DUPLICATE"}
    m2o = next(e for e in result.exceptions if e.category == "MANY_TO_ONE")
    assert m2o.details["rows"] == {"a": 2, "b": 1} and str(m2o.amount) == "1"
    # which rows make the group up, as a duplicate's lines show its rows
    assert m2o.details["lines"] == {"a": [3, 4], "b": 2}
    dup = next(e for e in result.exceptions if e.category == "DUPLICATE")
    assert dup.details["base_category"] == "DUPLICATE_IN_B" and dup.details["rows"] == {
        "a": 1,
        "b": 2,
    }
    assert result.summary["row_summary"]["many_to_one_matched"] == 1


def test_filters_and_category_names() -> None:
    d = parse_definitions("""
name: t
a:
  label: x
  filters: [{field: status, op: ne, value: draft}]
b:
  label: y
  filters: [{field: status, op: in, value: [posted, paid]}]
keys: [{name: number}]
categories: {MISSING_IN_B: NOT_SYNCED, DUPLICATE: DUPLICATE_SYNC}
""")[0]
    a = [
        {"number": "1", "status": "posted"},
        {"number": "2", "status": "draft"},
        {"number": "3", "status": "posted"},
    ]
    b = [
        {"number": "1", "status": "posted"},
        {"number": "1", "status": "paid"},
        {"number": "9", "status": "void"},
    ]
    assert _cats(reconcile(d, a, b)) == {"1": "DUPLICATE_SYNC", "3": "NOT_SYNCED"}


def test_bad_value_names_file_line_and_field(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text(
        "number,total,issued,status,currency\nA,1.00,2024-01-01,posted,USD\n"
        "B,12,5O,2024-01-01,posted,USD\n".replace("12,5O", "12.5O")
    )
    with pytest.raises(ParseError, match=r"a\.csv, line 3: field 'total': '12\.5O'") as err:
        reconcile(invoices(), load_file(p), [])
    assert err.value.line == 3


def test_missing_column_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"side B .* lacks columns \['total'\]"):
        reconcile(
            invoices(),
            [row("A")],
            [{"number": "A", "issued": None, "status": "x", "currency": "USD"}],
        )


def test_arrow_and_relation_sides() -> None:
    import duckdb

    table = pa.table(
        {
            "number": ["A"],
            "total": ["1.00"],
            "issued": ["2024-01-01"],
            "status": ["posted"],
            "currency": ["USD"],
        }
    )
    rel = duckdb.sql(
        "SELECT 'A' AS number, 1.5::DECIMAL(10,2) AS total, DATE '2024-01-01' AS "
        "issued, 'posted' AS status, 'USD' AS currency"
    )
    result = reconcile(invoices(), table, rel)
    assert _cats(result) == {"a": "AMOUNT_MISMATCH"}
    assert result.exceptions[0].details["lines"] == {"a": 1, "b": 1}


DEF_WITH_ERROR = """\
reconciliations:
  - name: good
    a: {label: x}
    b: {label: y}
    keys: [{name: id}]
  - name: bad
    a: {label: x}
    b: {label: y}
    keys: [{name: id}]
    compare:
      - name: amount
        kind: money
"""


def test_definition_errors_name_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "recon.yaml"
    path.write_text(DEF_WITH_ERROR)
    with pytest.raises(ConfigError) as err:
        load_definitions(path)
    assert f"{path}:12: compare.0.kind" in str(err.value)
    path.write_text(DEF_WITH_ERROR.replace("money", "amount\n        days: 2"))
    with pytest.raises(ConfigError, match=r"recon\.yaml:11: compare\.0: .*days only applies"):
        load_definitions(path)
    path.write_text("name: x\na: {label: x}\nb: {label: y}\nkeys: []\n")
    with pytest.raises(ConfigError, match=r"recon\.yaml:4: keys"):
        load_definitions(path)
    path.write_text("name: x\na: {label: x, path: a.csv}\nb: {label: y}\nkeys: [{name: id}]\n")
    (loaded,) = load_definitions(path)
    assert loaded.a.path == str(tmp_path / "a.csv")


def test_parquet_sides_are_scanned_in_place_with_lines_and_duplicates(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "number": ["A", "B", "B", "C"],
                "total": ["1.00", "2.00", "2.00", "3"],
                "issued": ["2024-03-01"] * 4,
                "status": ["posted"] * 4,
                "currency": ["USD"] * 4,
            }
        ),
        tmp_path / "a.parquet",
    )
    side = load_file(tmp_path / "a.parquet")
    assert side.table is None and side.num_rows == 4
    result = reconcile(invoices(), side, [row("A"), row("C", total="3.00")])
    assert _cats(result) == {"a": "AMOUNT_MISMATCH", "b": "DUPLICATE"}
    dup = next(e for e in result.exceptions if e.category == "DUPLICATE")
    assert dup.details["lines"] == {"a": [2, 3], "b": []} and dup.details["rows"] == {
        "a": 2,
        "b": 0,
    }
    assert result.summary["row_summary"]["df1_rows"] == 4
    assert result.summary["row_summary"]["common_rows"] == 2


def test_canonical_records_as_a_side() -> None:
    from datetime import date

    from canonical import Invoice
    from canonical.money import Money

    def inv(total: str) -> Invoice:
        return Invoice(
            source_system="zuora",
            source_id="1",
            number="INV-1",
            customer_id="C",
            issue_date=date(2024, 3, 1),
            currency="EUR",
            subtotal=Money(total, "EUR"),
            tax_total=Money("0", "EUR"),
            total=Money(total, "EUR"),
        )

    d = parse_definitions("""
name: t
a: {label: x}
b: {label: y}
keys: [{name: number}]
compare: [{name: total, kind: amount}, {name: issue_date, kind: date}]
amount_field: total
currency_field: total_currency
context: [{name: total_currency}]
""")[0]
    result = reconcile(d, [inv("10.00")], [inv("12.50")])
    (exc,) = result.exceptions
    assert exc.category == "AMOUNT_MISMATCH" and str(exc.amount) == "2.50" and exc.currency == "EUR"


def test_spreadsheet_number_formats_are_read_exactly(tmp_path: Path) -> None:
    (definition,) = parse_definitions(
        "name: fmt\na: {label: left}\nb: {label: right}\nkeys: [{name: id}]\n"
        "compare: [{name: amount, kind: amount}]\n"
    )
    left = tmp_path / "left.csv"
    left.write_text(
        'id,amount\n1,"1,234.56"\n2,$99.00\n3,(12.50)\n4,12.50-\n5,"1,234,567.891"\n'
        '6,"($1,234.56)"\n7,"-$1,234.56"\n8,(5.00 €)\n'  # NetSuite's, a US bank's negatives
    )
    right = tmp_path / "right.csv"
    right.write_text(
        "id,amount\n1,1234.56\n2,99\n3,-12.5\n4,-12.50\n5,1234567.891\n"
        "6,-1234.56\n7,-1234.56\n8,-5\n"
    )
    result = reconcile(definition, load_file(left), load_file(right))
    assert result.exceptions == []
    assert result.counts["MATCHED"] == 8


def test_percent_text_reads_as_the_fraction_a_percent_cell_holds(tmp_path: Path) -> None:
    from openpyxl import Workbook

    (definition,) = parse_definitions(
        "name: pct\na: {label: left}\nb: {label: right}\nkeys: [{name: id}]\n"
        "compare: [{name: rate, kind: number}]\n"
    )
    left = tmp_path / "left.csv"  # NetSuite's tax rates as text
    left.write_text(
        'id,rate\n1,8.25%\n2,15 %\n3,-0.5%\n4,(2%)\n5,100%\n6,7%\n7,"1,250%"\n8,"1,250.5%"\n'
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "rate"])
    cells = ((1, 0.0825), (2, 0.15), (3, -0.005), (4, -0.02), (5, 1), (6, 0.075), (7, 12.5))
    for key, value in (*cells, (8, 12.505)):  # Excel writes the 12.5 percent cell "1,250%"
        sheet.append([key, value])
        sheet.cell(row=sheet.max_row, column=2).number_format = "0.00%"
    right = tmp_path / "right.xlsx"
    book.save(right)
    result = reconcile(definition, load_file(left), load_file(right))
    assert [(e.keys["id"], e.category) for e in result.exceptions] == [("6", "FIELD_MISMATCH")]
    assert result.counts["MATCHED"] == 7


def test_decimal_comma_is_refused_not_guessed(tmp_path: Path) -> None:
    (definition,) = parse_definitions(
        "name: fmt\na: {label: left}\nb: {label: right}\nkeys: [{name: id}]\n"
        "compare: [{name: amount, kind: amount}]\n"
    )
    left = tmp_path / "left.csv"
    left.write_text('id,amount\n1,"1,5"\n')
    right = tmp_path / "right.csv"
    right.write_text("id,amount\n1,1.5\n")
    with pytest.raises(ParseError) as err:
        reconcile(definition, load_file(left), load_file(right))
    assert str(err.value) == f"{left}, line 2: field 'amount': '1,5' (expected a decimal number)"


@pytest.mark.parametrize(
    ("a_rows", "b_rows", "base", "rows"),
    [
        # identical copies that equal the other side leave no differing join row: the join's
        # own pair count must still expose them
        (["A", "A", "B"], ["A", "B"], "DUPLICATE_IN_A", {"a": 2, "b": 1}),
        (["A", "B"], ["A", "A", "A", "B"], "DUPLICATE_IN_B", {"a": 1, "b": 3}),
        (["A", "A", "B"], ["A", "A", "B"], "DUPLICATE", {"a": 2, "b": 2}),
        # a key repeated on one side only
        (["A", "A", "B"], ["B"], "DUPLICATE_IN_A", {"a": 2, "b": 0}),
    ],
)
def test_exact_duplicate_rows_are_found_even_when_equal_to_the_other_side(
    a_rows: list[str], b_rows: list[str], base: str, rows: dict[str, int]
) -> None:
    result = reconcile(invoices(), [row(n) for n in a_rows], [row(n) for n in b_rows])
    assert _cats(result) == {"a": "DUPLICATE"}
    (dup,) = result.exceptions
    assert dup.details["base_category"] == base and dup.details["rows"] == rows
    assert result.counts["MATCHED"] == 1  # B


def test_unique_keys_take_the_single_pass_and_report_whole_day_deltas() -> None:
    """A date 10 days off reports a delta of 10 (not "1": whole numbers keep their zeros)."""
    a = [row("A", issued="2024-03-11"), row("B"), row("C", total="120.00")]
    b = [row("A"), row("B"), row("C", total="100.00"), row("D")]
    result = reconcile(invoices(), a, b)
    assert _cats(result) == {"a": "DATE_MISMATCH", "c": "AMOUNT_MISMATCH", "d": "MISSING_IN_A"}
    by = {e.keys["number"]: e for e in result.exceptions}
    assert by["a"].details["delta"] == {"issued": "10"}
    assert by["c"].details["delta"] == {"total": "20"} and str(by["c"].amount) == "20.00"
    assert by["d"].details["a"] == {} and by["d"].details["b"]["total"] == "100"
    assert result.summary["row_summary"]["df1_rows"] == 3
    assert result.summary["row_summary"]["df2_rows"] == 4


@pytest.mark.parametrize(
    "rules",
    [
        None,  # the defaults
        (
            {"level": "BIG", "min_amount": "500.5"},
            {"level": "NOW", "min_age_days": 0},
            {"level": "NEVER", "min_amount": "1"},
        ),
        ({"level": "AGED", "min_age_days": 2}, {"level": "SOME", "min_amount": "0.01"}),
    ],
)
def test_severity_in_sql_is_the_python_rule_at_age_zero(rules: tuple | None) -> None:
    import duckdb

    from reconcile.definitions import DEFAULT_SEVERITY, SeverityRule
    from reconcile.engine.severity import severity, severity_sql

    picked = DEFAULT_SEVERITY if rules is None else tuple(SeverityRule(**r) for r in rules)
    amounts = [None, "0", "0.01", "-0.01", "1", "500.5", "500.49", "999.99", "1000", "-10000",
               "99999.999", "100000", "2500000.5"]  # fmt: skip
    con = duckdb.connect()
    for text in amounts:
        value = None if text is None else Decimal(text)
        expr = severity_sql("CAST(? AS DECIMAL(38,10))", picked)
        ((got,),) = con.execute(f"SELECT {expr}", [text] * expr.count("?")).fetchall()
        assert got == severity(value, 0, picked), text


def test_integer_keys_join_as_integers_with_the_same_ids_and_text(tmp_path: Path) -> None:
    """Keys both sides hold as integers (no nulls) skip the text cast; ids, key text and
    duplicates are what the text path gives."""
    import pyarrow.parquet as pq

    from reconcile.engine.prepare import integer_keys
    from reconcile.engine.sides import as_side

    d = parse_definitions("""
name: lines
a: {label: old}
b: {label: new}
keys: [{name: invoice}, {name: line}]
compare: [{name: net, kind: amount}]
""")[0]

    def table(rows: list[tuple[str, int | None, str]]) -> pa.Table:
        inv, line, net = zip(*rows, strict=True)
        return pa.table({"invoice": list(inv), "line": pa.array(line, pa.int64()),
                         "net": list(net)})  # fmt: skip

    a = table([("I1", 1, "10.00"), ("I1", 2, "5.00"), ("I2", 10, "7.00"), ("I3", 1, "1.00"),
               ("I3", 1, "1.00")])  # fmt: skip
    b = table([("I1", 1, "10.00"), ("I1", 2, "6.00"), ("I4", 100, "2.00")])
    pq.write_table(a, tmp_path / "a.parquet")
    typed_side = load_file(tmp_path / "a.parquet")
    assert integer_keys(d, {"a": typed_side, "b": as_side(b)}) == frozenset({1})
    typed = reconcile(d, typed_side, b)
    as_text = reconcile(
        d,
        a.set_column(1, "line", pa.array([str(x) for x in a.column("line").to_pylist()])),
        b.set_column(1, "line", pa.array([str(x) for x in b.column("line").to_pylist()])),
    )
    assert [(e.exception_id, e.category, e.keys) for e in typed.exceptions] == [
        (e.exception_id, e.category, e.keys) for e in as_text.exceptions
    ]
    assert {e.keys["line"] for e in typed.exceptions} == {"2", "10", "1", "100"}
    assert _cats(typed) == {"I1|2": "AMOUNT_MISMATCH", "I2|10": "MISSING_IN_B",
                            "I3|1": "DUPLICATE", "I4|100": "MISSING_IN_A"}  # fmt: skip
    # a null key on a side keeps the text path (a null key is '' there, and pairs)
    with_null = table([("I1", None, "10.00")])
    assert integer_keys(d, {"a": as_side(with_null), "b": as_side(b)}) == frozenset()


def test_exception_amounts_carry_the_currency_minor_units() -> None:
    d = parse_definitions("""
name: t
a: {label: x}
b: {label: y}
keys: [{name: id}]
compare: [{name: amt, kind: amount}]
amount_field: amt
currency_field: ccy
context: [{name: ccy}]
""")[0]
    a = [
        {"id": "1", "amt": "100", "ccy": "JPY"},
        {"id": "2", "amt": "3", "ccy": "BHD"},
        {"id": "3", "amt": "-12.5", "ccy": "USD"},
        {"id": "4", "amt": "1.23456", "ccy": "EUR"},
        {"id": "5", "amt": "2.5", "ccy": "CLF"},  # four digits
        {"id": "6", "amt": "7.5", "ccy": "ZZZ"},  # no such currency: no digits added
        {"id": "7", "amt": "4.5", "ccy": "usd"},  # codes are compared upper case
        {"id": "8", "amt": "4.5", "ccy": None},
    ]
    b = [{"id": "1", "amt": "90", "ccy": "JPY"}]
    got = {e.keys["id"]: str(e.amount) for e in reconcile(d, a, b).exceptions}
    assert got == {"1": "10", "2": "3.000", "3": "12.50", "4": "1.23456", "5": "2.5000",
                   "6": "7.5", "7": "4.50", "8": "4.5"}  # fmt: skip


def test_exception_candidates_are_immutable_and_survive_pickle_and_copy() -> None:
    import copy
    import pickle

    result = reconcile(invoices(), [row("A", total="90.00")], [row("A")])
    (exc,) = result.exceptions
    with pytest.raises(AttributeError):
        exc.severity = "CRITICAL"  # type: ignore[misc]
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc), copy.deepcopy(exc)):
        assert clone == exc and clone.details["delta"] == {"total": "-10"}


def test_a_row_with_too_many_fields_is_named_not_dropped(tmp_path: Path) -> None:
    """DuckDB's sniffer read this file as an empty table with another header; the side file
    must come whole or fail naming the line."""
    p = tmp_path / "a.csv"
    p.write_text("inv,amount\nA1,1.5\nA2,1,5\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"a\.csv, line 3: 3 fields, header has 2"):
        load_file(p)


def test_a_quoted_line_break_keeps_every_row_and_its_file_line(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('inv,memo,amount\nA1,"two\nlines",1.5\nA3,x,5\n', encoding="utf-8")
    side = load_file(p)
    assert side.table is not None
    assert side.table.column("inv").to_pylist() == ["A1", "A3"]
    assert side.table.column("memo").to_pylist()[0] == "two\nlines"
    assert side.table.column("_line").to_pylist() == [2, 4]


def test_details_json_carries_every_part_and_escapes_values() -> None:
    (d,) = parse_definitions(
        """
name: details_parts
version: "7"
a: {label: old}
b: {label: new}
keys: [{name: inv}]
compare:
  - {name: net, kind: amount, abs: "0.01"}
  - {name: due, kind: date}
  - {name: size, kind: text}
context: [{name: memo}]
"""
    )
    a = [
        {"inv": "1", "net": "10.50", "due": "2024-01-10", "size": 'x "q" \\ y', "memo": "m1"},
        {"inv": "2", "net": "3", "due": "2024-01-01", "size": "y", "memo": "m2"},
    ]
    b = [
        {"inv": "1", "net": "10.00", "due": "2024-01-12", "size": 'x "q" \\ y', "memo": None},
        {"inv": "3", "net": "4", "due": None, "size": "z", "memo": 'q"uote\nnext'},
    ]
    result = reconcile(d, a, b)
    by_key = {e.keys["inv"]: e for e in result.exceptions}
    fields = ["net", "due", "size"]
    assert by_key["1"].details == {
        "base_category": "AMOUNT_MISMATCH",
        "is_exclusive_a": False,
        "is_exclusive_b": False,
        "diff_columns": ["net", "due"],
        "a": dict(zip(fields, ["10.5", "2024-01-10", 'x "q" \\ y'], strict=True)),
        "b": dict(zip(fields, ["10", "2024-01-12", 'x "q" \\ y'], strict=True)),
        "delta": {"net": "0.5", "due": "-2"},
        "rows": {"a": 1, "b": 1},
        "lines": {"a": 1, "b": 1},
        "context": {"memo": "m1"},
        "match_rule": "keys:inv",
        "rule_version": "7",
    }
    missing_in_a, missing_in_b = by_key["3"].details, by_key["2"].details
    assert missing_in_a["a"] == {} and missing_in_a["diff_columns"] == []
    assert missing_in_a["lines"] == {"a": None, "b": 2}
    assert missing_in_a["context"] == {"memo": 'q"uote\nnext'}
    assert missing_in_a["delta"] == {} and missing_in_a["is_exclusive_b"]
    assert missing_in_b["b"] == {} and missing_in_b["is_exclusive_a"]
    assert missing_in_b["a"] == {"net": "3", "due": "2024-01-01", "size": "y"}


def test_arrow_results_come_through_execute_without_a_warning() -> None:
    """The engine takes Arrow results through ``execute`` (the relation API binds long
    statements twice); the copy warning this DuckDB build gives there must not reach users,
    and a batch size asked for still bounds the batches."""
    import warnings

    from reconcile.engine.prepare import arrow_table, database

    con = database().cursor()
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            table = arrow_table(con, "SELECT range AS n FROM range(20000)", batch_size=4096)
            plain = arrow_table(con, "SELECT 'x' AS s")
    finally:
        con.close()
    assert [str(w.message) for w in seen] == []
    assert sorted(table.column("n").to_pylist()) == list(range(20000))
    assert max(b.num_rows for b in table.to_batches()) <= 4096
    assert plain.to_pylist() == [{"s": "x"}]


def test_rows_are_listed_in_category_and_id_order_when_read() -> None:
    """The engine fetches the exception rows unordered (a run that is only recorded never
    sorts them); whoever reads them gets (category, id) order."""
    from operator import itemgetter

    a = [row(f"INV-{i}", total="90.00" if i % 3 else "100.00") for i in range(40)]
    b = [row(f"INV-{i}", status="void" if i % 4 == 0 else "posted") for i in range(5, 45)]
    result = reconcile(invoices(), a, b)
    rows = result.rows
    held = list(rows.unordered())
    ordered = sorted(held, key=itemgetter(1, 0))
    assert len({r[1] for r in held}) == 4  # amount, status, missing on each side
    assert rows.rows == ordered and list(rows) == ordered
    assert [e.exception_id for e in result.exceptions] == [r[0] for r in ordered]
    assert sorted(rows.categories().elements()) == sorted(r[1] for r in held)


def test_keys_parquet_proves_free_of_nulls_skip_the_null_step(tmp_path: Path) -> None:
    """A key column whose Parquet statistics show no null is joined without coalesce; one
    with nulls keeps it, and its null keys still land as '' like empty ones."""
    import duckdb
    import pyarrow.parquet as pq

    from reconcile.engine.prepare import normalised_view, register
    from reconcile.engine.sides import as_side

    d = parse_definitions("""
name: t
a: {label: x}
b: {label: y}
keys: [{name: invoice}]
compare: [{name: total, kind: amount}]
""")[0]
    full = pa.table({"invoice": ["A", " B ", "C"], "total": ["1", "2", "3"]})
    holes = pa.table({"invoice": ["A", None, "D"], "total": ["1", "2", "3"]})
    pq.write_table(full, tmp_path / "full.parquet")
    pq.write_table(holes, tmp_path / "holes.parquet")
    sql = {}
    for name in ("full", "holes"):
        con = duckdb.connect()
        side = load_file(tmp_path / f"{name}.parquet")
        register(con, "a", side)
        normalised_view(con, d, "a", frozenset(), side)
        (text,) = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'n_a'").fetchone()
        sql[name] = text.lower()
        con.close()
    assert "coalesce" not in sql["full"] and "coalesce" in sql["holes"]
    other = as_side(pa.table({"invoice": ["A", "B", "", "C"], "total": ["1", "2", "2", "3"]}))
    # the null key is blank like the other side's empty key, and a blank key pairs with
    # nothing: each is reported on its own side
    found = reconcile(d, load_file(tmp_path / "holes.parquet"), other).rows.candidates()
    assert sorted((c.keys["invoice"], c.category) for c in found) == [
        ("", "MISSING_IN_A"), ("", "MISSING_IN_B"), ("B", "MISSING_IN_A"),
        ("C", "MISSING_IN_A"), ("D", "MISSING_IN_B"),
    ]  # fmt: skip
    # trimmed keys without the null step: " B " pairs with "B"
    assert _cats(reconcile(d, load_file(tmp_path / "full.parquet"), other)) == {"": "MISSING_IN_A"}


def test_parquet_null_counts_are_read_once_with_the_file(tmp_path: Path) -> None:
    """load_file keeps each plain column's null count from the statistics of every row
    group (a nested column's leaves are left out; no statistics: unknown)."""
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": pa.array([f"I{i}" for i in range(10)]),
            "amt": pa.array([None if i % 4 == 0 else str(i) for i in range(10)]),
            "nested": pa.array([{"x": i} for i in range(10)]),
        }
    )
    pq.write_table(table, tmp_path / "s.parquet", row_group_size=3)
    pq.write_table(table, tmp_path / "bare.parquet", write_statistics=False)
    side = load_file(tmp_path / "s.parquet")
    assert side.parquet_nulls == {"id": 0, "amt": 3}
    assert load_file(tmp_path / "bare.parquet").parquet_nulls == {"id": None, "amt": None}


def test_a_record_whose_currency_changed_is_at_risk_for_its_a_amount() -> None:
    """13033.51 EUR against 12452.00 CHF is no gap of 581.51: amounts in two currencies never
    subtract, so the exception carries the A amount in A's currency, and its severity."""
    (definition,) = parse_definitions(
        "name: fx\na: {label: legacy}\nb: {label: new}\nkeys: [{name: id}]\n"
        "compare: [{name: amount, kind: amount}, {name: currency, kind: text}]\n"
        "amount_field: amount\ncurrency_field: currency\n"
    )
    a = pa.table({"id": ["1", "2"], "amount": ["13033.51", "100.00"], "currency": ["EUR", "EUR"]})
    b = pa.table({"id": ["1", "2"], "amount": ["12452.00", "90.00"], "currency": ["chf", "eur"]})
    found = {c.keys["id"]: c for c in reconcile(definition, a, b).exceptions}
    assert (str(found["1"].amount), found["1"].currency) == ("13033.51", "EUR")
    assert found["1"].severity == "HIGH"  # 13k: the currency change puts it all at risk
    # the same currency in another case is no change: the gap stays the delta
    assert (str(found["2"].amount), found["2"].currency) == ("10.00", "EUR")


def test_casefold_matches_names_as_python_casefolds_them() -> None:
    """`Straße AG` and `STRASSE AG` are one name once case is ignored (str.casefold), in a
    casefolded key and in a casefolded compared field alike."""
    (definition,) = parse_definitions(
        "name: cf\na: {label: legacy}\nb: {label: new}\n"
        "keys: [{name: name, normalize: [trim, casefold]}]\n"
        "compare: [{name: city, kind: text, casefold: true}]\n"
    )
    a = pa.table({"name": ["Straße AG", "Bäckerei Weiß"], "city": ["Gießen", "Köln"]})
    b = pa.table({"name": ["STRASSE AG", "BÄCKEREI WEISS"], "city": ["GIESSEN", "KÖLN"]})
    result = reconcile(definition, a, b)
    assert result.exceptions == []
    assert result.counts["MATCHED"] == 2


def test_a_timestamp_with_a_time_zone_is_compared_by_its_day_as_written(tmp_path: Path) -> None:
    """23:30 in Los Angeles on the 15th is the 16th in UTC: a Parquet or Arrow column
    with its zone reads as the day written there, as the CSV text of the same export does."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    import pyarrow.parquet as pq

    (definition,) = parse_definitions(
        "name: tz\na: {label: a}\nb: {label: b}\nkeys: [{name: id}]\n"
        "compare: [{name: posted, kind: date}]\n"
    )
    la = datetime(2024, 1, 15, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    kolkata = datetime(2024, 1, 15, 0, 15, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    typed = pa.table(
        {
            "id": ["1", "2"],
            "posted": pa.array([la, kolkata], pa.timestamp("us", tz="America/Los_Angeles")),
        }
    )
    offset = pa.table({"id": ["2"], "posted": pa.array([kolkata], pa.timestamp("us", tz="+05:30"))})
    pq.write_table(typed, tmp_path / "typed.parquet")
    text = tmp_path / "text.csv"
    text.write_text("id,posted\n1,2024-01-15T23:30:00-08:00\n2,2024-01-14\n", encoding="utf-8")
    # kolkata 00:15 on the 15th is 10:45 on the 14th in Los Angeles: the 14th there
    result = reconcile(definition, load_file(tmp_path / "typed.parquet"), load_file(text))
    assert result.exceptions == [], [c.details for c in result.exceptions]
    assert reconcile(definition, typed, load_file(text)).exceptions == []
    same_day = tmp_path / "k.csv"
    same_day.write_text("id,posted\n2,2024-01-15\n", encoding="utf-8")
    assert reconcile(definition, offset, load_file(same_day)).exceptions == []


def test_a_wrong_amount_or_currency_field_is_reported_at_its_own_line() -> None:
    text = (
        "name: t\na: {label: a}\nb: {label: b}\nkeys: [{name: id}]\n"
        "compare:\n  - {name: total, kind: amount, minor_units: 1}\n"
        "amount_field: totl\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_definitions(text, "d.yaml")
    message = str(caught.value)
    assert "d.yaml:7: amount_field: 'totl' is not a compare field: ['total']" in message
    assert "d.yaml:6: compare.0.minor_units: minor_units tolerances need currency_field" in message
    with pytest.raises(ConfigError, match=r"d.yaml:7: currency_field: 'ccy' is not a defined"):
        parse_definitions(text.replace("amount_field: totl", "currency_field: ccy"), "d.yaml")


def test_filters_read_unquoted_booleans_and_numbers_as_the_analyst_meant_them() -> None:
    (d,) = parse_definitions("""
name: filters
a:
  label: sf
  filters: [{field: IsDeleted, op: eq, value: false}, {field: Rate, op: ne, value: 1.50}]
b:
  label: ns
  filters: [{field: Voided, op: ne, value: Yes}, {field: Qty, op: in, value: [1, 2]}]
keys: [{name: id}]
compare: [{name: amt, kind: amount}]
""")
    # Excel writes FALSE, Salesforce false; a rate of 1.5 written 1.50 is the one excluded
    a = pa.table(
        {
            "id": ["1", "2", "3", "4", "5"],
            "amt": ["1"] * 5,
            "IsDeleted": ["FALSE", "false", "TRUE", "0", "FALSE"],
            "Rate": ["2", "2", "2", "2", "1.50"],
        }
    )
    # NetSuite writes Yes/No; quantities 1.0 and 2 are in [1, 2]
    b = pa.table(
        {
            "id": ["1", "2", "4", "6", "7"],
            "amt": ["1"] * 5,
            "Voided": ["No", "no", "", "Yes", "NO"],
            "Qty": ["1.0", "2", "1", "1", "3"],
        }
    )
    result = reconcile(d, a, b)
    assert result.counts["MATCHED"] == 3  # ids 1, 2, 4
    assert [e.category for e in result.exceptions] == []


def test_a_group_that_adds_up_but_differs_elsewhere_is_that_mismatch_not_many_to_one() -> None:
    (d,) = parse_definitions("""
name: bank_lines
a: {label: bank, aggregate: true}
b: {label: payments}
keys: [{name: ref}]
compare:
  - {name: amount, kind: amount}
  - {name: paid_on, kind: date, days: 2, aggregate: min}
amount_field: amount
""")
    bank = [
        {"ref": "P1", "amount": "60.00", "paid_on": "2024-01-10"},
        {"ref": "P1", "amount": "40.00", "paid_on": "2024-01-10"},
        {"ref": "P2", "amount": "60.00", "paid_on": "2024-01-10"},
        {"ref": "P2", "amount": "30.00", "paid_on": "2024-01-10"},
    ]
    payments = [
        {"ref": "P1", "amount": "100.00", "paid_on": "2024-01-20"},  # adds up, 10 days late
        {"ref": "P2", "amount": "100.00", "paid_on": "2024-01-10"},  # does not add up
    ]
    result = reconcile(d, bank, payments)
    assert _cats(result) == {"P1": "DATE_MISMATCH", "P2": "MANY_TO_ONE"}


def test_a_wrong_key_option_is_one_located_error_without_follow_on_noise() -> None:
    text = (
        "name: e4\na: {label: bank}\nb: {label: pay}\nkeys:\n"
        "  - {name: ref, a: Reference, d: Foo}\ncompare: [{name: amount, kind: amount}]\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_definitions(text, "d.yaml")
    assert str(err.value) == "d.yaml:5: keys.0.d: Extra inputs are not permitted"


def test_severity_sizes_other_currencies_in_the_reporting_currency() -> None:
    (d,) = parse_definitions("""
name: multi
a: {label: zuora}
b: {label: netsuite}
keys: [{name: number}]
compare: [{name: total, kind: amount}, {name: currency, kind: text}]
amount_field: total
currency_field: currency
severity:
  - {level: CRITICAL, min_amount: 100000}
  - {level: HIGH, min_amount: 10000}
  - {level: MEDIUM, min_amount: 1000}
  - {level: LOW}
  - {level: HIGH, min_amount: 5000, currency: chf}   # written for CHF: wins over a rate
severity_rates: {JPY: "0.0067", EUR: "1.08", CHF: "1.10"}
""")
    a = [
        {"number": "J", "total": "150000", "currency": "JPY"},  # about 1,005 USD
        {"number": "U", "total": "90000.00", "currency": "USD"},
        {"number": "E", "total": "9500.00", "currency": "EUR"},  # 10,260 USD
        {"number": "C", "total": "6000.00", "currency": "CHF"},
    ]
    result = reconcile(d, a, [])
    found = {e.keys["number"]: e.severity for e in result.exceptions}
    assert found == {"J": "MEDIUM", "U": "HIGH", "E": "HIGH", "C": "HIGH"}
    rules = {(r.currency, r.level): r.min_amount for r in d.severity}
    assert rules[("JPY", "CRITICAL")] == Decimal("14925373.1343")


def test_severity_rates_name_iso_currencies_and_positive_rates() -> None:
    base = "name: r\na: {label: x}\nb: {label: y}\nkeys: [{name: k}]\n"
    with pytest.raises(ConfigError, match=r"d\.yaml:5: severity_rates: .*'XYZ'"):
        parse_definitions(base + "severity_rates: {XYZ: 1}\n", "d.yaml")
    with pytest.raises(ConfigError, match="must be positive"):
        parse_definitions(base + "severity_rates: {EUR: 0}\n", "d.yaml")
