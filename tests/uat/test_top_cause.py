"""Root causes rank by count, then by the amount they put at risk, then by label: the top
root cause of two equally frequent ones is the one with more money at stake."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.signoff import render_xlsx
from uat.spec import parse_spec

HEAD = "document_number,customer_id,currency,due_date,amount,open_amount\n"


def test_equal_counts_rank_by_amount_at_risk(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(
        HEAD + "D1,C1,EUR,2024-02-01,5000.00,5000.00\nD2,C1,EUR,2024-02-01,10.00,10.00\n"
    )
    (tmp_path / "new.csv").write_text(
        HEAD + "D1,C1,EUR,2024-02-01,5000.00,4000.00\nD2,C1,EUR,2024-02-01,10.00,10.01\n"
    )
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: leg.csv}, new: {path: new.csv}}\n"
    )
    run = run_uat(parse_spec(text), tmp_path, now=NOW)
    (score,) = run.scores
    assert [(g.cause.label, str(g.at_risk["EUR"])) for g in score.root_causes] == [
        ("open_amount differs", "1000.00"),
        ("open_amount: rounding drift ≤ 0.01", "0.01"),
    ]
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(run)))
    header, row = list(book["Summary"].iter_rows(1, 2, values_only=True))
    assert dict(zip(header, row, strict=True))["top root cause"] == "open_amount differs"


def test_equal_counts_and_amounts_rank_by_label(tmp_path: Path) -> None:
    (tmp_path / "leg.csv").write_text(HEAD + "D1,C1,EUR,2024-02-01,5.00,5.00\n")
    (tmp_path / "new.csv").write_text(HEAD + "D1,C2,EUR,2024-03-01,5.00,5.00\n")
    text = (
        "name: t\nentities:\n"
        "  - {name: ar, kind: ar_open, legacy: {path: leg.csv}, new: {path: new.csv}}\n"
    )
    (score,) = run_uat(parse_spec(text), tmp_path, now=NOW).scores
    assert [g.cause.label for g in score.root_causes] == [
        "customer_id differs",
        "due_date differs (no constant shift)",
    ]
