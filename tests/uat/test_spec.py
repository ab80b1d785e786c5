"""Spec and input validation: one line naming file:line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from billbridge.errors import BillbridgeError, ConfigError
from tests.uat.builder import SPEC
from uat.spec import load_spec, parse_spec
from uat.translate import load_translation

BASE = """\
name: t
translations:
  customer: {path: x.csv}
entities:
  - name: customers
    kind: customer
    legacy: {path: a.csv}
    new:
      path: b.csv
      columns: {customer_id: id}
    translate: {customer_id: customer}
expectations:
  - type: match_rate
    entity: customers
    min_pct: 99
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kind: customer", "kind: customers", "s.yaml:6: entities.0.kind: Input should be"),
        ("{customer_id: id}", "{customer_nr: id}", "s.yaml:10: entities.0.new.columns."
         "customer_nr: customer has no field 'customer_nr'"),
        ("min_pct: 99", "min_pct: 101", "s.yaml:15: expectations.0.min_pct: Input should be "
         "less than or equal to 100"),
        ("entity: customers", "entity: custs", "s.yaml:14: expectations.0.entity: unknown "
         "entity 'custs'"),
        ("{customer_id: customer}", "{customer_id: cust}", "s.yaml:11: entities.0.translate."
         "customer_id: no translation table 'cust'"),
        ("legacy: {path: a.csv}", "legacy: {path: a.csv, connector: erp}",
         "s.yaml:7: entities.0.legacy: give exactly one of path or connector"),
        ("    min_pct: 99\n", "    min_pct: 99\n  - {type: ties, entity: customers, field: name}\n",
         "s.yaml:16: expectations.1.field: 'name' is not a compared amount of 'customers'"),
        ("    min_pct: 99\n",
         "    min_pct: 99\n  - {type: no_exceptions, entity: customers, category: MISSING}\n",
         "s.yaml:16: expectations.1.category: Input should be 'MISSING_IN_A'"),
        ("    min_pct: 99\n", "    min_pct: 99\n    colour: red\n",
         "s.yaml:16: expectations.0.colour: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_spec_errors_name_file_line_and_field(old: str, new: str, expected: str) -> None:
    text = BASE.replace(old, new)
    assert text != BASE
    with pytest.raises(ConfigError) as info:
        parse_spec(text, "s.yaml")
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_not_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_spec("name: t\nentities:\n  - {a: 1\nexpectations: []\n", "s.yaml")
    assert str(info.value).startswith("s.yaml:4: not valid YAML: expected ',' or '}'")


def test_the_sample_spec_is_valid() -> None:
    spec = parse_spec(SPEC, "uat.yaml")
    assert [e.name for e in spec.entities][:2] == ["customers", "ar_items"]
    assert spec.rootcause.rate_changes[0].new == spec.rootcause.rate_changes[0].new.__class__(
        "0.16"
    )


def test_contradicting_translation_rows_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("old,new\nC1,N1\nC2,N2\nC1,N9\n", encoding="utf-8")
    spec = parse_spec(BASE, "s.yaml")
    with pytest.raises(
        BillbridgeError, match=r"t\.csv, line 4: field 'old': 'C1' maps to both"
    ) as err:
        load_translation("customer", spec.translations["customer"].model_copy(
            update={"path": "t.csv"}), tmp_path)  # fmt: skip
    assert str(err.value).count("t.csv") == 1  # the place is named once


def test_missing_spec_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read UAT spec"):
        load_spec(tmp_path / "nope.yaml")


def test_translation_tables_read_the_same_by_both_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean UTF-8 CSV takes the fast reader; Windows-1252 and semicolons take the general
    one; a blank code is still reported with its line."""
    spec = parse_spec(BASE, "s.yaml")
    base = spec.translations["customer"]

    def load(name: str, body: bytes) -> dict[str, str]:
        (tmp_path / name).write_bytes(body)
        codes = load_translation("customer", base.model_copy(update={"path": name}), tmp_path)
        return dict(zip(*codes.table.to_pydict().values(), strict=True))

    with monkeypatch.context() as m:  # the clean file never reaches the general reader
        m.setattr("uat.translate.read_table", lambda *a, **k: pytest.fail("general reader"))
        clean = load("u.csv", 'old,new\n C1 ,N1\nC2,"N,2"\nCé,Nö\nC1,N1\n'.encode())
    assert clean == {"C1": "N1", "C2": "N,2", "Cé": "Nö"}
    legacy = load("w.csv", "old;new\nC1;N1\nCé;Nö\n".encode("cp1252"))
    assert legacy == {"C1": "N1", "Cé": "Nö"}
    with pytest.raises(BillbridgeError, match=r"b\.csv, line 3: field 'new' is blank"):
        load("b.csv", b"old,new\nC1,N1\nC2,\nC3,N3\n")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    legacy: {path: a.csv}\n", "    legacy: {path: a.csv}\n    legacy: {path: c.csv}\n",
         "s.yaml:8: entities.0.legacy: duplicate key (first at line 7)"),
        ("{path: a.csv}", "{path: a.csv, path: c.csv}",
         "s.yaml:7: entities.0.legacy.path: duplicate key (first at line 7)"),
    ],
)  # fmt: skip
def test_a_key_given_twice_is_an_error_naming_its_line(old: str, new: str, expected: str) -> None:
    text = BASE.replace(old, new)
    assert text != BASE
    with pytest.raises(ConfigError) as info:
        parse_spec(text, "s.yaml")
    assert str(info.value) == expected


def test_an_unclosed_quote_names_the_line_it_opens_on() -> None:
    text = BASE.replace("min_pct: 99", 'min_pct: "99') + "\n".join(["# padding"] * 20) + "\n"
    with pytest.raises(ConfigError) as info:
        parse_spec(text, "s.yaml")
    assert str(info.value) == (
        "s.yaml:15: not valid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar, line 15)"
    )


SOURCES = """\
name: t
translations:
  customer: {path: x.csv}
entities:
  - name: customers
    kind: customer
    legacy: {path: a.csv}
    new:
      path: b.xlsx
      sheet: Export
      columns: {customer_id: id}
    translate: {customer_id: customer}
    fields: [name, status]
expectations:
  - {type: not_blank, entity: customers, field: name, side: new}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("legacy: {path: a.csv}", "legacy: {path: a2.csv}",
         "s.yaml:7: entities.0.legacy.path: file not found: "),
        ("{path: x.csv}", "{path: x2.csv}",
         "s.yaml:3: translations.customer.path: translation table 'customer': file not found"),
        ("{path: x.csv}", "{path: x.csv, old: alt}",
         "s.yaml:3: translations.customer.old: translation table 'customer' ("),
        ("{customer_id: id}", "{customer_id: ident}",
         "s.yaml:11: entities.0.new.columns.customer_id: new side ("),
        ("fields: [name, status]", "fields: [name, status, currency]",
         "s.yaml:7: entities.0.legacy: legacy side ("),
        ("sheet: Export", "sheet: Kunden", "s.yaml:10: entities.0.new.sheet: "),
        ("legacy: {path: a.csv}", "legacy: {connector: erp}",
         "s.yaml:7: entities.0.legacy.connector: no live source registered as 'erp'"),
        ("legacy: {path: a.csv}", "legacy: {path: a.csv, mapping: exports/legacy_customer}",
         "s.yaml:7: entities.0.legacy.mapping: no default mapping spec"),
        ("field: name, side: new", "field: tax_id, side: new",
         "s.yaml:15: expectations.0.field: new side ("),
    ],
)  # fmt: skip
def test_source_errors_name_the_spec_file_line_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    import xlsxwriter

    from tests.uat.conftest import NOW
    from uat.runner import run_uat

    (tmp_path / "x.csv").write_text("old,new\nC1,N1\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("customer_id,name,status\nC1,A,active\n", encoding="utf-8")
    book = xlsxwriter.Workbook(str(tmp_path / "b.xlsx"))
    sheet = book.add_worksheet("Export")
    for r, row in enumerate([["id", "name", "status"], ["N1", "A", "active"]]):
        sheet.write_row(r, 0, row)
    book.close()
    text = SOURCES.replace(old, new)
    assert text != SOURCES
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    spec, base = load_spec(tmp_path / "s.yaml")
    with pytest.raises(ConfigError) as info:
        run_uat(spec, base, now=NOW)
    message = str(info.value).replace(str(tmp_path / "s.yaml"), "s.yaml")
    assert message.startswith(expected), message
    assert "\n" not in message
    (score,) = run_uat(*load_spec(_write(tmp_path, SOURCES)), now=NOW).scores
    assert score.matched == 1  # the sources are right without the change


def _write(folder: Path, text: str) -> Path:
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    return folder / "s.yaml"
