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
