"""The report lists what the data resolved since the last run (not only a count), in the
HTML body (capped, with an "and N more" line) and in a workbook sheet; and it says how
many open items the HTML leaves out, which the workbook has all of."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl

from billbridge.state import Store
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports import render_html, render_xlsx, report_from_store
from reconcile.reports.model import OLDEST_SHOWN, RESOLVED_SHOWN

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
RECON = "billing_vs_erp_invoices"


def _cand(invoice: str) -> ExceptionCandidate:
    keys = {"invoice_number": invoice}
    return ExceptionCandidate(
        exception_id=exception_id(RECON, keys, "NOT_SYNCED"),
        recon=RECON,
        category="NOT_SYNCED",
        keys=keys,
        fingerprint=f"f-{invoice}",
        details={"reason": "never reached the ERP"},
        amount=Decimal("10.00"),
        currency="USD",
    )


def _report(tmp_path: Path, first: list[str], second: list[str]):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    xs = ExceptionStore(store)
    xs.record_run(RECON, "run1", [_cand(i) for i in first], T0)
    xs.record_run(RECON, "run2", [_cand(i) for i in second], T0 + timedelta(days=1))
    report = report_from_store(
        xs, [(RECON, "Invoices")], title="AR", now=T0 + timedelta(days=1), run_id="run2"
    )
    store.close()
    return report


def test_resolved_items_are_listed_in_html_and_xlsx(tmp_path: Path) -> None:
    report = _report(tmp_path, ["INV1", "INV2", "INV3"], ["INV1"])
    html = render_html(report)
    assert "Resolved since the last run (2)" in html
    assert "invoice_number=INV2" in html and "invoice_number=INV3" in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    sheet = book["Resolved since last run"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("reconciliation", "exception_id", "category", "record")
    assert sorted(r[3] for r in rows[1:]) == ["invoice_number=INV2", "invoice_number=INV3"]
    assert all(r[0] == RECON and r[5] == 10.0 for r in rows[1:])
    assert rows[1][-1] == datetime(2026, 12, 2, 6, 0)  # when it was resolved (UTC)


def test_many_resolved_are_capped_with_an_and_more_line(tmp_path: Path) -> None:
    many = [f"INV{n:03d}" for n in range(RESOLVED_SHOWN + 5)]
    report = _report(tmp_path, many, [])
    html = render_html(report)
    assert html.count("invoice_number=INV") == RESOLVED_SHOWN
    assert "and 5 more resolved" in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert book["Resolved since last run"].max_row == RESOLVED_SHOWN + 5 + 1


def test_html_says_how_many_open_items_it_leaves_out(tmp_path: Path) -> None:
    open_ = [f"INV{n:03d}" for n in range(OLDEST_SHOWN + 4)]
    report = _report(tmp_path, open_, open_)  # all still open: none new in run 2
    html = render_html(report)
    assert "4 more open items not listed here" in html
    assert f"has all {OLDEST_SHOWN + 4} open items" in html
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    keys = [r[4] for r in book["Invoices"].iter_rows(min_row=2, values_only=True)]
    assert sorted(keys) == [f"invoice_number={i}" for i in open_]
    # all listed: no such line
    assert "not listed here" not in render_html(_report(tmp_path / "x", ["A"], ["A"]))
