"""Codes typed by hand in a translation table in another case than the legacy extract has
them (``c-001`` in the table, ``C-001`` in the data): matched case-insensitively when the
table has no two codes differing only by case; otherwise matched exactly, with a warning
naming the table file, its two rows and the column."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from reconcile.engine import Side
from reconcile.engine.sides import LINE
from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import TranslationSpec, parse_spec
from uat.translate import load_translation, translate_side

HEAD = "document_number,customer_id,currency,due_date,amount,open_amount\n"


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_codes_in_another_case_translate_and_are_no_gap(tmp_path: Path, encoding: str) -> None:
    """Both readers: DuckDB for clean UTF-8, the general reader for Windows-1252."""
    (tmp_path / "t.csv").write_bytes(_encode("old,new\nc-001,N1\nC-002,N2\nkunde-ä,N3\n", encoding))
    xlat = load_translation("customer", TranslationSpec(path="t.csv"), tmp_path)
    assert xlat.case_insensitive and xlat.warning is None
    codes = ["C-001", "c-001", " C-002\u00a0", "c-002", "KUNDE-Ä", "C-009", "c-009"]
    side = Side(pa.table({"customer_id": pa.array(codes, pa.string()), LINE: range(len(codes))}))
    translated, gaps = translate_side(side, {"customer_id": ("customer_id", xlat)})
    assert translated.column("customer_id").column(0).to_pylist() == [
        "N1", "N1", "N2", "N2", "N3", "C-009", "c-009",
    ]  # fmt: skip
    assert [(g.records, g.distinct, g.codes) for g in gaps] == [(2, 2, {"C-009": 1, "c-009": 1})]


def test_a_table_with_codes_differing_only_by_case_stays_exact_and_says_where(
    tmp_path: Path,
) -> None:
    (tmp_path / "items.csv").write_text(
        "legacy,target\nA-1,N1\nB-1,N2\na-1,N9\nb-2,N3\n", encoding="utf-8"
    )
    spec = TranslationSpec(path="items.csv", old="legacy", new="target")
    xlat = load_translation("item", spec, tmp_path)
    assert not xlat.case_insensitive
    assert xlat.warning == (
        f"{tmp_path / 'items.csv'}:2 and line 4: translation table 'item', field 'legacy': "
        "codes 'A-1' and 'a-1' differ only by case, so its codes are matched exactly "
        "(case-sensitive)"
    )
    side = Side(pa.table({"item": pa.array(["A-1", "a-1", "B-2", "b-2"]), LINE: range(4)}))
    translated, (gap,) = translate_side(side, {"item": ("item_code", xlat)})
    assert translated.column("item").column(0).to_pylist() == ["N1", "N9", "B-2", "N3"]
    assert gap.codes == {"B-2": 1}


def test_the_run_counts_gaps_and_causes_alike_and_warns_once(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text("old,new\nc-001,N1\nc-002,N2\n", encoding="utf-8")
    (tmp_path / "items.csv").write_text("old,new\nX,Y\nx,Z\n", encoding="utf-8")
    legacy = "".join(
        f"AR-{n},{code},EUR,2024-03-01,10.00,10.00\n"
        for n, code in enumerate(("C-001", "C-002", "c-002", "C-009"), start=1)
    )
    new = "".join(
        f"AR-{n},{code},EUR,2024-03-01,10.00,10.00\n"
        for n, code in enumerate(("N1", "N2", "N2", "N9"), start=1)
    )
    (tmp_path / "old.csv").write_text(HEAD + legacy, encoding="utf-8")
    (tmp_path / "new.csv").write_text(HEAD + new, encoding="utf-8")
    text = """\
name: case
translations:
  customer: {path: customers.csv}
  item: {path: items.csv}
entities:
  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv},
     translate: {customer_id: customer}}
"""
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    (score,) = run.scores
    assert score.matched == 3
    assert [(g.field, g.codes) for g in score.gaps] == [("customer_id", {"C-009": 1})]
    (item,) = score.attributed
    assert item.key_text == "document_number=AR-4"
    assert [c.pattern for c in item.causes] == ["untranslated_code"]
    assert run.warnings == [
        f"{tmp_path / 'items.csv'}:2 and line 3: translation table 'item', field 'old': "
        "codes 'X' and 'x' differ only by case, so its codes are matched exactly "
        "(case-sensitive)"
    ]

    from uat.signoff import render_html

    assert "differ only by case" in render_html(run)


def test_a_code_in_another_case_counts_as_the_merged_code_it_stands_for(tmp_path: Path) -> None:
    from uat.translate import translate_codes

    (tmp_path / "t.csv").write_text("old,new\nC-1,N-1\nC-2,N-1\n", encoding="utf-8")
    xlat = load_translation("customer", TranslationSpec(path="t.csv"), tmp_path)
    side = Side(pa.table({"cust": pa.array(["c-1", "C-2", "c-2"], pa.string())}))
    (merge,) = translate_codes(side, {"cust": ("customer_id", xlat)}).merges
    assert (merge.codes, merge.records) == ({"N-1": ("C-1", "C-2")}, 3)
