"""A translation table that maps several legacy codes to one new code (a consolidated
customer, two items folded into one): the table says so at load, and the records that
collide after translation are labelled as merged by it, not as unexplained duplicates."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from reconcile.engine import Side
from tests.uat.conftest import NOW
from uat.rootcause import Cause
from uat.runner import UatRun, run_uat
from uat.spec import TranslationSpec, parse_spec
from uat.translate import load_translation, translate_codes

CUSTOMERS = "customer_id,name,status,currency,tax_id,credit_limit\n"
SPEC = """\
name: merge
translations:
  customer: {path: xlat_customers.csv}
  account: {path: xlat_accounts.csv}
entities:
  - {name: customers, kind: customer, legacy: {path: old_customers.csv},
     new: {path: new_customers.csv}, translate: {customer_id: customer}}
  - {name: tb, kind: gl_balance, legacy: {path: old_tb.csv}, new: {path: new_tb.csv},
     translate: {account: account}}
expectations:
  - {type: no_exceptions, entity: customers, root_cause: merged_by_translation}
"""


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("suffix", ["csv", "cp1252"])
def test_the_table_names_the_new_codes_that_receive_several_legacy_codes(
    tmp_path: Path, suffix: str
) -> None:
    """Both readers (DuckDB for clean UTF-8, the general reader for other encodings)."""
    text = "old,new\nOLD-2,NEW-A\nOLD-1,NEW-A\nOLD-3,NEW-B\nOLD-9,NEW-A\nOLD-1,NEW-A\n"
    path = tmp_path / "items.csv"
    if suffix == "cp1252":
        path.write_bytes((text + "ÄLT-4,NEW-C\n").encode("cp1252"))
    else:
        path.write_text(text, encoding="utf-8")
    xlat = load_translation("item", TranslationSpec(path="items.csv"), tmp_path)
    assert xlat.merges == {"NEW-A": ("OLD-1", "OLD-2", "OLD-9")}


def test_only_merged_codes_found_together_in_the_data_are_reported(tmp_path: Path) -> None:
    _write(tmp_path, "t.csv", "old,new\nC-1,N-1\nC-2,N-1\nC-3,N-3\nC-4,N-3\nC-5,N-5\n")
    xlat = load_translation("customer", TranslationSpec(path="t.csv"), tmp_path)
    codes = ["C-1", " C-2", "C-1", "C-3", "C-5", "C-9"]  # C-4 (into N-3) never occurs
    side = Side(pa.table({"cust": pa.array(codes, pa.string())}))
    done = translate_codes(side, {"cust": ("customer_id", xlat)})
    (merge,) = done.merges
    assert (merge.field, merge.table, merge.codes, merge.records) == (
        "customer_id", "customer", {"N-1": ("C-1", "C-2")}, 3,
    )  # fmt: skip
    assert [g.codes for g in done.gaps] == [{"C-9": 1}]


@pytest.fixture(scope="module")
def merged_run(tmp_path_factory: pytest.TempPathFactory) -> UatRun:
    folder = tmp_path_factory.mktemp("merge")
    # Acme (C-1) and its subsidiary (C-2) are one customer N-1 in the new system; C-4 is
    # booked twice in the legacy system (a real duplicate, though C-4 and C-5 merge too)
    _write(folder, "xlat_customers.csv", "old,new\nC-1,N-1\nC-2,N-1\nC-3,N-3\nC-4,N-4\nC-5,N-4\n")
    _write(
        folder, "old_customers.csv",
        CUSTOMERS + "C-1,Acme,active,EUR,DE1,100.00\nC-2,Acme Sub,active,EUR,DE1,50.00\n"
        "C-3,Beta,active,EUR,DE3,10.00\nC-4,Gamma,active,EUR,DE4,5.00\n"
        "C-4,Gamma,active,EUR,DE4,5.00\n",
    )  # fmt: skip
    _write(
        folder, "new_customers.csv",
        CUSTOMERS + "N-1,Acme,active,EUR,DE1,150.00\nN-3,Beta,active,EUR,DE3,10.00\n"
        "N-4,Gamma,active,EUR,DE4,5.00\n",
    )  # fmt: skip
    # revenue accounts 4000 and 4001 are one account 40000 in the new chart; it is summed,
    # and off by 10.00
    _write(folder, "xlat_accounts.csv", "old,new\n4000,40000\n4001,40000\n5000,50000\n")
    _write(folder, "old_tb.csv", "account,currency,balance\n4000,EUR,100.00\n4001,EUR,50.00\n")
    _write(folder, "new_tb.csv", "account,currency,balance\n40000,EUR,140.00\n")
    _write(folder, "spec.yaml", SPEC)
    return run_uat(parse_spec(SPEC), folder, now=NOW)


def test_keys_that_collide_after_translation_are_merged_not_duplicates(
    merged_run: UatRun,
) -> None:
    customers, tb = merged_run.scores
    found = {i.key_text: (i.candidate.category, set(i.causes)) for i in customers.attributed}
    merged = Cause("merged_by_translation", "customer_id", "C-1, C-2 -> N-1")
    assert found == {
        "customer_id=N-1": ("DUPLICATE", {merged}),
        "customer_id=N-4": ("DUPLICATE", {Cause("duplicate", "", "legacy")}),
    }
    assert merged.label == "customer_id merged by translation (C-1, C-2 -> N-1)"
    ((_, (category, causes)),) = ((i.key_text, (i.candidate.category, set(i.causes)))
                                  for i in tb.attributed)  # fmt: skip
    assert category == "MANY_TO_ONE"
    assert causes == {
        Cause("merged_by_translation", "account", "4000, 4001 -> 40000"),
        Cause("value_differs", "balance"),
    }


def test_the_scorecard_and_the_report_name_the_merges(merged_run: UatRun) -> None:
    from uat.signoff import render_html

    customers, tb = merged_run.scores
    assert [(m.table, m.field, m.codes) for m in customers.merges] == [
        ("customer", "customer_id", {"N-1": ("C-1", "C-2")}),
    ]
    assert [(m.table, m.codes) for m in tb.merges] == [("account", {"40000": ("4000", "4001")})]
    html = render_html(merged_run)
    assert "maps several legacy customer_id codes to one new code" in html
    assert "C-1, C-2 -&gt; N-1" in html


def test_an_expectation_can_gate_on_merged_records(merged_run: UatRun) -> None:
    (gate,) = merged_run.expectations
    assert (gate.passed, gate.failing, gate.examples) == (False, 1, ["customer_id=N-1"])


def test_the_workbook_and_the_console_list_the_merged_codes(
    merged_run: UatRun, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    import openpyxl

    from uat.cli import _print
    from uat.signoff import render_xlsx

    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(merged_run)), read_only=True)
    rows = list(book["Translation merges"].iter_rows(2, values_only=True))
    assert rows == [
        ("customers", "customer", "customer_id", "N-1", "C-1, C-2"),
        ("tb", "account", "account", "40000", "4000, 4001"),
    ]
    _print(merged_run)
    out = capsys.readouterr().out
    assert "customers: 1 × customer_id merged by translation (C-1, C-2 -> N-1)" in out
    assert (
        "customers: translation table 'customer' maps several legacy customer_id codes to one "
        "new code (1 new code(s), 2 record(s)), e.g. C-1, C-2 -> N-1"
    ) in out


def test_a_long_merge_names_the_first_codes_and_how_many_more() -> None:
    from uat.rootcause import merged_text

    olds = [f"C-{n}" for n in range(1, 9)]
    assert merged_text("N-1", olds) == "C-1, C-2, C-3, C-4, C-5 and 3 more -> N-1"


def test_a_key_repeated_on_both_sides_is_merged_and_a_duplicate_in_the_new_system(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "xlat_customers.csv", "old,new\nC-1,N-1\nC-2,N-1\n")
    _write(
        tmp_path,
        "old.csv",
        CUSTOMERS + "C-1,Acme,active,EUR,DE1,1.00\nC-2,Acme,active,EUR,DE1,2.00\n",
    )
    _write(
        tmp_path,
        "new.csv",
        CUSTOMERS + "N-1,Acme,active,EUR,DE1,1.00\nN-1,Acme,active,EUR,DE1,2.00\n",
    )
    text = """\
name: both
translations: {customer: {path: xlat_customers.csv}}
entities:
  - {name: c, kind: customer, legacy: {path: old.csv}, new: {path: new.csv},
     translate: {customer_id: customer}}
"""
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    (item,) = score.attributed
    assert item.causes == (
        Cause("merged_by_translation", "customer_id", "C-1, C-2 -> N-1"),
        Cause("duplicate", "", "new"),
    )
