"""The HTML body shows each item's status: a suppressed, acknowledged or assigned item no
longer looks like an untouched one (was: only the run state, NEW / STILL OPEN)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from reconcile.reports import ReconSection, Report, ReportItem, render_html

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def test_each_listed_item_shows_its_status_and_owner() -> None:
    def item(i: int, status: str, owner: str | None = None) -> ReportItem:
        return ReportItem(exception_id=f"ex{i}", recon="inv", category="NOT_SYNCED",
                          keys={"invoice": f"INV{i}"}, run_state="NEW", status=status,
                          owner=owner, first_seen=NOW, last_seen=NOW)  # fmt: skip

    items = [item(1, "OPEN"), item(2, "SUPPRESSED"), item(3, "ASSIGNED", "jo"),
             item(4, "IN_REVIEW")]  # fmt: skip
    section = ReconSection(name="inv", title="Inv", items=items)
    html = render_html(Report(title="AR", generated_at=NOW, sections=[section]))
    new_table = html[
        html.index("New or reopened since the last run") : html.index("Oldest open items")
    ]
    assert "<th>Status</th>" in new_table
    rows = {
        m.group(1): re.sub(r"<[^>]+>", "|", m.group(0))
        for m in re.finditer(r"<tr>(?:(?!</tr>).)*?invoice=(INV\d)(?:(?!</tr>).)*</tr>",
                             new_table, re.S)
    }  # fmt: skip
    assert "|open|" in rows["INV1"]
    assert "|suppressed|" in rows["INV2"]
    assert "|assigned|" in rows["INV3"] and "|jo|" in rows["INV3"]
    assert "|in review|" in rows["INV4"]
