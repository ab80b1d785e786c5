"""How the engine reads values the way real exports hold them: float64 amounts and ids
(pandas), zoned timestamps, keys with tabs and no-break spaces, day-month-year dates and
more decimals than it keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from billbridge.errors import ParseError
from reconcile.definitions import parse_definitions
from reconcile.engine import load_file, reconcile


def _definition(compare: str, key: str = "id", normalize: str = "[trim]"):
    text = f"""
name: t
a: {{label: a}}
b: {{label: b}}
keys: [{{name: {key}, normalize: {normalize}}}]
compare: [{compare}]
"""
    return parse_definitions(text, "t.yaml")[0]


def _categories(result) -> dict[str, str]:
    return {c.keys["id"]: c.category for c in result.rows.candidates()}


def test_float64_amounts_are_the_numbers_they_were_written_from() -> None:
    amounts = [4843426.44, 0.1 + 0.2 - 0.3 + 19.99, 1234.5, 0.07]
    a = pa.table({"id": ["1", "2", "3", "4"], "amount": pa.array(amounts, pa.float64())})
    b = pa.table({"id": ["1", "2", "3", "4"], "amount": ["4843426.44", "19.99", "1234.50", "0.07"]})
    d = _definition("{name: amount, kind: amount, abs: 0}")
    result = reconcile(d, a, b)
    assert len(result.rows) == 0, [c.details for c in result.rows.candidates()]
    b2 = b.set_column(1, "amount", pa.array(["4843426.45", "19.99", "1234.50", "0.07"]))
    (only,) = reconcile(d, a, b2).rows.candidates()
    assert only.keys == {"id": "1"} and only.details["delta"] == {"amount": "-0.01"}


def test_float_and_decimal_ids_that_are_whole_numbers_match_integer_text() -> None:
    a = pa.table({"id": pa.array([123.0, 124.0, None, 126.5], pa.float64()), "v": ["x"] * 4})
    b = pa.table({"id": ["123", "124", "126.5"], "v": ["x"] * 3})
    d = _definition("{name: v, kind: text}")
    cats = {c.keys["id"]: c.category for c in reconcile(d, a, b).rows.candidates()}
    assert "123" not in cats and "124" not in cats and "126.5" not in cats
    dec = pa.table({"id": pa.array([Decimal("123.00"), Decimal("7.50")], pa.decimal128(10, 2)),
                    "v": ["x", "x"]})  # fmt: skip
    assert len(reconcile(d, dec, pa.table({"id": ["123", "7.5"], "v": ["x", "x"]})).rows) == 0


def test_a_zoned_timestamp_is_its_utc_date_whatever_the_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    late = datetime(2024, 3, 17, 3, 30, tzinfo=UTC)  # 23:30 on the 16th in New York (EDT)
    a = pa.table({"id": ["1"], "ts": pa.array([late], pa.timestamp("us", tz="UTC"))})
    b = pa.table({"id": ["1"], "ts": pa.array([date(2024, 3, 17)], pa.date32())})
    d = _definition("{name: ts, kind: date}")
    import time

    from reconcile.engine import prepare

    # a process started in New York: its DuckDB would take that zone by default
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    monkeypatch.setattr(prepare, "_DB", [])
    try:
        assert len(reconcile(d, a, b).rows) == 0
    finally:
        monkeypatch.undo()
        time.tzset()


def test_keys_with_tabs_and_no_break_spaces_at_an_edge_are_trimmed() -> None:
    a = pa.table({"id": ["INV-1\u00a0", "\tINV-2", "INV-3 ", "INV-4"], "v": ["x"] * 4})
    b = pa.table({"id": ["INV-1", "INV-2", "INV-3", "INV-4"], "v": ["x"] * 4})
    d = _definition("{name: v, kind: text}")
    assert len(reconcile(d, a, b).rows) == 0
    # only a real difference is left, with the key as trimmed
    b2 = pa.table({"id": ["INV-1", "INV-2", "INV-3", "INV-9"], "v": ["x"] * 4})
    cats = _categories(reconcile(d, a, b2))
    assert cats == {"INV-4": "MISSING_IN_B", "INV-9": "MISSING_IN_A"}
    # and two rows that become one key once trimmed are a duplicate, not two records
    dup = pa.table({"id": ["INV-1", "INV-1\t", "INV-2"], "v": ["x"] * 3})
    assert _categories(reconcile(d, dup, b)) == {"INV-1": "DUPLICATE", "INV-3": "MISSING_IN_A",
                                                "INV-4": "MISSING_IN_A"}  # fmt: skip


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_two_digit_year_is_refused_not_read_as_year_15(tmp_path: Path) -> None:
    a = _csv(tmp_path / "a.csv", "id,posted\n1,15-03-24\n")
    b = _csv(tmp_path / "b.csv", "id,posted\n1,2024-03-15\n")
    d = _definition("{name: posted, kind: date, days: 1}")
    with pytest.raises(ParseError) as err:
        reconcile(d, load_file(a), load_file(b))
    assert "line 2" in str(err.value) and "posted" in str(err.value)
    ok = _csv(tmp_path / "ok.csv", "id,posted\n1,2024-03-16\n")
    assert len(reconcile(d, load_file(ok), load_file(b)).rows) == 0


def test_more_decimals_than_the_engine_keeps_is_an_error_not_a_rounding(tmp_path: Path) -> None:
    a = _csv(tmp_path / "a.csv", "id,amount\n1,1.5\n2,0.123456789012345\n")
    b = _csv(tmp_path / "b.csv", "id,amount\n1,1.5\n2,0.123456789012399\n")
    d = _definition("{name: amount, kind: amount, abs: 0}")
    with pytest.raises(ParseError) as err:
        reconcile(d, load_file(a), load_file(b))
    assert "line 3" in str(err.value) and "at most 10 decimal places" in str(err.value)


def test_parquet_float_amounts_through_load_file(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["1", "2"], "amount": [10.1, 20.2]}), tmp_path / "a.parquet")
    b = _csv(tmp_path / "b.csv", "id,amount\n1,10.10\n2,20.20\n")
    d = _definition("{name: amount, kind: amount, abs: 0}")
    assert len(reconcile(d, load_file(tmp_path / "a.parquet"), load_file(b)).rows) == 0


def test_records_without_a_key_are_never_paired_with_each_other() -> None:
    d = _definition("{name: amount, kind: amount, abs: 0}")
    a = pa.table({"id": ["1", "", None], "amount": ["10.00", "75.00", "5.00"]})
    b = pa.table({"id": ["1", " "], "amount": ["10.00", "12.00"]})
    found = sorted((c.category, c.keys["id"], c.details["rows"]["a"], c.details["rows"]["b"])
                   for c in reconcile(d, a, b).rows.candidates())  # fmt: skip
    # A's two blank keys are one repeated (blank) key, reported with every blank row
    assert found == [("DUPLICATE", "", 2, 1)]
    one_each = pa.table({"id": ["1", ""], "amount": ["10.00", "75.00"]})
    cats = sorted(c.category for c in reconcile(d, one_each, b).rows.candidates())
    assert cats == ["MISSING_IN_A", "MISSING_IN_B"]


def test_a_duplicate_names_the_documents_that_repeat_the_key() -> None:
    text = """
name: t
a: {label: billing}
b: {label: erp}
keys: [{name: id}]
compare: [{name: amount, kind: amount}]
context: [{name: doc}]
"""
    (d,) = parse_definitions(text, "t.yaml")
    a = pa.table({"id": ["INV1006"], "amount": ["10.00"], "doc": [None]})
    b = pa.table({"id": ["INV1006", "INV1006"], "amount": ["10.00", "10.00"],
                  "doc": ["20006", "20106"]})  # fmt: skip
    (dup,) = reconcile(d, a, b).rows.candidates()
    assert dup.details["base_category"] == "DUPLICATE_IN_B"
    assert dup.details["context"] == {"doc": "20006"}
    assert dup.details["context_rows"]["b"] == [{"doc": "20006"}, {"doc": "20106"}]


def test_sides_that_agree_skip_classification_with_the_same_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing flagged: no classification or exception query is planned (seconds on a
    file of hundreds of columns), and the summary is the one the queries give."""
    from reconcile.engine import summary

    d = _definition("{name: amount, kind: amount, abs: 0.01}, {name: v, kind: text}")
    a = pa.table({"id": ["1", "2", "3"], "amount": ["10.00", "20.00", "30.00"], "v": ["x"] * 3})
    b = pa.table({"id": ["3", "2", "1"], "amount": ["30.00", "20.005", "10.00"], "v": ["x"] * 3})
    fast = reconcile(d, a, b)
    assert len(fast.rows) == 0
    real = summary.Tolerated.from_figures

    def uncounted(figures, flagged=-1):  # type: ignore[no-untyped-def]
        return real(figures, -1)

    monkeypatch.setattr(summary.Tolerated, "from_figures", staticmethod(uncounted))
    slow = reconcile(d, a, b)
    assert fast.summary == slow.summary and fast.counts == slow.counts
