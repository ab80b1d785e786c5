"""Report amounts keep their currency's minor units (F7): BHD 0.005 is not "0.00"."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl

from reconcile.reports import ReconSection, Report, ReportItem, render_html, render_xlsx
from reconcile.reports.render import format_money

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AMOUNTS = [
    ("K1", "0.375", "KWD"),
    ("K2", "0.005", "BHD"),
    ("K3", "1", "JPY"),
    ("K4", "1234.5", "USD"),
    ("K5", "5681.944", "USD"),  # more digits than the currency's: none rounded away
    ("K6", "12.5", None),
]


def _report() -> Report:
    items = [
        ReportItem(
            exception_id=f"ex-{key}",
            recon="gulf_invoices",
            category="AMOUNT_MISMATCH",
            keys={"invoice": key},
            description="amount differs",
            amount=Decimal(amount),
            currency=currency,
            severity="LOW",
            age_days=1,
            first_seen=NOW,
            last_seen=NOW,
        )
        for key, amount, currency in AMOUNTS
    ]
    section = ReconSection(name="gulf_invoices", title="Gulf invoices", items=items)
    return Report(title="AR exceptions", generated_at=NOW, sections=[section])


def test_format_money_uses_the_currencys_minor_units() -> None:
    assert format_money(Decimal("0.005"), "BHD") == "0.005"
    assert format_money(Decimal("0.375"), "kwd") == "0.375"
    assert format_money(Decimal("1"), "JPY") == "1"
    assert format_money(Decimal("1000"), "USD") == "1,000.00"
    assert format_money(Decimal("-1234567.8"), "EUR") == "-1,234,567.80"
    assert format_money(Decimal("5681.944"), "USD") == "5,681.944"
    assert format_money(Decimal("12.5"), None) == "12.5"
    assert format_money(Decimal("12.5"), "XYZ") == "12.5"
    assert format_money(None, "USD") == ""


def test_html_amounts_and_aging_totals_keep_minor_units() -> None:
    html = render_html(_report())
    shown = set(re.findall(r"([-0-9,.]+) (KWD|BHD|JPY|USD)", html))
    assert {
        ("0.375", "KWD"),
        ("0.005", "BHD"),
        ("1", "JPY"),
        ("1,234.50", "USD"),
        ("5,681.944", "USD"),
        ("6,916.444", "USD"),  # the aging bucket's USD total
    } <= shown
    assert ("0.00", "BHD") not in shown and ("0.38", "KWD") not in shown
    assert ("1.00", "JPY") not in shown


def test_xlsx_money_cells_are_formatted_per_currency() -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(_report())))
    sheet = book["Gulf invoices"]
    header = [c.value for c in sheet[1]]
    amount_col, record_col = header.index("amount"), header.index("record")
    formats = {
        row[record_col].value: (row[amount_col].value, row[amount_col].number_format)
        for row in sheet.iter_rows(min_row=2)
    }
    assert formats == {
        "invoice=K1": (0.375, "#,##0.000"),
        "invoice=K2": (0.005, "#,##0.000"),
        "invoice=K3": (1, "#,##0"),
        "invoice=K4": (1234.5, "#,##0.00"),
        "invoice=K5": (5681.944, "#,##0.000"),
        "invoice=K6": (12.5, "#,##0.0"),
    }
