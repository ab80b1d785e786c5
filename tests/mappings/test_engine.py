from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from canonical import Contract, Money
from mappings import MappingError, apply_spec, apply_spec_rows, default_spec, spec_from_text
from tests.mappings.conftest import fixture_json

SPEC = """\
name: test/minimal
source: {system: legacy, object: Customer}
target: {entity: customer}
key: CustNo
fields:
  name:
    concat: [First, Last]
  currency:
    path: Ccy
    case: upper
  credit_limit:
    money:
      amount:
        path: Limit
        decimal_separator: ","
        thousands_separator: "."
      currency: Ccy
  status:
    path: Status
    map: {A: active, I: inactive}
  extra.region:
    path: Region
    default: none
"""


def _spec():
    return spec_from_text(SPEC, "minimal.yaml")


def test_opportunity_with_nested_lines_becomes_contract() -> None:
    spec = default_spec("salesforce/opportunity_to_contract")
    result = apply_spec(
        spec, fixture_json("vendor/salesforce_opportunity.json"), where="Opportunity 006"
    )
    contract = result.value
    assert isinstance(contract, Contract)
    assert contract.source_system == "salesforce"
    assert contract.source_id == "0065g00000AbCdEAAV"
    assert contract.currency == "EUR"
    assert contract.start_date == date(2024, 5, 1)
    assert contract.updated_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert [line.sku for line in contract.lines] == ["PLAT-ENT", "ONB-STD"]
    assert contract.lines[0].net_unit_price == Money("99.9", "EUR")
    # a line without ServiceDate falls back to the opportunity's start date (^ reads the parent)
    assert contract.lines[0].start_date == date(2024, 5, 1)
    assert contract.lines[1].end_date == date(2024, 5, 31)


def test_european_number_and_value_map_and_concat() -> None:
    result = apply_spec(
        _spec(),
        {
            "CustNo": "C-1",
            "First": " Ada ",
            "Last": "Lovelace",
            "Ccy": "eur",
            "Limit": "1.234,50",
            "Status": "A",
        },
    )
    customer = result.value
    assert customer.name == "Ada Lovelace"
    assert customer.credit_limit == Money("1234.50", "EUR")
    assert customer.status == "active"
    assert customer.extra == {"region": "none"}


def test_unmapped_value_is_a_record_error_naming_field_and_rule_line() -> None:
    with pytest.raises(MappingError) as info:
        apply_spec(
            _spec(),
            {"CustNo": "C-2", "First": "A", "Last": "B", "Ccy": "EUR", "Limit": "", "Status": "X"},
            where="customers.csv line 3",
        )
    err = info.value
    assert err.where == "customers.csv line 3"
    assert [i.target for i in err.issues] == ["status"]
    assert err.issues[0].location == "minimal.yaml:18:3"
    assert "'X' is not in the value map" in str(err)


LOOKUP_SPEC = """\
name: test/lookup
source: {system: salesforce, object: Account}
target: {entity: customer}
key: Id
crosswalks: {terms: terms.csv}
fields:
  name: Name
  payment_terms: {path: Terms, default: Net 30, lookup: {table: terms, key: sf, value: zuora}}
"""


def test_lookup_row_with_a_blank_value_is_a_record_error_like_a_miss(tmp_path: Path) -> None:
    (tmp_path / "terms.csv").write_text("sf,zuora\nNet 30,Net 30\nNet 60,\n")
    spec = spec_from_text(LOOKUP_SPEC, "lookup.yaml", base_dir=tmp_path)
    ok = apply_spec(spec, {"Id": "1", "Name": "A", "Terms": "Net 30"}).value
    assert getattr(ok, "payment_terms", None) == "Net 30"
    # optional field, with a default: the half-filled row still fails rather than send ""
    with pytest.raises(MappingError) as info:
        apply_spec(spec, {"Id": "2", "Name": "B", "Terms": "Net 60"})
    [issue] = info.value.issues
    assert issue.target == "payment_terms"
    assert issue.location == "lookup.yaml:8:3"
    assert issue.message == (
        "'Net 60' found in crosswalk 'terms' column 'sf', but its 'zuora' is blank"
    )


def test_required_field_left_blank_is_an_error_not_a_default() -> None:
    with pytest.raises(MappingError) as info:
        apply_spec(_spec(), {"CustNo": "C-3", "Ccy": "EUR", "Status": "A"})
    assert info.value.issues[0].target == "name"
    assert "required" in info.value.issues[0].message
    assert info.value.issues[0].location == "minimal.yaml:6:3"


def test_source_is_not_mutated() -> None:
    source = fixture_json("vendor/salesforce_opportunity.json")
    before = copy.deepcopy(source)
    apply_spec(default_spec("salesforce/opportunity_to_contract"), source)
    assert source == before


def test_money_never_goes_through_float() -> None:
    source = fixture_json("vendor/salesforce_opportunity.json")
    source["OpportunityLineItems"]["records"][0]["UnitPrice"] = 0.1
    contract = apply_spec(default_spec("salesforce/opportunity_to_contract"), source).value
    assert contract.lines[0].net_unit_price.amount == Decimal("0.1")


ROWS_SPEC = """\
name: test/rows
source: {system: crm, format: csv}
target: {entity: contract}
key: Opportunity ID
rows: {}
fields:
  customer_id: Account ID
  currency: Currency
  start_date: {path: Start Date, parse: date, format: "%m/%d/%Y"}
lines:
  fields:
    line_id: {concat: [Opportunity ID, Line], separator: "-"}
    sku: Product Code
    quantity: {path: Quantity, parse: decimal}
    net_unit_price: {money: {amount: Sales Price, currency: Currency}}
"""


def test_rows_are_grouped_into_records_with_lines() -> None:
    spec = spec_from_text(ROWS_SPEC, "rows.yaml")
    rows = [
        {
            "Opportunity ID": "O1",
            "Line": "1",
            "Account ID": "A1",
            "Currency": "USD",
            "Start Date": "05/01/2024",
            "Product Code": "P1",
            "Quantity": "2",
            "Sales Price": "10",
        },
        {
            "Opportunity ID": "O2",
            "Line": "1",
            "Account ID": "A2",
            "Currency": "USD",
            "Start Date": "06/01/2024",
            "Product Code": "P1",
            "Quantity": "1",
            "Sales Price": "bad",
        },
        {
            "Opportunity ID": "O1",
            "Line": "2",
            "Account ID": "A1",
            "Currency": "USD",
            "Start Date": "05/01/2024",
            "Product Code": "P2",
            "Quantity": "3",
            "Sales Price": "5",
        },
    ]
    results = apply_spec_rows(spec, rows, locations=["f.csv:2", "f.csv:3", "f.csv:4"])
    assert [r.source_id for r in results] == ["O1", "O2"]
    assert results[0].rows == (0, 2)
    assert [line.sku for line in results[0].value.lines] == ["P1", "P2"]
    assert results[1].value is None
    assert results[1].error is not None
    assert "f.csv:3" in str(results[1].error)
    assert "lines[0].net_unit_price" in str(results[1].error)
    assert "rows.yaml:15:5" in str(results[1].error)


ALT_SPEC = """\
name: test/alt
source: {system: s}
target: {entity: customer}
key: id
filter: {field: deleted, not_in: ["true"]}
fields:
  name:
    - path: nickname
      when: {field: prefer_nick, equals: true}
    - path: legal
  status:
    - const: closed
      when: {field: closed_on, present: true}
    - const: active
"""


def test_alternatives_take_the_first_applicable_non_blank_rule() -> None:
    spec = spec_from_text(ALT_SPEC, "alt.yaml")
    nick = apply_spec(spec, {"id": "1", "nickname": "Bob", "legal": "Robert", "prefer_nick": True})
    assert nick.value.name == "Bob"
    legal = apply_spec(spec, {"id": "1", "nickname": "", "legal": "Robert", "prefer_nick": True})
    assert legal.value.name == "Robert"  # blank nickname falls through
    assert legal.value.status == "active"
    closed = apply_spec(spec, {"id": "1", "legal": "R", "closed_on": "2024-01-01"})
    assert closed.value.status == "closed"
    assert [t.action for t in closed.trace if t.target == "status"] == ["constant"]


def test_filter_skips_records_and_says_where() -> None:
    spec = spec_from_text(ALT_SPEC, "alt.yaml")
    result = apply_spec(spec, {"id": "1", "legal": "R", "deleted": "true"})
    assert result.value is None
    assert result.error is None
    assert result.skipped == "filter at alt.yaml:5:1: deleted is 'true'; wanted none of ['true']"
    assert result.source_id == "1"  # so the preview names the skipped record


BOOL_FILTER_SPEC = """\
name: test/bool_filter
source: {system: salesforce, object: Account, format: csv}
target: {entity: customer}
key: Id
filter: {field: IsDeleted, equals: false}
fields:
  name:
    - path: Nick
      when: {field: UseNick, in: [true]}
    - path: Name
"""


@pytest.mark.parametrize("cell", ["false", "FALSE", "False", "0", " no ", "F"])
def test_a_boolean_filter_reads_excel_style_booleans_like_parse_boolean(cell: str) -> None:
    # a CSV re-saved in Excel writes FALSE; the filter used to compare text and skip the row
    spec = spec_from_text(BOOL_FILTER_SPEC, "bool.yaml")
    result = apply_spec(spec, {"Id": "1", "Name": "Acme", "IsDeleted": cell})
    assert result.skipped is None
    assert getattr(result.value, "name", None) == "Acme"


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("TRUE", "IsDeleted is 'TRUE'; wanted false"),
        ("1", "IsDeleted is '1'; wanted false"),
        ("", "IsDeleted is blank; wanted false"),
        ("maybe", "IsDeleted is 'maybe' (not a true/false value); wanted false"),
    ],
)
def test_a_boolean_filter_says_why_it_skipped_a_row(cell: str, why: str) -> None:
    spec = spec_from_text(BOOL_FILTER_SPEC, "bool.yaml")
    result = apply_spec(spec, {"Id": "1", "Name": "Acme", "IsDeleted": cell})
    assert result.value is None
    assert result.skipped == f"filter at bool.yaml:5:1: {why}"


def test_a_boolean_when_reads_booleans_and_the_trace_says_why_it_did_not_hold() -> None:
    spec = spec_from_text(BOOL_FILTER_SPEC, "bool.yaml")
    row = {"Id": "1", "Name": "Acme", "Nick": "AC", "IsDeleted": "0"}
    assert getattr(apply_spec(spec, {**row, "UseNick": "1"}).value, "name", None) == "AC"
    result = apply_spec(spec, {**row, "UseNick": "No"})
    assert getattr(result.value, "name", None) == "Acme"
    assert result.trace[0].action == "skipped (when not met: UseNick is 'No'; wanted one of [true])"


def test_quoted_text_in_a_condition_still_compares_as_text() -> None:
    spec = spec_from_text(BOOL_FILTER_SPEC.replace("equals: false", 'equals: "false"'), "b.yaml")
    assert apply_spec(spec, {"Id": "1", "Name": "A", "IsDeleted": "false"}).skipped is None
    assert apply_spec(spec, {"Id": "1", "Name": "A", "IsDeleted": "0"}).skipped is not None


def test_failing_alternative_is_an_error_not_a_fall_through() -> None:
    spec = spec_from_text(
        "name: t\nsource: {system: s}\ntarget: {entity: customer}\nkey: id\nfields:\n"
        "  name: legal\n  credit_limit:\n"
        "    - money: {amount: limit, currency: ccy}\n"
        "    - money: {amount: {const: 0}, currency: {const: USD}}\n",
        "t.yaml",
    )
    with pytest.raises(MappingError) as info:
        apply_spec(spec, {"id": "1", "legal": "R", "limit": "12x", "ccy": "USD"})
    assert info.value.issues[0].location == "t.yaml:8:7"


GROUP_SPEC = """\
name: test/group
source: {system: s, format: csv}
target: {entity: contract}
key: No
rows: {vary: [term_months]}
fields:
  customer_id: Customer
  currency: Ccy
  start_date: {min: Start, parse: date, format: "%Y-%m-%d"}
  end_date: {max: End, parse: date, format: "%Y-%m-%d"}
  term_months: {path: Term, parse: integer}
lines:
  fields:
    line_id: $index
    sku: Sku
    quantity: {const: 1}
    net_unit_price: {money: {amount: {const: 1}, currency: Ccy}}
"""


def _row(**kw: str) -> dict[str, str]:
    base = {
        "No": "C1",
        "Customer": "A",
        "Ccy": "USD",
        "Start": "2024-05-01",
        "End": "2025-04-30",
        "Term": "12",
        "Sku": "X",
    }
    return {**base, **kw}


def test_min_and_max_combine_row_values() -> None:
    spec = spec_from_text(GROUP_SPEC, "g.yaml")
    rows = [_row(End="2024-05-31"), _row(Start="2024-06-01"), _row(Term="24")]
    (result,) = apply_spec_rows(spec, rows)
    assert result.value.start_date == date(2024, 5, 1)
    assert result.value.end_date == date(2025, 4, 30)
    assert result.value.term_months == 12  # listed under rows.vary: the first row wins
    assert [line.line_id for line in result.value.lines] == ["1", "2", "3"]


def test_rows_of_one_record_that_disagree_on_a_header_field_are_an_error() -> None:
    spec = spec_from_text(GROUP_SPEC, "g.yaml")
    (result,) = apply_spec_rows(spec, [_row(), _row(Ccy="EUR")], locations=["f:2", "f:3"])
    assert result.value is None
    assert str(result.error) == (
        "f:2: currency: rows disagree on 'Ccy': 'USD' vs 'EUR' (list the field under "
        "rows.vary to take the first row) (rule at g.yaml:8:3)"
    )


def test_blank_required_line_field_names_the_line_and_its_rule() -> None:
    source = fixture_json("vendor/salesforce_opportunity.json")
    source["OpportunityLineItems"]["records"][1]["Quantity"] = None
    with pytest.raises(MappingError) as info:
        apply_spec(default_spec("salesforce/opportunity_to_contract"), source)
    (issue,) = info.value.issues
    assert issue.target == "lines[1].quantity"
    assert issue.location.endswith("salesforce/opportunity_to_contract.yaml:77:5")
    assert "required" in issue.message


def test_lookups_in_a_large_crosswalk_find_trimmed_keys_misses_and_repeats(
    tmp_path: Path,
) -> None:
    """Lookups are answered from an index of the table (built once), with the scan's
    meaning: padded cells match, a key on two rows is refused, a missing key is a miss."""
    rows = [f"Net {i},Z-{i}" for i in range(20_000)] + [" Padded ,Z-pad", "Twice,A", "Twice,B"]
    (tmp_path / "terms.csv").write_text("sf,zuora\n" + "\n".join(rows) + "\n")
    spec = spec_from_text(LOOKUP_SPEC, "lookup.yaml", base_dir=tmp_path)
    for i in (0, 12_345, 19_999):
        record = apply_spec(spec, {"Id": str(i), "Name": "A", "Terms": f"Net {i}"}).value
        assert getattr(record, "payment_terms", None) == f"Z-{i}"
    padded = apply_spec(spec, {"Id": "p", "Name": "A", "Terms": "Padded"}).value
    assert getattr(padded, "payment_terms", None) == "Z-pad"
    with pytest.raises(MappingError, match="'Twice' matches 2 rows in crosswalk 'terms'"):
        apply_spec(spec, {"Id": "t", "Name": "A", "Terms": "Twice"})
    with pytest.raises(MappingError, match="'Net 20000' not found in crosswalk 'terms'"):
        apply_spec(spec, {"Id": "m", "Name": "A", "Terms": "Net 20000"})


def test_one_cause_failing_several_fields_is_told_once(tmp_path: Path) -> None:
    """An unknown code failing every field that looks it up is one clause naming the
    fields and their rules, not a copy of the same message per field."""
    spec_text = LOOKUP_SPEC.replace(
        "  name: Name\n",
        "  name: Name\n  currency: {path: Terms, lookup: {table: terms, key: sf, value: zuora}}\n",
    )
    (tmp_path / "terms.csv").write_text("sf,zuora\nNet 30,Net 30\n")
    spec = spec_from_text(spec_text, "lookup.yaml", base_dir=tmp_path)
    with pytest.raises(MappingError) as info:
        apply_spec(spec, {"Id": "1", "Name": "A", "Terms": "Net 45"}, where="t.csv line 2")
    assert len(info.value.issues) == 2
    assert str(info.value) == (
        "t.csv line 2: currency, payment_terms: 'Net 45' not found in crosswalk 'terms' column "
        "'sf' (rules at lookup.yaml:8:3, lookup.yaml:9:3)"
    )
