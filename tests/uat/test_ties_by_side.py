"""``ties ... by:`` groups each side's totals under that side's own values: an open item
moved to another customer (or into another currency) leaves one group and reaches another."""

from __future__ import annotations

from pathlib import Path

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import parse_spec

HEAD = "document_number,customer_id,currency,due_date,amount,open_amount\n"
LEGACY = (
    "D1,C-1,EUR,2024-02-01,100.00,100.00\n"
    "D2,C-1,EUR,2024-02-01,200.00,200.00\n"
    "D3,C-2,EUR,2024-02-01,300.00,300.00\n"
    "D4,C-3,EUR,2024-02-01,400.00,400.00\n"
)


def _ties(tmp_path: Path, new: str, by: str, legacy: str = LEGACY) -> tuple[bool, str, list[str]]:
    (tmp_path / "leg.csv").write_text(HEAD + legacy, encoding="utf-8")
    (tmp_path / "new.csv").write_text(HEAD + new, encoding="utf-8")
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: leg.csv}, new: {path: new.csv}}\n"
        "expectations:\n"
        f"  - {{type: ties, entity: ar, field: open_amount, by: [{by}]}}\n"
    )
    (result,) = run_uat(parse_spec(text), tmp_path, now=NOW).expectations
    return result.passed, result.evidence, result.examples


def test_an_item_moved_to_another_customer_breaks_both_customers(tmp_path: Path) -> None:
    new = LEGACY.replace("D1,C-1", "D1,C-2")
    assert _ties(tmp_path, new, "customer_id") == (
        False,
        "2 group(s) do not tie",
        [
            "customer_id=C-1, currency=EUR (delta -100.00)",
            "customer_id=C-2, currency=EUR (delta 100.00)",
        ],
    )


def test_an_item_moved_to_another_currency_breaks_both_currencies(tmp_path: Path) -> None:
    new = LEGACY.replace("D1,C-1,EUR", "D1,C-1,USD")
    assert _ties(tmp_path, new, "currency") == (
        False,
        "2 group(s) do not tie",
        ["currency=EUR (delta -100.00)", "currency=USD (delta 100.00)"],
    )


def test_keys_on_one_side_count_under_their_own_values(tmp_path: Path) -> None:
    # D4 gone from the new system, D5 new there: each counts only on its own side
    new = LEGACY.replace("D4,C-3,EUR,2024-02-01,400.00,400.00", "D5,C-4,EUR,2024-02-01,5.00,5.00")
    assert _ties(tmp_path, new, "customer_id")[2] == [
        "customer_id=C-3, currency=EUR (delta -400.00)",
        "customer_id=C-4, currency=EUR (delta 5.00)",
    ]
    # an unchanged assignment still ties
    assert _ties(tmp_path, LEGACY, "customer_id")[:2] == (True, "0 group(s) do not tie")


def test_a_side_without_the_grouping_column_counts_under_the_other_sides_value(
    tmp_path: Path,
) -> None:
    legacy = LEGACY.replace("C-1,", "").replace("C-2,", "").replace("C-3,", "")
    (tmp_path / "leg.csv").write_text(
        "document_number,currency,due_date,amount,open_amount\n" + legacy, encoding="utf-8"
    )
    (tmp_path / "new.csv").write_text(HEAD + LEGACY, encoding="utf-8")
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: leg.csv}, new: {path: new.csv},\n"
        "     fields: [currency, due_date, amount, open_amount]}\n"
        "expectations:\n"
        "  - {type: ties, entity: ar, field: open_amount, by: [customer_id]}\n"
    )
    (result,) = run_uat(parse_spec(text), tmp_path, now=NOW).expectations
    assert (result.passed, result.examples) == (True, [])


def test_a_key_whose_copies_differ_in_the_grouping_field_counts_each_copy_under_its_own(
    tmp_path: Path,
) -> None:
    # X-2 booked twice in the new system, once in EUR and once in USD: the USD copy is new
    # money in USD, not a second EUR 700 hidden under the smaller code
    legacy = "X-2,K1,EUR,2024-01-10,700.00,700.00\nY-1,K1,EUR,2024-01-10,700.00,700.00\n"
    new = "X-2,K1,EUR,2024-01-10,700.00,700.00\nX-2,K1,USD,2024-01-10,700.00,700.00\n"
    expected = ["currency=EUR (delta -700.00)", "currency=USD (delta 700.00)"]
    assert _ties(tmp_path, new, "currency", legacy) == (False, "2 group(s) do not tie", expected)
    assert _ties(tmp_path, new, "customer_id, currency", legacy)[2] == [
        "customer_id=K1, currency=EUR (delta -700.00)",
        "customer_id=K1, currency=USD (delta 700.00)",
    ]


def test_a_legacy_key_split_over_two_customers_counts_under_both(tmp_path: Path) -> None:
    # legacy D1 on C-1 and (a second copy) on C-2; the new system has it once on C-1
    legacy = LEGACY + "D1,C-2,EUR,2024-02-01,100.00,100.00\n"
    assert _ties(tmp_path, LEGACY, "customer_id", legacy) == (
        False,
        "1 group(s) do not tie",
        ["customer_id=C-2, currency=EUR (delta -100.00)"],
    )


def test_grouped_by_customer_alone_amounts_never_add_across_currencies(tmp_path: Path) -> None:
    # D1 moved from EUR to USD: 100 EUR out, 100 USD in, for the same customer
    new = LEGACY.replace("D1,C-1,EUR", "D1,C-1,USD")
    assert _ties(tmp_path, new, "customer_id") == (
        False,
        "2 group(s) do not tie",
        [
            "customer_id=C-1, currency=EUR (delta -100.00)",
            "customer_id=C-1, currency=USD (delta 100.00)",
        ],
    )
