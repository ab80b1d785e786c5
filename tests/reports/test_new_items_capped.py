"""The HTML body lists at most NEW_SHOWN new items, the most severe and largest first; the
workbook keeps them all. Was: every new item in the body (49,515 new: an 11.7 MB body)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl

from reconcile.reports import ReconSection, Report, ReportItem, render_html, render_xlsx
from reconcile.reports.model import NEW_SHOWN

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def _item(i: int) -> ReportItem:
    return ReportItem(
        exception_id=f"ex{i:05d}",
        recon="inv",
        category="AMOUNT_MISMATCH",
        keys={"invoice": f"INV{i:05d}"},
        amount=Decimal(i),
        currency="USD",
        severity=LEVELS[i % 4],
        run_state="NEW",
        first_seen=NOW,
        last_seen=NOW,
    )


def test_the_body_lists_the_most_severe_new_items_and_points_to_the_workbook() -> None:
    items = [_item(i) for i in range(1, 2001)]
    section = ReconSection(name="inv", title="Invoices", items=items)
    report = Report(title="AR exceptions", generated_at=NOW, sections=[section])

    html = render_html(report)
    new_table = html[
        html.index("New or reopened since the last run") : html.index("Oldest open items")
    ]
    listed = [int(i.exception_id[2:]) for i in items if f"=INV{i.exception_id[2:]}<" in new_table]
    # critical ones (id % 4 == 3), largest first: 1999, 1995, ..., 1803
    assert sorted(listed) == list(range(1803, 2000, 4))
    assert len(listed) == NEW_SHOWN
    assert "New or reopened since the last run (2000)" in html
    assert f"{2000 - NEW_SHOWN} more new in the attached workbook." in html
    assert "exceptions.xlsx" not in html  # the e-mail attaches it under a dated name
    assert len(html) < 100_000

    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert book["Invoices"].max_row == 1 + 2000  # the workbook has them all
