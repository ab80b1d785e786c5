"""Three-sided reconciliation: planted discrepancies across three sides, each found in its one
category and nothing else; tolerances per pair; errors naming file:line; the exception store,
the CLI and configured runs take three-sided results as they are."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from billbridge.errors import ConfigError, ParseError
from billbridge.state import Store
from reconcile import cli as recon_cli
from reconcile.definitions import ReconDefinition, load_definitions, parse_definitions
from reconcile.engine import ReconResult, load_file, load_side, reconcile
from reconcile.engine.three_way import reconcile_sides, reconcile_three_way
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports.build import report_from_store
from tests.reconcile.helpers import INVOICES_YAML, row

EXAMPLE = Path(__file__).resolve().parents[2] / "reconcile" / "builtin" / "examples"
THREE_YAML = INVOICES_YAML.replace("name: invoices", "name: invoices3").replace(
    "b: {label: erp}", "b: {label: erp}\nc: {label: gl}"
)


def three(yaml: str = THREE_YAML) -> ReconDefinition:
    return parse_definitions(yaml, "three.yaml")[0]


def _cats(result: ReconResult) -> dict[str, str]:
    return {"|".join(e.keys.values()): e.category for e in result.exceptions}


def _exc(result: ReconResult, key: str) -> Any:
    (found,) = [e for e in result.exceptions if "|".join(e.keys.values()) == key]
    return found


def test_planted_discrepancies_each_in_its_one_category() -> None:
    a = [
        row("M1"),  # on all three, equal
        row("M2"),  # within tolerance on every pair
        row("MB"),  # in A and C: missing in B
        row("MC"),  # in A and B: missing in C
        row("OA"),  # A alone
        row("AM", total="100.00"),  # C disagrees on the amount
        row("DT"),  # A is the odd one out on the date
        row("ST"),  # status differs on every pair: no odd side
        row("DU"),
        row("DU"),  # twice on A: never paired
    ]
    b = [
        row("m1"),
        row("M2", total="100.01"),
        row("MC"),
        row("OB"),
        row("MA"),
        row("AM", total="100.00"),
        row("DT", issued="2024-03-05"),
        row("ST", status="void"),
        row("DU"),
    ]
    c = [
        row(" M1 "),
        row("M2", total="100.00", issued="2024-03-02"),
        row("MB"),
        row("OC"),
        row("MA"),
        row("AM", total="90.00"),
        row("DT", issued="2024-03-05"),
        row("ST", status="draft"),
        row("DU"),
    ]
    result = reconcile_three_way(three(), a, b, c)
    assert _cats(result) == {
        "mb": "MISSING_IN_B",
        "mc": "MISSING_IN_C",
        "ma": "MISSING_IN_A",
        "oa": "ONLY_IN_A",
        "ob": "ONLY_IN_B",
        "oc": "ONLY_IN_C",
        "am": "AMOUNT_MISMATCH",
        "dt": "DATE_MISMATCH",
        "st": "STATUS_MISMATCH",
        "du": "DUPLICATE",
    }
    assert result.counts["MATCHED"] == 2 and result.counts["MATCHED_WITHIN_TOLERANCE"] == 1
    assert result.counts["DUPLICATE_IN_A"] == 1

    am = _exc(result, "am").details
    assert am["pair_diffs"] == {"a-c": ["total"], "b-c": ["total"]}
    assert am["delta"] == {"total": {"a-c": "10", "b-c": "10"}} and am["odd_side"] == "c"
    assert am["a"]["total"] == "100" and am["c"]["total"] == "90"
    assert am["diff_columns"] == ["total"] and am["rows"] == {"a": 1, "b": 1, "c": 1}
    assert _exc(result, "am").amount == Decimal("10.00")  # the gap sizes severity

    dt = _exc(result, "dt").details
    assert dt["odd_side"] == "a" and dt["delta"] == {"issued": {"a-b": "-4", "a-c": "-4"}}
    st = _exc(result, "st").details
    assert set(st["pair_diffs"]) == {"a-b", "a-c", "b-c"} and st["odd_side"] is None
    assert st["delta"] == {}  # status has no delta

    mb = _exc(result, "mb")
    assert mb.details["b"] == {} and mb.details["rows"] == {"a": 1, "b": 0, "c": 1}
    assert mb.amount == Decimal("100.00") and mb.currency == "USD"
    oc = _exc(result, "oc").details
    assert oc["is_exclusive_c"] and not oc["is_exclusive_a"] and oc["a"] == {}
    du = _exc(result, "du").details
    assert du["base_category"] == "DUPLICATE_IN_A" and du["rows"] == {"a": 2, "b": 1, "c": 1}
    assert du["lines"]["a"] == [9, 10]

    rs = result.summary["row_summary"]
    assert (rs["df1_rows"], rs["df2_rows"], rs["df3_rows"]) == (10, 9, 9)
    assert rs["keys_total"] == 12 and rs["equal_rows"] == 2 and rs["common_rows"] == 5
    assert rs["match_rate"] == round(2 / 12, 6)
    for exc in result.exceptions:
        assert exc.exception_id == exception_id("invoices3", exc.keys, exc.category)


def test_tolerances_apply_to_every_pair_like_the_two_sided_engine() -> None:
    d = three(
        """
name: t3
a: {label: x}
b: {label: y}
c: {label: z}
keys: [{name: id}]
compare:
  - {name: amt, kind: amount, minor_units: 1}
  - {name: qty, kind: number, pct: 1}
  - {name: name, kind: text, casefold: true}
amount_field: amt
currency_field: ccy
context: [{name: ccy}]
"""
    )

    def r(i: str, amt: str, qty: str = "100", name: str = "Acme", ccy: str = "USD") -> dict:
        return {"id": i, "amt": amt, "qty": qty, "name": name, "ccy": ccy}

    a = [r("jpy", "100", ccy="JPY"), r("usd", "1.00"), r("chain", "1.00"), r("txt", "1", "100")]
    b = [r("jpy", "101", ccy="JPY"), r("usd", "1.01"), r("chain", "1.01"), r("txt", "1", "100")]
    c = [r("jpy", "102", ccy="JPY"), r("usd", "1.00"), r("chain", "1.02"), r("txt", "1", "100")]
    a[-1]["name"], b[-1]["name"], c[-1]["name"] = "ACME ", "acme", "Acme"
    # pct is of the later side of a pair: |99 - 100| <= 1 % of 100, |100 - 99| > 1 % of 99
    a += [r("pct", "1", "99"), r("pctrev", "1", "100")]
    b += [r("pct", "1", "100"), r("pctrev", "1", "99")]
    c += [r("pct", "1", "100"), r("pctrev", "1", "99")]
    result = reconcile_three_way(d, a, b, c)
    # JPY minor unit is 1 yen: 100-101 and 101-102 are within, 100-102 is not (no chaining)
    expected = {"jpy": "AMOUNT_MISMATCH", "chain": "AMOUNT_MISMATCH", "pctrev": "FIELD_MISMATCH"}
    assert _cats(result) == expected
    jpy = _exc(result, "jpy").details
    assert jpy["pair_diffs"] == {"a-c": ["amt"]} and jpy["delta"]["amt"]["a-c"] == "-2"
    assert jpy["odd_side"] is None and _exc(result, "jpy").amount == Decimal(2)
    assert _exc(result, "pctrev").details["odd_side"] == "a"
    assert result.counts["MATCHED"] == 3 and result.counts["MATCHED_WITHIN_TOLERANCE"] == 2
    # each pair is decided as the two-sided engine decides it
    two = parse_definitions(
        "name: t2\na: {label: x}\nb: {label: z}\nkeys: [{name: id}]\ncompare:\n"
        "  - {name: amt, kind: amount, minor_units: 1}\n"
        "  - {name: qty, kind: number, pct: 1}\n  - {name: name, kind: text, casefold: true}\n"
        "currency_field: ccy\ncontext: [{name: ccy}]\n"
    )[0]
    assert _cats(reconcile(two, a, c)) == expected
    stats = {s["column"]: s for s in result.summary["mismatch_stats"]["stats"]}
    assert stats["amt"]["unequal_by_pair"] == {"a-b": 0, "a-c": 2, "b-c": 0}
    assert stats["amt"]["max_diff_by_pair"]["a-c"] == "2"


def test_aggregated_side_filters_and_renamed_categories() -> None:
    d = three(
        THREE_YAML.replace("c: {label: gl}", "c: {label: gl, aggregate: true}")
        + "categories: {MISSING_IN_C: NOT_POSTED, ONLY_IN_B: ERP_ONLY, DUPLICATE_IN_C: X}\n"
    )
    d = d.model_copy(
        update={"b": d.b.model_copy(update={"filters": parse_filters("status", "void")})}
    )
    a = [row("S"), row("T"), row("P"), row("V")]
    b = [row("S"), row("T"), row("P"), row("E"), row("V", status="void")]
    c = [
        row("S", total="60.00"),
        row("S", total="40.00"),  # GL lines of one invoice summed: matches
        row("T", total="60.00"),
        row("T", total="30.00"),  # do not add up
        row("V"),
    ]
    result = reconcile_three_way(d, a, b, c)
    assert _cats(result) == {
        "t": "MANY_TO_ONE",
        "p": "NOT_POSTED",
        "e": "ERP_ONLY",
        "v": "MISSING_IN_B",  # the void ERP row is filtered out
    }
    assert result.summary["row_summary"]["many_to_one_matched"] == 1
    many = _exc(result, "t").details
    assert many["rows"]["c"] == 2 and many["delta"]["total"] == {"a-c": "10", "b-c": "10"}
    assert _exc(result, "p").exception_id == exception_id(
        "invoices3", {"number": "p"}, "NOT_POSTED"
    )


def parse_filters(field: str, value: str) -> tuple[Any, ...]:
    from reconcile.definitions import FilterSpec

    return (FilterSpec(field=field, op="ne", value=value),)


def test_with_side_c_a_copy_of_b_the_outcomes_follow_the_two_sided_engine() -> None:
    a = [row("1"), row("2", total="50.00"), row("3"), row("5", status="void")]
    b = [row("1"), row("2"), row("4"), row("5")]
    two = reconcile(three().model_copy(update={"c": None, "name": "invoices3"}), a, b)
    result = reconcile_three_way(three(), a, b, [dict(r) for r in b])
    rename = {"MISSING_IN_B": "ONLY_IN_A"}
    assert _cats(result) == {k: rename.get(v, v) for k, v in _cats(two).items()}
    assert result.counts["MATCHED"] == two.counts["MATCHED"]
    assert all(e.details["odd_side"] == "a" for e in result.exceptions if "MISMATCH" in e.category)


def test_empty_sides_and_reconcile_sides_dispatch() -> None:
    result = reconcile_sides(three(), [[], [], []])
    assert result.exceptions == [] and result.summary["row_summary"]["match_rate"] == 1.0
    result = reconcile_sides(three(), [[row("A")], [], []])
    assert _cats(result) == {"a": "ONLY_IN_A"}
    with pytest.raises(ConfigError, match=r"invoices3: the definition has 3 sides .* got 2"):
        reconcile_sides(three(), [[], []])
    two = three().model_copy(update={"c": None})
    assert reconcile_sides(two, [[row("A")], []]).exceptions[0].category == "MISSING_IN_B"
    with pytest.raises(ConfigError, match="not a three-sided definition"):
        reconcile_three_way(two, [], [], [])


def test_keys_only_with_every_side_aggregated() -> None:
    (d,) = parse_definitions(
        "name: k\na: {label: x, aggregate: true}\nb: {label: y, aggregate: true}\n"
        "c: {label: z, aggregate: true}\nkeys: [{name: id}]\n"
    )
    result = reconcile_three_way(d, [{"id": "1"}, {"id": "1"}], [{"id": "1"}], [{"id": "2"}])
    assert _cats(result) == {"1": "MISSING_IN_C", "2": "ONLY_IN_C"}
    assert result.summary["row_summary"]["keys_total"] == 2
    assert result.summary["row_summary"]["df1_rows"] == 2


def test_exceptions_table_has_a_column_per_side() -> None:
    result = reconcile_three_way(three(), [row("A")], [row("A")], [row("A", total="1.00")])
    (table_row,) = result.exceptions_table().to_pylist()
    assert (table_row["total_a"], table_row["total_b"], table_row["total_c"]) == ("100", "100", "1")
    assert table_row["odd_side"] == "c"
    assert json.loads(table_row["delta"]) == {"total": {"a-c": "99", "b-c": "99"}}


# -- errors -------------------------------------------------------------------------------
BAD_THREE = """\
name: bad
a: {label: x}
b: {label: y}
c:
  path: c.csv
keys:
  - {name: id, c: ID}
"""


def test_bad_three_sided_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "defs.yaml"
    path.write_text(BAD_THREE)
    with pytest.raises(ConfigError, match=r"defs\.yaml:4: c\.label: Field required"):
        load_definitions(path)
    # a c: column without a side C would be ignored silently: refused at its line
    path.write_text(
        "name: two\na: {label: x}\nb: {label: y}\nkeys:\n  - {name: id}\n"
        "compare:\n  - {name: total, kind: amount}\n  - {name: tax, kind: amount, c: Tax}\n"
    )
    with pytest.raises(ConfigError, match=r"defs\.yaml:8: compare\.1\.c: names a column on side C"):
        load_definitions(path)
    path.write_text(
        "name: two\na: {label: x}\nb: {label: y}\nkeys: [{name: id}]\n"
        "categories:\n  MISSING_IN_A: LATE\n  ONLY_IN_A: NOWHERE\n"
    )
    with pytest.raises(
        ConfigError, match=r"defs\.yaml:7: categories\.ONLY_IN_A: unknown category .*three-sided"
    ):
        load_definitions(path)
    path.write_text(BAD_THREE.replace("  path: c.csv", "  label: gl\n  path: c.csv"))
    (loaded,) = load_definitions(path)
    assert loaded.c is not None and loaded.c.path == str(tmp_path / "c.csv")
    assert loaded.keys[0].col("c") == "ID" and loaded.keys[0].col("b") == "id"


def test_side_c_errors_name_the_side_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"side C \(gl, <memory>\) lacks columns \['currency', 'total'\]"
    ):
        reconcile_three_way(
            three(), [row("A")], [row("A")], [{"number": "A", "issued": None, "status": "x"}]
        )
    p = tmp_path / "gl.csv"
    p.write_text("number,total,issued,status,currency\nA,1.00,2024-01-01,posted,USD\n")
    p.write_text(p.read_text() + "B,1.0O,2024-01-01,posted,USD\n")
    with pytest.raises(ParseError, match=r"gl\.csv, line 3: field 'total': '1\.0O'"):
        reconcile_three_way(three(), [row("A")], [row("A")], load_file(p))


def test_spreadsheet_numbers_on_any_side_are_read_exactly(tmp_path: Path) -> None:
    a = [row("1", total="1000"), row("2", total="-12.5"), row("3", total="7")]
    b = [row("1", total="1,000.00"), row("2", total="(12.50)"), row("3", total="7.00")]
    c = [row("1", total="$1,000"), row("2", total="12.50-"), row("3", total="7.02")]
    result = reconcile_three_way(three(), a, b, c)
    assert _cats(result) == {"3": "AMOUNT_MISMATCH"}
    assert _exc(result, "3").details["delta"] == {"total": {"a-c": "-0.02", "b-c": "-0.02"}}
    p = tmp_path / "gl.csv"
    p.write_text('number,total,issued,status,currency\nA,"1,5",2024-01-01,posted,USD\n')
    with pytest.raises(ParseError, match=r"gl\.csv, line 2: field 'total': '1,5'"):
        reconcile_three_way(three(), [], [], load_file(p))


def test_parquet_side_c_scanned_in_place_with_lines_and_duplicates(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "number": ["A", "B", "B"],
                "total": ["100.00", "100", "100"],
                "issued": ["2024-03-01"] * 3,
                "status": ["posted"] * 3,
                "currency": ["USD"] * 3,
            }
        ),
        tmp_path / "gl.parquet",
    )
    side = load_file(tmp_path / "gl.parquet")
    assert side.table is None
    result = reconcile_three_way(three(), [row("A"), row("B")], [row("A"), row("B")], side)
    assert _cats(result) == {"b": "DUPLICATE"}
    assert _exc(result, "b").details["lines"]["c"] == [2, 3]
    assert _exc(result, "b").details["base_category"] == "DUPLICATE_IN_C"


# -- store, CLI, configured runs ----------------------------------------------------------
def test_store_tracks_three_sided_exceptions_run_over_run(store: Store) -> None:
    xs = ExceptionStore(store)
    t0 = datetime(2024, 3, 1, 6, tzinfo=UTC)
    a, b = [row("1"), row("2"), row("3")], [row("1"), row("2"), row("3")]
    first = reconcile_three_way(three(), a, b, [row("1", total="90.00"), row("2")])
    d1 = xs.record_run("invoices3", "r1", first.exceptions, t0)
    assert len(d1.new) == 2
    second = reconcile_three_way(three(), a, b, [row("1", total="95.00"), row("2"), row("3")])
    d2 = xs.record_run("invoices3", "r2", second.exceptions, t0 + timedelta(days=1))
    assert d2.changed == [_exc(first, "1").exception_id]  # the gap moved: same id
    assert d2.resolved_by_data == [_exc(first, "3").exception_id]
    view = xs.get(_exc(first, "1").exception_id)
    assert view is not None and view.details["delta"]["total"]["a-c"] == "5"
    assert view.category == "AMOUNT_MISMATCH" and view.amount == Decimal("5.00")
    # the report reads all three sides' values
    report = report_from_store(
        xs, [("invoices3", "Invoices")], title="AR", now=t0 + timedelta(days=1), run_id="r2"
    )
    (section,) = report.sections
    assert {i.description for i in section.open_items} == {"total: 100 vs 100 vs 95"}
    assert [i.keys for i in section.resolved] == [{"number": "3"}]


def test_example_definition_runs_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    res = CliRunner().invoke(
        recon_cli.app,
        [
            "run",
            "crm_billing_erp",
            "--definitions",
            str(EXAMPLE / "crm_billing_erp.yaml"),
            "--out",
            str(tmp_path / "out"),
        ],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 1, res.output
    assert "NEW 9" in res.output
    # the run summary has side C's columns too (rows C, only C): 10 columns, however narrow
    # the console is (rich wraps header words at xdist's 80 columns)
    header = next(line for line in res.output.splitlines() if line.startswith("┃"))
    assert header.count("┃") == 11, res.output
    with (tmp_path / "out" / "crm_billing_erp-exceptions.csv").open() as fh:
        listed = {r["key_booking_ref"]: r for r in csv.DictReader(fh)}
    assert {k: r["category"] for k, r in listed.items()} == {
        "C-103": "WON_NOT_PROVISIONED",
        "C-104": "NOT_IN_ERP",
        "C-111": "NO_BOOKING",
        "C-105": "AMOUNT_MISMATCH",
        "C-112": "DATE_MISMATCH",
        "C-106": "DUPLICATE",
        "C-108": "BOOKING_ONLY",
        "C-109": "BILLING_ONLY",
        "C-110": "ERP_ONLY",
    }
    assert (listed["C-105"]["acv_b"], listed["C-105"]["acv_c"]) == ("18000", "16500")
    assert listed["C-105"]["odd_side"] == "c" and listed["C-105"]["severity"] == "MEDIUM"
    summary = json.loads((tmp_path / "out" / "crm_billing_erp-summary.json").read_text())
    rs = summary["row_summary"]
    # C-100 (ERP +0.004) and C-101 (billing +1 day) within tolerance; C-102 split charges
    assert (rs["equal_rows"], rs["matched_within_tolerance"], rs["many_to_one_matched"]) == (
        3,
        2,
        1,
    )
    assert (rs["df1_rows"], rs["df2_rows"], rs["df3_rows"]) == (9, 10, 10)  # draft filtered


def _invoice_files(tmp: Path) -> dict[str, Path]:
    """The demo's billing invoice export three times: B without one invoice, C with another
    voided, so the three-way run has one planted break per side."""
    from billbridge.demo.pipeline import DATA

    with (DATA / "zuora_invoices.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    numbers = sorted({r["Invoice.InvoiceNumber"] for r in rows})
    drop, void = numbers[0], numbers[1]

    def write(name: str, out_rows: list[dict[str, str]]) -> Path:
        path = tmp / name
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(out_rows)
        return path

    voided = [
        r | {"Invoice.Status": "Canceled"} if r["Invoice.InvoiceNumber"] == void else r
        for r in rows
    ]
    return {
        "a": write("a.csv", rows),
        "b": write("b.csv", [r for r in rows if r["Invoice.InvoiceNumber"] != drop]),
        "c": write("c.csv", voided),
        "drop": Path(drop),
        "void": Path(void),
    }


def test_configured_run_reads_three_sides_from_connections(tmp_path: Path) -> None:
    from config.loader import load_config
    from reconcile.configured import run_configured

    spec = Path(__file__).resolve().parents[2] / "mappings/specs/exports/zuora_invoices.yaml"
    files = _invoice_files(tmp_path)
    (tmp_path / "three.yaml").write_text(
        "name: invoices_3way\na: {label: billing}\nb: {label: erp}\nc: {label: gl}\n"
        "keys: [{name: number}]\ncompare:\n  - {name: total, kind: amount}\n"
        "  - {name: status, kind: status}\n"
    )
    conns = "".join(
        f"  {s}:\n    system: files\n    path: {files[s]}\n    spec: {spec}\n" for s in "abc"
    )
    config_path = tmp_path / "billbridge.yaml"
    config_path.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\nconnections:\n{conns}"
        "reconciliations:\n"
        f"  three:\n    definition: {tmp_path / 'three.yaml'}\n"
        "    sides: {a: a/invoice, b: b/invoice, c: c/invoice}\n"
        f"  two_sides_given:\n    definition: {tmp_path / 'three.yaml'}\n"
        "    sides: {a: a/invoice, b: b/invoice}\n"
        "  builtin_with_c:\n    definition: billing_vs_erp_invoices\n"
        "    sides: {a: a/invoice, b: b/invoice, c: c/invoice}\n"
    )
    config = load_config(config_path)
    store = Store(config.state.url)
    try:
        now = datetime(2024, 3, 1, tzinfo=UTC)
        delta = run_configured(config, "three", store=store, now=now)
        assert len(delta.new) == 2
        by_cat = {v.category: v.keys["number"] for v in ExceptionStore(store).list()}
        assert by_cat == {"MISSING_IN_B": str(files["drop"]), "STATUS_MISMATCH": str(files["void"])}
        with pytest.raises(ConfigError, match=r"reconciliations\.two_sides_given\.sides: needs c"):
            run_configured(config, "two_sides_given", store=store, now=now)
        with pytest.raises(ConfigError, match=r"builtin_with_c\.sides: c is given, but"):
            run_configured(config, "builtin_with_c", store=store, now=now)
    finally:
        store.close()


def test_example_files_load_as_sides() -> None:
    (d,) = load_definitions(EXAMPLE / "crm_billing_erp.yaml")
    assert d.sides == ("a", "b", "c")
    sides = [load_side(getattr(d, s)) for s in d.sides]
    assert [s.num_rows for s in sides] == [10, 10, 10]


def test_exceptions_show_lists_side_c_and_per_pair_deltas(tmp_path: Path) -> None:
    from reconcile import exceptions_cli

    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    result = reconcile_three_way(three(), [row("1")], [row("1")], [row("1", total="90.00")])
    ExceptionStore(store).record_run("invoices3", "r1", result.exceptions, datetime.now(UTC))
    store.close()
    eid = _exc(result, "1").exception_id
    res = CliRunner().invoke(
        exceptions_cli.app, ["show", eid, "--state-url", url], env={"COLUMNS": "200"}
    )
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if "field" in line)
    assert [c.strip() for c in header.strip("┃│ ").split("┃")] == ["field", "A", "B", "C", "delta"]
    total = next(line for line in res.output.splitlines() if "total*" in line)
    assert "100" in total and "90" in total and "a-c 10" in total and "b-c 10" in total


def test_three_way_keys_read_like_two_sided_ones_nbsp_tabs_and_whole_floats(
    tmp_path: Path,
) -> None:
    (d,) = parse_definitions(
        "name: keys3\na: {label: a}\nb: {label: b}\nc: {label: c}\n"
        "keys: [{name: id, normalize: [trim]}]\ncompare: [{name: amt, kind: amount}]\n"
    )
    a = pa.table({"id": ["123\u00a0", "124\t", "K-1"], "amt": ["1.00", "2.00", "3.00"]})
    b = pa.table({"id": ["123", "124", "K-1"], "amt": ["1.00", "2.00", "3.00"]})
    # pandas writes an id column with a gap as float64: 123.0 is the record 123
    c = pa.table({"id": [123.0, 124.0, None], "amt": [1.0, 2.0, 3.0]})
    result = reconcile_three_way(d, a, b, c)
    assert sorted((e.category, e.keys["id"]) for e in result.exceptions) == [
        ("MISSING_IN_C", "K-1"),
        ("ONLY_IN_C", ""),
    ]


def test_a_group_that_agrees_with_one_side_leaves_the_odd_side_named() -> None:
    (d,) = parse_definitions(
        "name: m2o3\na: {label: payments}\nb: {label: bank, aggregate: true}\nc: {label: erp}\n"
        "keys: [{name: ref}]\ncompare: [{name: amount, kind: amount}]\namount_field: amount\n"
    )
    a = [{"ref": "P1", "amount": "100.00"}, {"ref": "P2", "amount": "100.00"}]
    b = [
        {"ref": "P1", "amount": "60.00"},
        {"ref": "P1", "amount": "40.00"},  # adds up to the payment: the ERP's 90 is odd
        {"ref": "P2", "amount": "60.00"},
        {"ref": "P2", "amount": "30.00"},  # 90 against 100 on both other sides
    ]
    c = [{"ref": "P1", "amount": "90.00"}, {"ref": "P2", "amount": "100.00"}]
    result = reconcile_three_way(d, a, b, c)
    found = {e.keys["ref"]: (e.category, e.details["odd_side"]) for e in result.exceptions}
    assert found == {"P1": ("AMOUNT_MISMATCH", "c"), "P2": ("MANY_TO_ONE", "b")}
