"""Wide files (an ERP export of 200 columns) through ``reconcile files``' engine path:
the categories, deltas, details and per-field figures of a few differences among them.

Behaviour only: how fast the engine plans these statements is benchmarks/bench_wide.py's."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from reconcile.engine import ReconResult, Side, adhoc, load_file, reconcile

COLUMNS = 200
KINDS = ("text", "number", "date")


def _value(row: int, j: int) -> str:
    kind = KINDS[j % 3]
    if kind == "text":
        return f"T{(row * 31 + j) % 97}"
    if kind == "number":
        return f"{(row * 7919 + j * 104729) % 1000000 / 100:.2f}"
    return f"2024-{1 + (row + j) % 12:02d}-{1 + (row * 3 + j) % 28:02d}"


def _rows() -> list[dict[str, str]]:
    return [
        {"doc_id": f"DOC-{i:04d}", **{f"c{j:03d}": _value(i, j) for j in range(COLUMNS)}}
        for i in range(30)
    ]


#: side B's changes: row -> {column: new value}
CHANGES: dict[int, dict[str, str]] = {
    3: {"c001": "+1.50"},  # a number 1.50 higher
    5: {"c002": "+3d"},  # a date 3 days later
    7: {"c150": "OTHER", "c199": "+0.25"},  # a text and a number
    9: {"c000": "ELSE", "c197": "-2d"},  # a text and a date: a date mismatch first
    11: {"c100": ""},  # a number blanked on B
    13: {"c004": "+0.10"},  # a number 0.10 higher
    15: {"c005": "+1d"},  # a date a day later
}


def _changed(value: str, change: str) -> str:
    if change.endswith("d"):
        return str(date.fromisoformat(value) + timedelta(days=int(change[:-1])))
    if change.startswith("+"):
        return f"{Decimal(value) + Decimal(change[1:]):.2f}"
    return change


def _sides(tmp_path: Path) -> tuple[Path, Path]:
    rows_a = _rows()
    rows_b = [dict(r) for r in rows_a]
    for i, changes in CHANGES.items():
        for column, change in changes.items():
            rows_b[i][column] = _changed(rows_b[i][column], change)
    del rows_b[28]  # only in A
    rows_b.append({"doc_id": "DOC-0099", **{f"c{j:03d}": _value(99, j) for j in range(COLUMNS)}})
    paths = []
    for name, rows in (("a.csv", rows_a), ("b.csv", rows_b)):
        path = tmp_path / name
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        paths.append(path)
    return paths[0], paths[1]


def _by_key(result: ReconResult) -> dict[str, Any]:
    return {exc.keys["doc_id"]: exc for exc in result.exceptions}


def test_wide_csv_pair_categories_deltas_and_details(tmp_path: Path) -> None:
    left, right = (load_file(p) for p in _sides(tmp_path))
    plan = adhoc.plan_files(left, right, ["doc_id"], [])
    assert len(plan.definition.compare) == COLUMNS
    result = reconcile(plan.definition, left, right)

    assert result.counts == {
        "MATCHED": 22,
        "MATCHED_WITHIN_TOLERANCE": 0,
        "DATE_MISMATCH": 3,
        "FIELD_MISMATCH": 4,
        "MISSING_IN_A": 1,
        "MISSING_IN_B": 1,
    }
    found = _by_key(result)
    assert {k: e.category for k, e in found.items()} == {
        "DOC-0003": "FIELD_MISMATCH",
        "DOC-0005": "DATE_MISMATCH",
        "DOC-0007": "FIELD_MISMATCH",
        "DOC-0009": "DATE_MISMATCH",
        "DOC-0011": "FIELD_MISMATCH",
        "DOC-0013": "FIELD_MISMATCH",
        "DOC-0015": "DATE_MISMATCH",
        "DOC-0028": "MISSING_IN_B",
        "DOC-0099": "MISSING_IN_A",
    }
    d3 = found["DOC-0003"].details
    assert d3["diff_columns"] == ["c001"]
    assert d3["delta"] == {"c001": "-1.5"}
    assert d3["a"]["c001"] == _value(3, 1).rstrip("0").rstrip(".")
    assert len(d3["a"]) == len(d3["b"]) == COLUMNS
    assert found["DOC-0005"].details["delta"] == {"c002": "-3"}
    d7 = found["DOC-0007"].details
    assert d7["diff_columns"] == ["c150", "c199"]
    assert d7["delta"] == {"c199": "-0.25"}
    assert (d7["a"]["c150"], d7["b"]["c150"]) == (_value(7, 150), "OTHER")
    d9 = found["DOC-0009"].details
    assert d9["diff_columns"] == ["c000", "c197"]
    assert d9["delta"] == {"c197": "2"}
    d11 = found["DOC-0011"].details
    assert d11["diff_columns"] == ["c100"]
    assert d11["b"]["c100"] is None and d11["delta"] == {}
    missing = found["DOC-0028"].details
    assert missing["is_exclusive_a"] and missing["b"] == {} and len(missing["a"]) == COLUMNS
    assert missing["lines"] == {"a": 30, "b": None}

    stats = {s["column"]: s for s in result.summary["mismatch_stats"]["stats"]}
    assert len(stats) == COLUMNS
    assert (stats["c001"]["unequal_cnt"], stats["c001"]["max_diff"]) == (1, "1.5")
    assert (stats["c197"]["unequal_cnt"], stats["c197"]["max_diff"]) == (1, "2")
    assert (stats["c100"]["unequal_cnt"], stats["c100"]["null_diff"]) == (1, 1)
    assert (stats["c004"]["max_diff"], stats["c005"]["max_diff"]) == ("0.1", "1")
    assert stats["c150"]["unequal_cnt"] == 1 and stats["c150"]["max_diff"] == "0"
    assert sum(s["unequal_cnt"] for s in stats.values()) == 9
    rows = result.summary["row_summary"]
    assert (rows["df1_rows"], rows["df2_rows"], rows["unequal_rows"]) == (30, 30, 7)


def _typed(rows: list[dict[str, str]]) -> pa.Table:
    """The rows with number columns as DECIMAL(12,2) and date columns as dates."""
    columns: dict[str, pa.Array] = {"doc_id": pa.array([r["doc_id"] for r in rows])}
    for j in range(COLUMNS):
        name, kind = f"c{j:03d}", KINDS[j % 3]
        values = [r[name] or None for r in rows]
        if kind == "number":
            columns[name] = pa.array(
                [Decimal(v) if v else None for v in values], pa.decimal128(12, 2)
            )
        elif kind == "date":
            columns[name] = pa.array(values).cast(pa.date32())
        else:
            columns[name] = pa.array(values)
    return pa.table(columns)


@pytest.mark.parametrize("text", [False, True], ids=["typed", "text"])
def test_wide_pair_with_tolerances(tmp_path: Path, text: bool) -> None:
    """Every number within 0.30 and every date within 2 days: tolerated in the join itself
    when both sides hold decimals and dates, classified when they hold text."""
    a_csv, b_csv = _sides(tmp_path)
    left, right = load_file(a_csv), load_file(b_csv)
    if not text:
        left = Side(_typed(left.table.to_pylist()), "a")  # type: ignore[union-attr]
        right = Side(_typed(right.table.to_pylist()), "b")  # type: ignore[union-attr]
    specs = [
        f"c{j:03d}:abs=0.30" if j % 3 == 1 else f"c{j:03d}:days=2" if j % 3 == 2 else f"c{j:03d}"
        for j in range(COLUMNS)
    ]
    plan = adhoc.plan_files(left, right, ["doc_id"], specs)
    result = reconcile(plan.definition, left, right)

    # DOC-0007's number is within 0.30, its text is not; DOC-0009's date is within 2 days,
    # its text is not; DOC-0003 (1.50) and DOC-0005 (3 days) are outside; DOC-0013 (0.10)
    # and DOC-0015 (a day) match within tolerance
    assert result.counts == {
        "MATCHED": 24,
        "MATCHED_WITHIN_TOLERANCE": 2,
        "AMOUNT_MISMATCH": 2,
        "DATE_MISMATCH": 1,
        "FIELD_MISMATCH": 2,
        "MISSING_IN_A": 1,
        "MISSING_IN_B": 1,
    }
    found = _by_key(result)
    assert found["DOC-0003"].category == "AMOUNT_MISMATCH"
    assert found["DOC-0003"].details["delta"] == {"c001": "-1.5"}
    assert found["DOC-0011"].category == "AMOUNT_MISMATCH"
    d7 = found["DOC-0007"].details
    assert (found["DOC-0007"].category, d7["diff_columns"]) == ("FIELD_MISMATCH", ["c150"])
    assert d7["delta"] == {"c199": "-0.25"}  # within tolerance: a delta, not a difference
    d9 = found["DOC-0009"].details
    assert (found["DOC-0009"].category, d9["diff_columns"]) == ("FIELD_MISMATCH", ["c000"])
    assert found["DOC-0005"].details["delta"] == {"c002": "-3"}
    stats = {s["column"]: s for s in result.summary["mismatch_stats"]["stats"]}
    assert (stats["c199"]["unequal_cnt"], stats["c199"]["max_diff"]) == (0, "0.25")
    assert stats["c001"]["max_diff"] == "1.5"
    assert stats["c197"]["max_diff"] == "2"
    assert (stats["c004"]["unequal_cnt"], stats["c004"]["max_diff"]) == (0, "0.1")
    assert stats["c004"]["tolerated_diff_total"] == "0.1"
    assert (stats["c005"]["unequal_cnt"], stats["c005"]["max_diff"]) == (0, "1")
    assert result.summary["row_summary"]["matched_within_tolerance"] == 2
