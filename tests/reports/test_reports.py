from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pydantic import SecretStr

from config.model import ReportSettings, SmtpSettings
from reconcile.reports import (
    DeliveryError,
    ReconSection,
    Report,
    ReportItem,
    deliver,
    render_html,
    render_xlsx,
)
from tests.reports.conftest import PASSWORD, USER, Inbox

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def item(
    i: int,
    *,
    state: str = "NEW",
    age: int = 0,
    amount: str | None = "100.00",
    category: str = "AMOUNT_MISMATCH",
) -> ReportItem:
    return ReportItem(
        exception_id=f"ex{i:03d}",
        recon="billing_vs_erp_invoices",
        category=category,
        keys={"invoice": f"INV{i:04d}"},
        description=f"total differs <{i}>",
        amount=Decimal(amount) if amount else None,
        currency="USD",
        severity="high",
        run_state=state,
        age_days=age,
        first_seen=NOW - timedelta(days=age),
        last_seen=NOW,
    )


@pytest.fixture
def report() -> Report:
    section = ReconSection(
        name="billing_vs_erp_invoices",
        title="Billing vs ERP: invoices",
        items=[
            item(1),
            item(2, state="STILL_OPEN", age=12, amount="2500.50"),
            item(3, state="STILL_OPEN", age=45, amount="10.01", category="NOT_SYNCED"),
        ],
        resolved=[item(9, state="RESOLVED_BY_DATA")],
        summary={"matched": 580},
    )
    return Report(title="AR exceptions", generated_at=NOW, run_id="run-1", sections=[section])


def test_html_leads_with_new_items_and_escapes(report: Report) -> None:
    html = render_html(report)
    assert "<strong>1</strong> new" in html and "<strong>3</strong> open" in html
    assert "total differs &lt;1&gt;" in html and "total differs <1>" not in html
    assert html.index("New or reopened since the last run") < html.index("Oldest open items")
    oldest = html[html.index("Oldest open items") :]
    assert oldest.index("INV0003") < oldest.index("INV0002") < oldest.index("INV0001")
    assert "2,500.50 USD" in html


def test_aging_buckets_total_per_currency(report: Report) -> None:
    rows = {r["bucket"]: r for r in report.sections[0].aging()}
    assert rows["0-2"]["count"] == 1 and rows["0-2"]["totals"] == {"USD": Decimal("100.00")}
    assert rows["8-30"]["totals"] == {"USD": Decimal("2500.50")}
    assert rows["over 30"]["count"] == 1 and rows["3-7"]["count"] == 0


def test_xlsx_has_typed_numbers_filters_and_frozen_header(report: Report) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert book.sheetnames == ["Summary", "Billing vs ERP invoices", "Resolved since last run"]
    sheet = book["Billing vs ERP invoices"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["exception_id", "run_state", "status", "category"]
    amount_col = header.index("amount") + 1
    assert sheet.cell(row=3, column=amount_col).value == pytest.approx(2500.50)
    assert isinstance(sheet.cell(row=3, column=amount_col).value, float)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A1")


def test_without_smtp_the_report_is_written_as_eml(report: Report, tmp_path: Path) -> None:
    settings = ReportSettings(recipients=["ar@example.com"], out_dir=str(tmp_path))
    outcome = deliver(report, settings)
    (eml,) = tmp_path.glob("*.eml")
    assert str(eml) in outcome
    from email import message_from_bytes

    msg = message_from_bytes(eml.read_bytes())
    assert msg["To"] == "ar@example.com"
    assert "1 new, 3 open" in msg["Subject"]


def test_sent_over_smtp_with_starttls_and_auth(report: Report, smtp_server: Inbox) -> None:
    settings = ReportSettings(
        recipients=["ar@example.com", "controller@example.com"],
        attach_csv=True,
        smtp=SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            starttls=True,
            username=USER,
            password=SecretStr(PASSWORD),
            sender="billbridge@example.com",
            ca_file=smtp_server.ca_file,
        ),
    )
    outcome = deliver(report, settings)
    assert outcome.startswith("sent to 2 recipient(s)")
    assert smtp_server.logins == [USER]
    ((rcpts, msg),) = smtp_server.messages
    assert rcpts == ["ar@example.com", "controller@example.com"]
    parts = {p.get_content_type(): p for p in msg.walk()}
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "INV0001" in html
    xlsx = next(p for p in msg.walk() if p.get_filename("").endswith(".xlsx"))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_payload(decode=True)))
    assert "Billing vs ERP invoices" in book.sheetnames
    csv_part = next(p for p in msg.walk() if p.get_filename("").endswith(".csv"))
    assert b"INV0002" in csv_part.get_payload(decode=True)
    assert PASSWORD.encode() not in msg.as_bytes()


def test_wrong_smtp_password_fails_loudly(report: Report, smtp_server: Inbox) -> None:
    import smtplib

    settings = ReportSettings(
        recipients=["ar@example.com"],
        smtp=SmtpSettings(
            host=smtp_server.host,
            port=smtp_server.port,
            username=USER,
            password=SecretStr("wrong"),
            sender="b@example.com",
            timeout_seconds=5,
            ca_file=smtp_server.ca_file,
        ),
    )
    with pytest.raises(DeliveryError) as failed:
        deliver(report, settings)
    assert isinstance(failed.value.__cause__, smtplib.SMTPAuthenticationError)
    assert f"{smtp_server.host}:{smtp_server.port} refused the login of 'ar-bot' (535" in str(
        failed.value
    )
    assert "wrong" not in str(failed.value)
    assert smtp_server.messages == []


def test_severity_is_styled_whatever_its_case(report: Report) -> None:
    shouted = report.model_copy(
        update={
            "sections": [
                report.sections[0].model_copy(
                    update={"items": [item(5).model_copy(update={"severity": "CRITICAL"})]}
                )
            ]
        }
    )
    html = render_html(shouted)
    assert 'class="sev-critical">critical<' in html
