"""Spec mistakes that would otherwise be ignored or crash are refused as located spec
errors (file:line: field), exit 2, never a traceback or exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.errors import ConfigError
from uat.cli import app
from uat.spec import parse_spec

CUSTOMERS = """\
name: t
entities:
  - name: cust
    kind: customer
    legacy: {path: leg.csv}
    new: {path: new.csv}
    fields: [name, status]
"""
HEAD = "customer_id,name,status,currency,tax_id,credit_limit\n"


def _cli(tmp_path: Path, text: str) -> tuple[int, str]:
    (tmp_path / "leg.csv").write_text(HEAD + "C1,Acme,active,EUR,DE1,10.00\n")
    (tmp_path / "new.csv").write_text(HEAD + "C1,Acme,active,EUR,DE1,10.00\n")
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    result = CliRunner().invoke(app, ["compare", str(spec)])
    return result.exit_code, result.output.replace(str(spec), "s.yaml")


def test_a_field_named_twice_in_fields_is_refused() -> None:
    text = CUSTOMERS.replace("[name, status]", "[name, name]")
    with pytest.raises(ConfigError) as err:
        parse_spec(text, "s.yaml")
    assert str(err.value) == (
        "s.yaml:7: entities.0.fields: 'name' listed more than once; name each compared field once"
    )


def test_the_cli_exits_2_not_3_on_a_field_named_twice(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, CUSTOMERS.replace("[name, status]", "[name, name]"))
    assert code == 2
    assert "error: s.yaml:7: entities.0.fields: 'name' listed more than once" in out


def test_no_fields_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_spec(CUSTOMERS.replace("[name, status]", "[]"), "s.yaml")
    assert str(err.value).startswith("s.yaml:7: entities.0.fields: lists no field, so nothing")


def test_a_tolerance_on_a_field_not_compared_is_refused() -> None:
    text = CUSTOMERS + "    tolerances: {credit_limit: {abs: 1}}\n"
    with pytest.raises(ConfigError) as err:
        parse_spec(text, "s.yaml")
    assert str(err.value) == (
        "s.yaml:8: entities.0.tolerances.credit_limit: 'credit_limit' is not compared "
        "(fields: ['name', 'status']), so its tolerance would do nothing; compare it or drop "
        "the tolerance"
    )
    # compared, it is fine
    parse_spec(text.replace("[name, status]", "[name, credit_limit]"), "s.yaml")


def test_a_sheet_for_a_csv_source_is_refused(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, CUSTOMERS.replace("{path: new.csv}", "{path: new.csv, sheet: X}"))
    assert code == 2
    assert "error: s.yaml:6: entities.0.new.sheet: " in out
    assert "new.csv is read as a CSV file, which has no sheets" in out


def test_a_declared_format_the_file_does_not_have_names_the_spec_line(tmp_path: Path) -> None:
    code, out = _cli(
        tmp_path, CUSTOMERS.replace("{path: leg.csv}", "{path: leg.csv, format: xlsx}")
    )
    assert code == 2
    assert "error: s.yaml:5: entities.0.legacy.format: " in out
    assert "leg.csv: not a readable XLSX workbook" in out


def test_a_file_named_as_a_workbook_that_is_none_names_the_spec_path(tmp_path: Path) -> None:
    (tmp_path / "leg.xlsx").write_text(HEAD + "C1,Acme,active,EUR,DE1,10.00\n")
    code, out = _cli(tmp_path, CUSTOMERS.replace("{path: leg.csv}", "{path: leg.xlsx}"))
    assert code == 2
    assert "error: s.yaml:5: entities.0.legacy.path: " in out
    assert "leg.xlsx: not a readable XLSX workbook" in out


def test_the_spec_still_runs_without_the_mistakes(tmp_path: Path) -> None:
    assert _cli(tmp_path, CUSTOMERS)[0] == 0
