"""A key repeated (or merged by translation) on one side and absent from the other is
missing in / extra in the new system too: one exception, the one-sided cause first, and
the gates on missing and extra keys see it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.uat.conftest import NOW
from uat.rootcause import Cause
from uat.runner import run_uat
from uat.spec import parse_spec

AR = """\
name: rep
entities:
  - name: ar
    kind: ar_open
    fields: [customer_id, currency, due_date, open_amount]
    legacy: {path: leg.csv}
    new: {path: new.csv}
expectations:
  - {type: no_exceptions, entity: ar, root_cause: missing_in_new}
  - {type: no_exceptions, entity: ar, category: MISSING_IN_B}
  - {type: no_exceptions, entity: ar, root_cause: extra_in_new}
  - {type: no_exceptions, entity: ar, category: MISSING_IN_A}
"""
HEAD = "document_number,customer_id,currency,due_date,open_amount\n"


def test_a_key_repeated_on_one_side_and_absent_from_the_other_is_missing_or_extra(
    tmp_path: Path,
) -> None:
    (tmp_path / "leg.csv").write_text(
        HEAD + "X-1,K1,EUR,2024-01-10,500.00\nX-1,K1,EUR,2024-01-10,500.00\n"
        "X-2,K1,EUR,2024-01-10,7.00\nX-2,K1,EUR,2024-01-10,7.00\n"
        "X-9,K1,EUR,2024-01-10,100.00\n"
    )
    (tmp_path / "new.csv").write_text(
        HEAD + "X-9,K1,EUR,2024-01-10,100.00\nX-2,K1,EUR,2024-01-10,7.00\n"
        "X-4,K1,EUR,2024-01-10,50.00\nX-4,K1,EUR,2024-01-10,50.00\n"
    )
    run = run_uat(parse_spec(AR), tmp_path, now=NOW)
    (score,) = run.scores
    found = {i.key_text: (i.causes, i.at_risk) for i in score.attributed}
    assert found == {
        "document_number=X-1": (
            (Cause("missing_in_new"), Cause("duplicate", "", "legacy")),
            Decimal("1000.00"),
        ),
        # on both sides: a duplicate only
        "document_number=X-2": ((Cause("duplicate", "", "legacy"),), Decimal("7.00")),
        "document_number=X-4": (
            (Cause("extra_in_new"), Cause("duplicate", "", "new")),
            Decimal("100.00"),
        ),
    }
    # one exception per key, counted once in its category and in the amount at risk
    assert (score.exceptions, score.categories) == (3, {"DUPLICATE": 3})
    assert score.at_risk == {"EUR": Decimal("1107.00")}
    gates = [(g.passed, g.failing, g.examples) for g in run.expectations]
    assert gates == [
        (False, 1, ["document_number=X-1"]),
        (False, 1, ["document_number=X-1"]),
        (False, 1, ["document_number=X-4"]),
        (False, 1, ["document_number=X-4"]),
    ]


def test_codes_merged_into_a_key_the_new_system_lacks_are_missing_in_new(
    tmp_path: Path,
) -> None:
    (tmp_path / "x.csv").write_text("old,new\nC-100,N-1\nC-101,N-1\nC-102,N-2\n")
    head = "customer_id,name,tax_id,credit_limit,currency,status\n"
    (tmp_path / "leg.csv").write_text(
        head + "C-100,Acme,DE1,100.00,EUR,Active\nC-101,Acme Nord,DE1,50.00,EUR,Active\n"
        "C-102,Beta,DE2,10.00,EUR,Active\n"
    )
    (tmp_path / "new.csv").write_text(head + "N-2,Beta,DE2,10.00,EUR,Active\n")
    spec = """\
name: merged
translations: {c: {path: x.csv}}
entities:
  - name: customers
    kind: customer
    legacy: {path: leg.csv}
    new: {path: new.csv}
    translate: {customer_id: c}
expectations:
  - {type: no_exceptions, entity: customers, root_cause: missing_in_new}
  - {type: no_exceptions, entity: customers, category: MISSING_IN_B}
  - {type: no_exceptions, entity: customers, root_cause: merged_by_translation}
"""
    run = run_uat(parse_spec(spec), tmp_path, now=NOW)
    (score,) = run.scores
    ((item,),) = [score.attributed]
    assert item.causes == (
        Cause("missing_in_new"),
        Cause("merged_by_translation", "customer_id", "C-100, C-101 -> N-1"),
    )
    assert [(g.passed, g.examples) for g in run.expectations] == [
        (False, ["customer_id=N-1"]),
    ] * 3
    assert not run.passed
