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
