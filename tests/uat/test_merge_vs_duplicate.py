"""A key repeated after translation is ``merged_by_translation`` only when its legacy rows
carry different legacy codes the table merges; the same legacy code booked twice is a
plain duplicate, even when the table merges that code with another one elsewhere."""

from __future__ import annotations

from pathlib import Path

from tests.uat.conftest import NOW
from uat.rootcause import Cause
from uat.runner import run_uat
from uat.spec import parse_spec

HEAD = "subscription_id,item_code,customer_id,status,currency,quantity,unit_price,start_date\n"
SPEC = """\
name: s6
translations:
  item: {path: items.csv}
entities:
  - name: subs
    kind: subscription
    legacy: {path: leg.csv}
    new: {path: new.csv}
    translate: {item_code: item}
expectations:
  - {type: no_exceptions, entity: subs, root_cause: duplicate}
"""


def test_a_double_booking_of_one_legacy_code_is_a_duplicate_not_a_merge(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("old,new\nA-100,SKU-PRO\nA-101,SKU-PRO\n")
    (tmp_path / "leg.csv").write_text(
        HEAD + "ABO-1,A-100,C-1,active,EUR,1,50.00,2024-01-01\n"
        "ABO-1,A-100,C-1,active,EUR,1,50.00,2024-01-01\n"
        "ABO-2,A-101,C-2,active,EUR,1,50.00,2024-01-01\n"
        "ABO-3,A-100,C-3,active,EUR,1,50.00,2024-01-01\n"
        "ABO-4,A-100,C-4,active,EUR,1,50.00,2024-01-01\n"
        "ABO-4,A-101,C-4,active,EUR,2,50.00,2024-01-01\n"
        # the same code in another case is the same legacy code: a double booking too
        "ABO-5,A-100,C-5,active,EUR,1,50.00,2024-01-01\n"
        "ABO-5, a-100,C-5,active,EUR,1,50.00,2024-01-01\n"
    )
    (tmp_path / "new.csv").write_text(
        HEAD + "ABO-1,SKU-PRO,C-1,active,EUR,1,50.00,2024-01-01\n"
        "ABO-2,SKU-PRO,C-2,active,EUR,1,50.00,2024-01-01\n"
        "ABO-3,SKU-PRO,C-3,active,EUR,1,50.00,2024-01-01\n"
        "ABO-4,SKU-PRO,C-4,active,EUR,3,50.00,2024-01-01\n"
        "ABO-5,SKU-PRO,C-5,active,EUR,1,50.00,2024-01-01\n"
    )
    run = run_uat(parse_spec(SPEC), tmp_path, now=NOW)
    (score,) = run.scores
    found = {i.key_text: i.causes for i in score.attributed}
    assert found == {
        "subscription_id=ABO-1, item_code=SKU-PRO": (Cause("duplicate", "", "legacy"),),
        "subscription_id=ABO-4, item_code=SKU-PRO": (
            Cause("merged_by_translation", "item_code", "A-100, A-101 -> SKU-PRO"),
        ),
        "subscription_id=ABO-5, item_code=SKU-PRO": (Cause("duplicate", "", "legacy"),),
    }
    (gate,) = run.expectations
    assert (gate.passed, gate.examples) == (
        False,
        ["subscription_id=ABO-1, item_code=SKU-PRO", "subscription_id=ABO-5, item_code=SKU-PRO"],
    )


def test_a_summed_kind_repeating_one_legacy_account_is_not_a_merge(tmp_path: Path) -> None:
    (tmp_path / "acc.csv").write_text("old,new\n4000,40000\n4001,40000\n")
    (tmp_path / "leg.csv").write_text(
        "account,currency,balance\n4000,EUR,100.00\n4001,EUR,50.00\n"
        "4000,USD,10.00\n4000,USD,20.00\n4001,GBP,1.00\n"
    )
    (tmp_path / "new.csv").write_text(
        "account,currency,balance\n40000,EUR,140.00\n40000,USD,31.00\n40000,GBP,1.00\n"
    )
    text = """\
name: tb
translations: {account: {path: acc.csv}}
entities:
  - {name: tb, kind: gl_balance, legacy: {path: leg.csv}, new: {path: new.csv},
     translate: {account: account}}
"""
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    found = {i.key_text: set(i.causes) for i in score.attributed}
    assert found == {
        "account=40000, currency=EUR": {
            Cause("merged_by_translation", "account", "4000, 4001 -> 40000"),
            Cause("value_differs", "balance"),
        },
        "account=40000, currency=USD": {Cause("value_differs", "balance")},
    }
