"""An amount with more significant digits than Excel's doubles keep (15) is written to the
XLSX as text with every digit (99999999999999999998.99 showed as 1E+20); others stay numbers
with their currency's format."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl

from reconcile.reports import ReconSection, Report, ReportItem, render_xlsx

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AMOUNTS = [
    ("K1", "99999999999999999998.99", "USD"),
    ("K2", "1234567890123.45", "USD"),  # 15 digits: a number
    ("K3", "1000000000000000000000.00", "USD"),  # trailing zeros do not count: a number
    ("K4", "0.1234567890123456", None),
]


def _sheet() -> dict[str, object]:
    items = [
        ReportItem(
            exception_id=f"ex-{key}",
            recon="big",
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
    report = Report(
        title="AR", generated_at=NOW, sections=[ReconSection(name="big", title="Big", items=items)]
    )
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    sheet = book["Big"]
    header = [c.value for c in sheet[1]]
    col = header.index("amount")
    return {row[header.index("record")].value: row[col] for row in sheet.iter_rows(min_row=2)}


def test_amounts_a_double_cannot_hold_are_text() -> None:
    cells = _sheet()
    values = {str(k): v for k, v in cells.items()}
    big = next(v for k, v in values.items() if "K1" in k)
    assert big.value == "99,999,999,999,999,999,998.99"  # type: ignore[attr-defined]
    small = next(v for k, v in values.items() if "K2" in k)
    assert small.value == 1234567890123.45  # type: ignore[attr-defined]
    assert small.number_format == "#,##0.00"  # type: ignore[attr-defined]
    round_ = next(v for k, v in values.items() if "K3" in k)
    assert round_.value == 1e21  # type: ignore[attr-defined]
    many = next(v for k, v in values.items() if "K4" in k)
    assert many.value == "0.1234567890123456"  # type: ignore[attr-defined]
