"""Each kind of validation problem: located at file:line:column, with a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.base import FieldInfo
from mappings import SpecLoadError, spec_from_text
from mappings.validate import validate_spec

HEAD = """\
name: t/contract
source: {system: salesforce, object: Opportunity}
target: {entity: contract}
key: Id
fields:
  customer_id: AccountId
  currency: CurrencyIsoCode
  start_date: {path: CloseDate, parse: date, format: "%Y-%m-%d"}
"""
FIELDS = [
    FieldInfo(name=n, type="string")
    for n in ("Id", "AccountId", "CurrencyIsoCode", "CloseDate", "StageName", "Amount", "Items")
]


def problems(extra: str, *, head: str = HEAD, fields=FIELDS) -> list[str]:
    spec = spec_from_text(head + extra, "spec.yaml")
    return [str(p) for p in validate_spec(spec, source_fields=fields)]


def test_a_clean_spec_has_no_problems() -> None:
    assert problems("") == []


def test_unknown_source_field_suggests_the_closest_name() -> None:
    assert problems("  number: StageNme\n") == [
        "spec.yaml:9:3: number: unknown source field 'StageNme' (did you mean 'StageName'?)"
    ]


def test_unknown_source_field_checked_against_a_file_header() -> None:
    spec = spec_from_text(HEAD + "  number: {path: Stage}\n", "spec.yaml")
    found = [str(p) for p in validate_spec(spec, source_fields=["Id", "Stage Name"])]
    assert (
        "spec.yaml:9:12: number: unknown source field 'Stage' (did you mean 'Stage Name'?)" in found
    )


def test_unknown_target_field_suggests_the_closest_name() -> None:
    assert problems("  term_month: Amount\n") == [
        "spec.yaml:9:3: term_month: unknown target field 'term_month' for Contract "
        "(did you mean 'term_months'?)"
    ]


def test_unknown_nested_target_field() -> None:
    head = HEAD.replace("entity: contract", "entity: customer").replace(
        "  customer_id: AccountId\n  currency: CurrencyIsoCode\n"
        '  start_date: {path: CloseDate, parse: date, format: "%Y-%m-%d"}\n',
        "  name: AccountId\n",
    )
    assert problems("  bill_to.adress.city: StageName\n", head=head) == [
        "spec.yaml:7:3: bill_to.adress.city: unknown target field 'bill_to.adress.city' for "
        "Customer (did you mean 'bill_to.address'?)"
    ]


def test_date_format_on_a_number_field_is_a_type_mismatch() -> None:
    assert problems('  term_months: {path: Amount, parse: date, format: "%Y"}\n') == [
        "spec.yaml:9:31: term_months: 'parse: date' cannot feed a integer field"
    ]


def test_money_field_without_money_rule() -> None:
    head = HEAD.replace("entity: contract", "entity: payment").replace(
        "  customer_id: AccountId\n  currency: CurrencyIsoCode\n"
        '  start_date: {path: CloseDate, parse: date, format: "%Y-%m-%d"}\n',
        "  number: Id\n  currency: CurrencyIsoCode\n"
        '  received_date: {path: CloseDate, parse: date, format: "%Y-%m-%d"}\n',
    )
    assert problems("  amount: Amount\n", head=head) == [
        "spec.yaml:9:3: amount: a Money field needs a 'money' rule with amount and currency"
    ]


def test_enum_value_in_map_that_the_target_refuses() -> None:
    found = problems("  status: {path: StageName, map: {Won: activ}, map_default: draft}\n")
    assert len(found) == 1
    assert found[0].startswith("spec.yaml:9:35: status: value 'activ' does not fit the target")
    assert "(did you mean 'activated'?)" in found[0]


def test_required_target_field_left_unmapped() -> None:
    head = HEAD.replace("  currency: CurrencyIsoCode\n", "")
    assert problems("", head=head) == [
        "spec.yaml:5:1: currency: required field 'currency' of Contract has no rule"
    ]


def test_required_line_field_left_unmapped() -> None:
    extra = "lines:\n  from: Items.records\n  fields:\n    line_id: Id\n    sku: Code\n"
    assert problems(extra) == [
        "spec.yaml:11:3: lines.quantity: required field 'quantity' of ContractLine has no rule",
        "spec.yaml:11:3: lines.net_unit_price: required field 'net_unit_price' of ContractLine "
        "has no rule",
    ]


def test_when_on_a_constant_can_never_vary() -> None:
    assert problems("  auto_renew: {const: true, when: {equals: true}}\n") == [
        "spec.yaml:9:29: auto_renew: 'when' on a constant tests nothing that varies: "
        "give it a 'field'"
    ]


def test_default_on_a_constant_is_never_used() -> None:
    assert problems("  auto_renew: {const: true, default: false}\n") == [
        "spec.yaml:9:29: auto_renew: a constant is never blank: 'default' is unused"
    ]


def test_value_map_key_unreachable_after_case_normalisation() -> None:
    extra = "  number:\n    path: StageName\n    case: upper\n    map: {WON: W, Lost: L}\n"
    assert problems(extra) == [
        "spec.yaml:12:19: number: value map key 'Lost' can never match: values are normalised "
        "first (case: upper, strip: True)"
    ]


def test_caret_path_outside_lines_never_resolves() -> None:
    assert problems("  number: ^Id\n") == [
        "spec.yaml:9:3: number: '^Id' reads an enclosing item, but this rule has none"
    ]


def test_lookup_against_undeclared_table() -> None:
    extra = "  number: {path: Id, lookup: {table: skus, key: a, value: b}}\n"
    assert problems(extra) == [
        "spec.yaml:9:31: number: crosswalk 'skus' is not declared under 'crosswalks'"
    ]


def test_blank_value_in_a_crosswalk_row_is_reported_at_its_csv_line(tmp_path: Path) -> None:
    (tmp_path / "skus.csv").write_text("sku,id\nA,1\nB,\nC,  \n,\n")
    head = HEAD.replace("fields:\n", "crosswalks: {skus: skus.csv}\nfields:\n")
    spec = spec_from_text(
        head + "  number: {path: Id, lookup: {table: skus, key: sku, value: id}}\n",
        str(tmp_path / "spec.yaml"),
        base_dir=tmp_path,
    )
    found = [str(p) for p in validate_spec(spec)]
    rule_at = f"{tmp_path / 'spec.yaml'}:10:22"
    assert found == [
        f"{tmp_path / 'skus.csv'}:{line}: number: crosswalk 'skus' row {key!r} has a blank "
        f"'id': records with that value will fail (lookup at {rule_at})"
        for line, key in ((3, "B"), (4, "C"))
    ]


def test_unknown_entity_suggests() -> None:
    head = HEAD.replace("entity: contract", "entity: contracts")
    assert problems("", head=head) == [
        "spec.yaml:3:10: target: unknown canonical entity 'contracts' (did you mean 'contract'?)"
    ]


def test_structural_errors_are_reported_all_at_once_with_positions() -> None:
    text = HEAD + "  number: {path: Id, const: x}\n  term_months: {path: Amount, parse: int}\n"
    with pytest.raises(SpecLoadError) as info:
        spec_from_text(text, "spec.yaml")
    found = info.value.problems
    assert len(found) == 2
    assert found[0].startswith("spec.yaml:9:3: fields.number: Value error, a rule needs exactly")
    assert found[1].startswith("spec.yaml:10:31: fields.term_months.parse: Input should be")


def test_duplicate_keys_are_refused_at_the_second_occurrence() -> None:
    # PyYAML keeps the last one silently: the deal would map to USD / draft
    text = HEAD + (
        "  status: {path: StageName, map: {Closed Won: activated, Closed Won: draft}}\n"
        "  currency: {const: USD}\n"
    )
    with pytest.raises(SpecLoadError) as info:
        spec_from_text(text, "spec.yaml")
    assert info.value.problems == [
        "spec.yaml:9:58: fields.status.map.Closed Won: duplicate key 'Closed Won' "
        "(first at line 9)",
        "spec.yaml:10:3: fields.currency: duplicate key 'currency' (first at line 7)",
    ]


def test_merge_keys_may_still_be_overridden() -> None:
    text = HEAD.replace(
        '  start_date: {path: CloseDate, parse: date, format: "%Y-%m-%d"}\n',
        '  start_date: &d {path: CloseDate, parse: date, format: "%Y-%m-%d"}\n'
        "  end_date: {<<: *d, path: EndDate}\n",
    )
    spec = spec_from_text(text, "spec.yaml")
    assert spec.fields["end_date"].path == "EndDate"  # type: ignore[union-attr]


def test_yaml_syntax_error_names_line_and_column() -> None:
    with pytest.raises(SpecLoadError) as info:
        spec_from_text("name: x\nfields: {a: [\n", "bad.yaml")
    assert info.value.problems[0].startswith("bad.yaml:3:1: not valid YAML")


def test_unknown_payload_field_is_reported_with_suggestion() -> None:
    text = (
        "name: o\nsource: {system: canonical, format: canonical}\n"
        "target: {payload: zuora/order, system: zuora}\nkey: source_id\nfields:\n"
        "  orderDate: start_date\n  existingAccountNumber: crosswalk.zuora\n"
        "  subscriptions.0.orderActions.0.typ: {const: CreateSubscription}\n"
        "  subscriptions.0.orderActions.0.triggerDates.0.name: {const: ContractEfective}\n"
        "  BillingEntity__c: extra.x\n"
    )
    found = [str(p) for p in validate_spec(spec_from_text(text, "o.yaml"))]
    assert found[0] == (
        "o.yaml:8:3: subscriptions.0.orderActions.0.typ: unknown target field "
        "'subscriptions.0.orderActions.0.typ' for ZuoraOrder "
        "(did you mean 'subscriptions.0.orderActions.0.type'?)"
    )
    assert found[1].startswith(
        "o.yaml:9:56: subscriptions.0.orderActions.0.triggerDates.0.name: value "
        "'ContractEfective' does not fit the target"
    )
    # ZuoraOrder takes no top-level custom fields (only accounts do)
    assert found[2].startswith("o.yaml:10:3: BillingEntity__c: unknown target field")
    assert len(found) == 3


def test_rows_vary_must_name_a_field() -> None:
    head = HEAD.replace("key: Id\n", "key: Id\nrows: {vary: [curency]}\n")
    assert problems("", head=head) == [
        "spec.yaml:5:15: rows.vary: 'curency' is not a field of this spec "
        "(did you mean 'currency'?)"
    ]


def test_connector_fields_allow_relationship_paths_of_reference_fields() -> None:
    fields = [
        FieldInfo(name="Id", type="id"),
        FieldInfo(name="AccountId", type="reference", reference_to="Account"),
        FieldInfo(name="Billing_Entity__c", type="reference", reference_to="Entity__c"),
        FieldInfo(name="CurrencyIsoCode", type="picklist"),
        FieldInfo(name="CloseDate", type="date"),
    ]
    extra = (
        "  number: Account.Name\n  extra.entity: Billing_Entity__r.Name\n  extra.x: Acount.Name\n"
    )
    assert problems(extra, fields=fields) == [
        "spec.yaml:11:3: extra.x: unknown source field 'Acount' (did you mean 'Account'?)"
    ]
