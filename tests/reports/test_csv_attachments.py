"""CSV attachments and files: formula-like text neutralised, UTF-8 declared and marked.

Was: ``=HYPERLINK(...)``, ``@SUM(...)``, ``+``/``-`` cells went out as they were (Excel runs
them), and the part was ``text/csv`` without a charset and without a BOM (Ü garbled)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr

from config.model import ReportSettings, SmtpSettings
from reconcile.reports import ReconSection, Report, ReportItem, deliver, write_report_files
from tests.reports.conftest import PASSWORD, USER, Inbox

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _report() -> Report:
    def item(i: int, owner: str, description: str, amount: str) -> ReportItem:
        return ReportItem(
            exception_id=f"ex{i}",
            recon="inv",
            category="AMOUNT_MISMATCH",
            keys={"customer": "Müller GmbH"},
            owner=owner,
            description=description,
            amount=Decimal(amount),
            currency="EUR",
            first_seen=NOW,
            last_seen=NOW,
        )

    items = [
        item(1, "Jürgen", '=HYPERLINK("http://evil.example","click")', "-12.50"),
        item(2, "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "5"),
        item(3, "-2+3", "\tTAB", "7"),
    ]
    section = ReconSection(name="inv", title="Invoices", items=items)
    return Report(title="AR exceptions", generated_at=NOW, sections=[section])


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Ü as Ü
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _check(rows: list[dict[str, str]]) -> None:
    assert {r["record"] for r in rows} == {"customer=Müller GmbH"}
    assert [r["owner"] for r in rows] == ["Jürgen", "'@SUM(A1:A9)", "'-2+3"]
    assert [r["description"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+cmd|' /C calc'!A0",
        "'\tTAB",
    ]
    assert rows[0]["amount"] == "-12.50"  # a number stays a number


def test_csv_attachment_is_neutralised_utf8_with_charset(smtp_server: Inbox) -> None:
    settings = ReportSettings(
        recipients=["ar@example.com"],
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
    deliver(_report(), settings)
    ((_, msg),) = smtp_server.messages
    part = next(p for p in msg.walk() if p.get_filename("").endswith(".csv"))
    assert part.get_content_type() == "text/csv"
    assert part.get_content_charset() == "utf-8"
    _check(_rows(part.get_payload(decode=True)))


def test_csv_files_written_by_render_are_the_same(tmp_path: Path) -> None:
    write_report_files(_report(), tmp_path, csv_files=True)
    _check(_rows((tmp_path / "inv.csv").read_bytes()))
