"""Property tests: applying a spec is pure and deterministic, maps invert, failures surface."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import spec_from_text, try_apply_spec
from mappings.transforms import parse_decimal

SPEC = spec_from_text(
    """\
name: p/customer
source: {system: s}
target: {entity: customer}
key: id
fields:
  name: {concat: [first, last], collapse_whitespace: true}
  currency: {path: ccy, case: upper, default: EUR}
  credit_limit:
    money: {amount: {path: limit, thousands_separator: ","}, currency: {path: ccy, default: EUR}}
  status: {path: st, map: {A: active, I: inactive}, map_default: prospect}
  extra.since: {path: since, parse: date, format: "%d.%m.%Y"}
  bill_to.address.city: address.city
""",
    "p.yaml",
)

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
sources = st.fixed_dictionaries(
    {
        "id": st.text(alphabet="ABC123", min_size=1, max_size=6),
        "first": text,
        "last": text,
        "ccy": st.sampled_from(["usd", "EUR", "", None, "XXQ"]),
        "limit": st.one_of(
            st.none(),
            st.decimals(
                allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-(10**9)
            ),
            text,
        ),
        "st": st.one_of(st.none(), st.sampled_from(["A", "I", "Z"])),
        "since": st.one_of(st.none(), st.dates().map(lambda d: d.strftime("%d.%m.%Y")), text),
        "address": st.one_of(st.none(), st.fixed_dictionaries({"city": text})),
    }
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(sources)
def test_apply_is_deterministic_and_does_not_mutate_its_input(source: dict) -> None:
    before = copy.deepcopy(source)
    first = try_apply_spec(SPEC, source)
    second = try_apply_spec(SPEC, source)
    assert source == before
    assert first.value == second.value
    assert str(first.error) == str(second.error)
    assert first.trace == second.trace
    assert (first.value is None) == (first.error is not None)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcdefXYZ _-", min_size=1, max_size=8).map(str.strip).filter(bool),
        st.text(alphabet="klmnopQRS", min_size=1, max_size=8),
        min_size=1,
        max_size=8,
    ).filter(lambda m: len(set(m.values())) == len(m)),
    st.data(),
)
def test_a_bijective_value_map_round_trips(mapping: dict[str, str], data: st.DataObject) -> None:
    def spec(table: dict[str, str], name: str):
        entries = "".join(f"      {k!r}: {v!r}\n" for k, v in table.items())
        return spec_from_text(
            f"name: {name}\nsource: {{system: s}}\ntarget: {{entity: customer}}\nkey: id\n"
            f"fields:\n  name:\n    path: v\n    map:\n{entries}",
            f"{name}.yaml",
        )

    forward = spec(mapping, "fwd")
    inverse = spec({v: k for k, v in mapping.items()}, "inv")
    original = data.draw(st.sampled_from(sorted(mapping)))
    there = try_apply_spec(forward, {"id": "1", "v": original}).value
    back = try_apply_spec(inverse, {"id": "1", "v": there.name}).value
    assert back.name == original


DATE_SPEC = spec_from_text(
    "name: d\nsource: {system: s}\ntarget: {entity: payment}\nkey: id\nfields:\n"
    "  number: id\n  currency: {const: USD}\n"
    "  amount: {money: {amount: {const: 1}, currency: {const: USD}}}\n"
    "  received_date: {path: d, parse: date, format: '%Y-%m-%d', default: '2000-01-01'}\n",
    "d.yaml",
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=12).filter(lambda t: t.strip() != ""))
def test_an_unparseable_date_is_a_record_error_never_a_default(value: str) -> None:
    try:
        date.fromisoformat(value.strip())
        parseable = True
    except ValueError:
        parseable = False
    result = try_apply_spec(DATE_SPEC, {"id": "P1", "d": value})
    if parseable and len(value.strip()) == 10:
        assert result.error is None
    else:
        assert result.value is None
        assert result.error is not None
        assert result.error.issues[0].target == "received_date"
        assert result.error.issues[0].location == "d.yaml:9:3"


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**12), max_value=10**12
    )
)
def test_decimal_parsing_with_explicit_separators_is_exact(amount: Decimal) -> None:
    us = f"{amount:,.2f}"
    european = us.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_decimal(us, thousands_sep=",") == amount
    assert parse_decimal(european, decimal_sep=",", thousands_sep=".") == amount
    assert parse_decimal(float(amount)) == Decimal(repr(float(amount)))
