"""The mappings commands, through Typer's test runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappings import cli
from mappings.registry import SPECS_DIR

FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(cli.app, list(args))


def test_validate_shipped_specs_passes() -> None:
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "name: a\nsource: {system: s}\ntarget: {entity: customer}\nkey: Id\nfields:\n  nmae: Name\n"
    )
    (tmp_path / "b.yaml").write_text("name: b\nsource: {system: s}\ntarget: {entity: x}\n")
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1
    out = result.output
    assert (
        "a.yaml:6:3: nmae: unknown target field 'nmae' for Customer (did you mean 'name'?)" in out
    )
    assert "a.yaml:5:1: name: required field 'name' of Customer has no rule" in out
    assert "b.yaml:1:1: key: Field required" in out
    assert "2 spec(s) checked, 4 problem(s)" in out


def test_validate_with_source_fields_from_a_sample_header(tmp_path: Path) -> None:
    spec = SPECS_DIR / "exports" / "bank_statement.yaml"
    sample = tmp_path / "s.csv"
    sample.write_text("Account Number,Booking Date,Amount,Currency,Bank Ref\n")
    result = invoke("validate", str(spec), "--fields", str(sample))
    assert result.exit_code == 1
    assert "unknown source field 'Bank Reference' (did you mean 'Bank Ref'?)" in result.output


def test_preview_shows_source_result_and_rules() -> None:
    result = invoke(
        "preview",
        str(SPECS_DIR / "exports" / "netsuite_invoices.yaml"),
        "--input",
        str(FIX / "exports" / "netsuite_invoices.csv"),
        "--limit",
        "1",
    )
    assert result.exit_code == 0, result.output
    assert "OK  netsuite_invoices.csv: line 2  id=8938" in result.output
    assert "7222.50 USD" in result.output  # total, Money shown with its scale
    assert "map 'Open' -> 'posted'" in result.output
    assert "1 record(s): 1 mapped or skipped, 0 failed" in result.output


def test_preview_lists_failing_records_with_why(tmp_path: Path) -> None:
    sample = tmp_path / "bank.csv"
    sample.write_text(
        "Account Number,Booking Date,Value Date,Amount,Currency,Description,Counterparty Name,"
        "Counterparty Account,Reference,Bank Reference,Transaction Type\n"
        "A1,2024-05-20,,10.00,USD,,,,,R1,X\nA1,20/05/2024,,10.00,USD,,,,,R2,X\n"
    )
    result = invoke(
        "preview", str(SPECS_DIR / "exports" / "bank_statement.yaml"), "--input", str(sample)
    )
    assert result.exit_code == 1
    assert "FAILED  bank.csv: line 3" in result.output
    assert "'20/05/2024' does not match date format %Y-%m-%d" in result.output
    assert "2 record(s): 1 mapped or skipped, 1 failed" in result.output


def test_preview_live_needs_a_provider_then_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = str(SPECS_DIR / "salesforce" / "product2_to_product.yaml")
    monkeypatch.setattr(cli, "_live_provider", None)  # importing the main app wires one
    result = invoke("preview", spec, "--live", "sf")
    assert result.exit_code == 2
    assert result.output.startswith("error: live preview is not available")
    sample = json.loads((FIX / "vendor" / "salesforce_product2.json").read_text())
    calls = []

    def provider(connection, spec, limit):
        calls.append((connection, spec.name, limit))
        return [sample]

    cli.set_live_provider(provider)
    try:
        result = invoke("preview", spec, "--live", "sf", "--limit", "3")
    finally:
        cli.set_live_provider(None)  # monkeypatch puts back the one found at the start
    assert result.exit_code == 0, result.output
    assert calls == [("sf", "salesforce/product2_to_product", 3)]
    assert "PLAT-ENT" in result.output


def test_diff_shows_changed_fields_before_and_after(tmp_path: Path) -> None:
    old = SPECS_DIR / "exports" / "bank_statement.yaml"
    new = tmp_path / "bank_statement.yaml"
    text = old.read_text().replace(
        "  counterparty_name: Counterparty Name\n",
        "  counterparty_name:\n    path: Counterparty Name\n    case: upper\n",
    )
    new.write_text(text)
    result = invoke(
        "diff", str(old), str(new), "--input", str(FIX / "exports" / "bank_statement.csv")
    )
    assert result.exit_code == 0, result.output
    assert "DE89370400440532013000-BR24052000001" in result.output
    assert "counterparty_name" in result.output
    assert "Acme Corp" in result.output and "ACME CORP" in result.output
    assert "1 of 2 record(s) change" in result.output


def test_schema_is_json_schema_allowing_the_path_shorthand(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert invoke("schema", "-o", str(out)).exit_code == 0
    schema = json.loads(out.read_text())
    fields = schema["properties"]["fields"]["additionalProperties"]
    first = fields["oneOf"][0]
    assert {"type": "string", "description": "shorthand for {path: ...}"} in first["anyOf"]
    assert "when" in schema["$defs"]["Rule"]["properties"]
    assert "in" in schema["$defs"]["Predicate"]["properties"]


def test_schema_validates_the_shipped_specs() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from mappings.loader import parse_yaml
    from mappings.schema import spec_json_schema

    validator = jsonschema.Draft202012Validator(spec_json_schema())
    for path in sorted(SPECS_DIR.rglob("*.yaml")):
        data, _ = parse_yaml(path.read_text(), str(path))
        validator.validate(json.loads(json.dumps(data, default=str)))


def test_recipe_in_docs_adds_a_custom_field(tmp_path: Path, monkeypatch) -> None:
    """Do exactly what docs/mappings.md tells an analyst to do, then preview via the CLI."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mappings.md").read_text()
    recipe = doc.split("## Recipe: add a custom field")[1].split("\n## ")[0]
    inbound_line = "  extra.billing_entity: Billing_Entity__c"
    outbound_line = "  BillingEntity__c: extra.billing_entity"
    assert inbound_line in recipe and outbound_line in recipe
    monkeypatch.chdir(tmp_path)
    # step 1: copy the two specs
    target = tmp_path / "config" / "mappings"
    target.mkdir(parents=True)
    shutil.copy(SPECS_DIR / "salesforce" / "account_to_customer.yaml", target)
    shutil.copy(SPECS_DIR / "canonical" / "customer_to_zuora_account.yaml", target)
    inbound = target / "account_to_customer.yaml"
    outbound = target / "customer_to_zuora_account.yaml"
    account = FIX / "vendor" / "salesforce_account.json"
    before = invoke("preview", str(inbound), "--input", str(account), "--then", str(outbound))
    assert before.exit_code == 0, before.output
    assert "BillingEntity__c" not in before.output
    # steps 2 and 3: add one line under `fields:` (the last section) of each spec
    for path, line in ((inbound, inbound_line), (outbound, outbound_line)):
        text = path.read_text()
        assert text.rstrip().splitlines()[-1].startswith("  "), "fields is the last section"
        path.write_text(text.rstrip("\n") + "\n" + line + "\n")
    # step 4: validate
    result = invoke("validate", "config/mappings")
    assert result.exit_code == 0, result.output
    # step 5: preview through to the Zuora body
    after = invoke(
        "preview",
        "config/mappings/account_to_customer.yaml",
        "--input",
        str(account),
        "--then",
        "config/mappings/customer_to_zuora_account.yaml",
    )
    assert after.exit_code == 0, after.output
    assert "extra.billing_entity" in after.output
    assert "BillingEntity__c" in after.output
    assert after.output.count("US-01") >= 2  # on the customer and on the Zuora body


def test_docs_default_spec_reference_is_up_to_date() -> None:
    from mappings.docgen import BEGIN, END, generate

    doc = (Path(__file__).resolve().parents[2] / "docs" / "mappings.md").read_text()
    current = doc[doc.index(BEGIN) : doc.index(END) + len(END)]
    assert current == generate(), "run: python -m mappings.docgen docs/mappings.md"


def test_validate_with_connector_field_infos_as_json(tmp_path: Path) -> None:
    fields = tmp_path / "account_fields.json"
    fields.write_text(
        json.dumps(
            [
                {"name": n, "type": "string"}
                for n in ("Id", "Name", "Type", "Phone", "BillingAddress")
            ]
            + [{"name": "ParentId", "type": "reference", "reference_to": "Account"}]
        )
    )
    result = invoke(
        "validate",
        str(SPECS_DIR / "salesforce" / "account_to_customer.yaml"),
        "--fields",
        str(fields),
    )
    assert result.exit_code == 1
    assert "unknown source field 'Billing_Email__c'" in result.output
    assert "unknown source field 'ParentId'" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["preview", "{spec}", "--input", "{tmp}/nope.json"], "--input {tmp}/nope.json"),
        (["preview", "{spec}", "--input", "{tmp}/nope.csv"], "--input {tmp}/nope.csv"),
        (["diff", "{spec}", "{spec}", "--input", "{tmp}/nope.json"], "--input {tmp}/nope.json"),
        (["validate", "{spec}", "--fields", "{tmp}/nope.csv"], "--fields {tmp}/nope.csv"),
    ],
)
def test_a_missing_input_file_is_one_line_naming_it_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    spec = str(SPECS_DIR / "salesforce" / "product2_to_product.yaml")
    result = invoke(*(a.format(spec=spec, tmp=tmp_path) for a in args))
    assert result.exit_code == 2
    expected = message.format(tmp=tmp_path)
    assert result.output == f"error: {expected}: cannot read: No such file or directory\n"


def test_a_missing_spec_is_an_input_error_not_a_problem_found(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path / 'nope.yaml'}: no such spec file or folder\n"
    result = invoke("preview", str(tmp_path / "nope.yaml"), "--input", "x.json")
    assert result.exit_code == 2
    assert "nope.yaml: cannot read mapping spec" in result.output
