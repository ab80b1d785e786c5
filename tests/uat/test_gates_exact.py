"""Cut-over gates decide on exact figures: a match rate is compared unrounded (20,000 of
20,001 keys is not 100 %), a value of only tabs is blank, and a quantity is not money
(a currency change moves no quantity)."""

from __future__ import annotations

from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec

CUSTOMERS = """\
name: rate
entities:
  - name: customers
    kind: customer
    fields: [name, tax_id]
    legacy: {path: leg.csv}
    new: {path: new.csv}
expectations:
  - {type: match_rate, entity: customers, min_pct: 100}
  - {type: match_rate, entity: customers, min_pct: "99.99"}
  - {type: not_blank, entity: customers, field: tax_id, side: new}
"""


def test_a_rate_shown_as_100_percent_fails_a_100_percent_gate(tmp_path: Path) -> None:
    head = "customer_id,name,tax_id\n"
    rows = "".join(f"C{i},Name {i},DE{i:09d}\n" for i in range(20_000))
    (tmp_path / "leg.csv").write_text(head + rows + "C-LAST,Last one,DE999999999\n")
    (tmp_path / "new.csv").write_text(head + rows)
    run = run_uat(parse_spec(CUSTOMERS), tmp_path, now=NOW)
    hundred, almost, _ = run.expectations
    assert (hundred.passed, almost.passed) == (False, True)
    assert hundred.evidence == "match rate 99.995% (20000 of 20001 keys)"
    assert almost.evidence == "match rate 100.00% (20000 of 20001 keys)"


def test_a_tax_id_of_only_tabs_or_no_break_spaces_is_blank(tmp_path: Path) -> None:
    head = "customer_id,name,tax_id\n"
    (tmp_path / "leg.csv").write_text(head + "C1,Alpha,DE1\nC2,Beta,DE2\nC3,Gamma,DE3\n")
    (tmp_path / "new.csv").write_text(head + 'C1,Alpha,DE1\nC2,Beta,"\t"\nC3,Gamma,"\xa0\t "\n')
    run = run_uat(parse_spec(CUSTOMERS), tmp_path, now=NOW)
    blank = run.expectations[2]
    assert (blank.passed, blank.failing) == (False, 2)
    assert blank.examples == ["customer_id=C2", "customer_id=C3"]


SUBSCRIPTIONS = """\
name: qty
entities:
  - name: subs
    kind: subscription
    legacy: {path: leg.csv}
    new: {path: new.csv}
expectations:
  - {type: amounts_match, entity: subs, field: quantity}
  - {type: ties, entity: subs, field: quantity}
  - {type: ties, entity: subs, field: quantity, by: [customer_id]}
  - {type: ties, entity: subs, field: unit_price, by: [customer_id]}
"""


def test_a_currency_change_moves_no_quantity(tmp_path: Path) -> None:
    head = "subscription_id,item_code,customer_id,status,currency,quantity,unit_price,start_date\n"
    (tmp_path / "leg.csv").write_text(
        head
        + "S1,SEAT,C1,Active,EUR,5,10.00,2024-01-01\nS2,SEAT,C1,Active,EUR,2,10.00,2024-01-01\n"
    )
    (tmp_path / "new.csv").write_text(
        head
        + "S1,SEAT,C1,Active,USD,5,10.00,2024-01-01\nS2,SEAT,C1,Active,EUR,3,10.00,2024-01-01\n"
    )
    run = run_uat(parse_spec(SUBSCRIPTIONS), tmp_path, now=NOW)
    match, per_key, per_customer, price = run.expectations
    # S1's quantity did not change (only its currency): S2's +1 is the only quantity gap
    assert (match.passed, match.examples) == (False, ["subscription_id=S2, item_code=SEAT"])
    assert per_key.examples == ["subscription_id=S2, item_code=SEAT (delta 1)"]
    assert per_customer.examples == ["customer_id=C1 (delta 1)"]
    # money still never adds across currencies: the price moved from EUR to USD
    assert price.examples == [
        "customer_id=C1, currency=EUR (delta -10.00)",
        "customer_id=C1, currency=USD (delta 10.00)",
    ]


def test_two_empty_extracts_pass_no_gate(tmp_path: Path) -> None:
    """Both exports cut to the wrong period or company code are empty and agree on
    nothing: every gate on them fails, saying nothing was checked."""
    head = "customer_id,name,tax_id\n"
    (tmp_path / "leg.csv").write_text(head)
    (tmp_path / "new.csv").write_text(head)
    run = run_uat(parse_spec(CUSTOMERS), tmp_path, now=NOW)
    assert [x.passed for x in run.expectations] == [False, False, False]
    assert {x.evidence for x in run.expectations} == {
        "neither system's extract has a record of customers: nothing was checked"
    }
