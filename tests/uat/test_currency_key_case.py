"""A gl_balance's currency is part of its key: usd in one system is USD in the other (one
matched balance, not one missing and one extra), and the key reads upper case."""

from __future__ import annotations

from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec


def test_a_currency_key_matches_in_any_case_and_reads_upper_case(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text(
        "account,currency,balance\n1200,usd,100.00\n1300,eur,50.00\n", encoding="utf-8"
    )
    (tmp_path / "new.csv").write_text(
        "account,currency,balance\n1200,USD,100.00\n1300,Eur,50.01\n", encoding="utf-8"
    )
    text = (
        "name: t\nentities:\n"
        "  - {name: tb, kind: gl_balance, legacy: {path: old.csv}, new: {path: new.csv}}\n"
        "expectations:\n"
        "  - {type: ties, entity: tb, field: balance, by: [currency]}\n"
        "  - {type: count_equal, entity: tb}\n"
    )
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    (score,) = run.scores
    assert (score.matched, score.exceptions) == (1, 1)
    (item,) = score.attributed
    assert item.key_text == "account=1300, currency=EUR"
    assert item.candidate.category == "AMOUNT_MISMATCH"
    assert {k: str(v) for k, v in score.at_risk.items()} == {"EUR": "0.01"}
    ties, count = run.expectations
    assert ties.examples == ["currency=EUR (delta 0.01)"]
    assert (count.passed, count.evidence) == (True, "legacy 2 key(s), new 2")
