"""Translation tables as the engine joins them, and the gaps counted the way the engine looks
codes up (trimmed)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from reconcile.engine import Side
from uat.spec import TranslationSpec
from uat.translate import load_translation, translate_side


def test_one_row_per_code_stripped_as_python_strips(tmp_path: Path) -> None:
    """The engine's LEFT JOIN wants each old code once; edge whitespace of any kind goes."""
    (tmp_path / "t.csv").write_text(
        "old,new\n\u3000C1\t,N1\nC1,N1\nC2 ,\u00a0N2\n", encoding="utf-8"
    )
    table = load_translation("customer", TranslationSpec(path="t.csv"), tmp_path).table
    assert sorted(zip(*table.to_pydict().values(), strict=True)) == [("C1", "N1"), ("C2", "N2")]


def test_gaps_are_the_trimmed_codes_the_table_lacks(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("old,new\nC1,N1\nC2,N2\n", encoding="utf-8")
    xlat = load_translation("customer", TranslationSpec(path="t.csv"), tmp_path)
    codes = [" C1 ", "C1", "C9", " C9", "C8", "", None, "  "]
    side = Side(pa.table({"customer_id": pa.array(codes, pa.string())}))
    translated, (gap,) = translate_side(side, {"customer_id": ("customer_id", xlat)})
    assert (gap.records, gap.distinct, gap.codes) == (3, 2, {"C9": 2, "C8": 1})
    assert gap.all_codes == {"C9", "C8"}
    assert [c for c, _ in translated.translations] == ["customer_id"]
    assert translated.column("customer_id").column(0).to_pylist() == [
        "N1", "N1", "C9", "C9", "C8", "", None, "",
    ]  # fmt: skip


def test_codes_with_any_edge_whitespace_translate_and_gaps_agree_with_causes(
    tmp_path: Path,
) -> None:
    """An NBSP or a tab at a code's end is trimmed as the table's codes are: the code
    translates; an unknown one is the same stripped code in the gaps and the root cause."""
    from tests.uat.conftest import NOW
    from uat.runner import run_uat
    from uat.spec import parse_spec

    (tmp_path / "x.csv").write_text("old,new\nC1,N1\nC2,N2\nC3,N3\n", encoding="utf-8")
    head = "document_number,customer_id,currency,due_date,amount,open_amount\n"
    codes = {"AR-1": "C1\u00a0", "AR-2": "C2\t", "AR-3": " C3 ", "AR-4": "C9\u00a0"}
    rows = "".join(f'{d},"{c}",EUR,2024-03-01,10.00,10.00\n' for d, c in codes.items())
    (tmp_path / "old.csv").write_text(head + rows, encoding="utf-8")
    new = "".join(f"AR-{n},N{n if n < 4 else 9},EUR,2024-03-01,10.00,10.00\n" for n in range(1, 5))
    (tmp_path / "new.csv").write_text(head + new, encoding="utf-8")
    text = """\
name: ws
translations: {customer: {path: x.csv}}
entities:
  - {name: ar, kind: ar_open, legacy: {path: old.csv}, new: {path: new.csv},
     translate: {customer_id: customer}}
"""
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    assert score.matched == 3
    assert [(g.field, g.codes) for g in score.gaps] == [("customer_id", {"C9": 1})]
    (item,) = score.attributed
    assert item.key_text == "document_number=AR-4"
    assert [c.pattern for c in item.causes] == ["untranslated_code"]
