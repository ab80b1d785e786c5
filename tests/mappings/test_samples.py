from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from billbridge.errors import ConfigError
from mappings.samples import load_samples


def test_salesforce_query_response_is_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    path.write_text(
        json.dumps(
            {
                "totalSize": 2,
                "done": True,
                "records": [
                    {"attributes": {"type": "Account"}, "Id": "1", "Amount": 0.1},
                    {"attributes": {"type": "Account"}, "Id": "2"},
                ],
            }
        )
    )
    samples = load_samples(path)
    assert [r["Id"] for r in samples.rows] == ["1", "2"]
    assert samples.rows[0]["Amount"] == Decimal("0.1")  # JSON numbers never become floats
    assert samples.locations == ["q.json: record 1", "q.json: record 2"]


def test_suiteql_items_and_json_lines(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(
        json.dumps({"count": 1, "hasMore": False, "items": [{"id": "7"}], "offset": 0})
    )
    assert load_samples(tmp_path / "s.json").rows == [{"id": "7"}]
    (tmp_path / "r.jsonl").write_text('{"id": "1"}\n\n{"id": "2"}\n')
    assert [r["id"] for r in load_samples(tmp_path / "r.jsonl").rows] == ["1", "2"]


def test_a_single_record_with_a_nested_items_list_is_not_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps({"id": "8938", "items": [{"line": 1}]}))
    assert load_samples(path).rows == [{"id": "8938", "items": [{"line": 1}]}]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"a": 1,\n "b": }')
    with pytest.raises(ConfigError, match=r"bad.json:2:7: not valid JSON"):
        load_samples(path)


def test_csv_samples_carry_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n\n3,4\n")
    samples = load_samples(path)
    assert samples.rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert samples.locations == ["x.csv: line 2", "x.csv: line 4"]
