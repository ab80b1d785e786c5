"""The report says when each reconciliation last ran and flags one not run in the last 24
hours (a report sent after a failed run shows the previous run's items), and it counts new
and reopened items apart (the subject said "3 new" for 1 new and 2 reopened)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path

import openpyxl

from billbridge.state import Store
from config.model import ReportSettings
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, Reason, exception_id
from reconcile.reports import deliver, render_html, render_xlsx, report_from_store

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
RECON = "billing_vs_erp_invoices"


def _cand(invoice: str) -> ExceptionCandidate:
    keys = {"invoice_number": invoice}
    return ExceptionCandidate(
        exception_id=exception_id(RECON, keys, "MISSING_IN_B"),
        recon=RECON,
        category="MISSING_IN_B",
        keys=keys,
        fingerprint=f"f-{invoice}",
        details={"a": {"invoice_number": invoice}},
        amount=Decimal("10.00"),
        currency="USD",
    )


def _store(tmp_path: Path) -> tuple[Store, ExceptionStore]:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    xs = ExceptionStore(store)
    xs.record_run(RECON, "r1", [_cand("INV1"), _cand("INV2")], T0)
    xs.resolve(_cand("INV1").exception_id, Reason.FIXED_IN_SOURCE, actor="ana", now=T0)
    # the next night: INV1 is back (reopened), INV3 is new, INV2 still open
    night2 = T0 + timedelta(days=1)
    xs.record_run(RECON, "r2", [_cand(i) for i in ("INV1", "INV2", "INV3")], night2)
    return store, xs


def test_new_and_reopened_are_counted_apart(tmp_path: Path) -> None:
    store, xs = _store(tmp_path)
    try:
        now = T0 + timedelta(days=1, minutes=5)
        report = report_from_store(xs, [(RECON, "Invoices")], title="AR", now=now, run_id="r2")
    finally:
        store.close()
    assert (report.new_count, report.reopened_count, report.open_count) == (1, 1, 3)
    deliver(report, ReportSettings(recipients=["ar@example.com"], out_dir=str(tmp_path)))
    (eml,) = tmp_path.glob("*.eml")
    assert "AR: 1 new, 1 reopened, 3 open" in message_from_bytes(eml.read_bytes())["Subject"]
    html = render_html(report)
    assert "Last run 2026-12-02 06:00 UTC</p>" in html  # fresh: no warning
    assert "not run in the last 24 hours" not in html


def test_a_reconciliation_not_run_tonight_is_flagged(tmp_path: Path) -> None:
    store, xs = _store(tmp_path)
    try:
        # the next night's run failed: the report is made a day and a half later
        now = T0 + timedelta(days=2, hours=12)
        report = report_from_store(xs, [(RECON, "Invoices"), ("ar_aging", "Aging")],
                                   title="AR", now=now)  # fmt: skip
    finally:
        store.close()
    html = render_html(report)
    assert "Last run 2026-12-02 06:00 UTC: not run in the last 24 hours" in html
    assert "Never run: no items recorded yet" in html  # ar_aging
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    rows = list(book["Summary"].iter_rows(values_only=True))
    assert rows[0][4] == "last run"
    assert rows[1][4] == datetime(2026, 12, 2, 6, 0) and rows[2][4] is None
