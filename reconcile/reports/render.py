"""Render a report as HTML (Jinja2, autoescaped), an XLSX workbook and CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from jinja2 import Environment, PackageLoader, select_autoescape

from billbridge.errors import BillbridgeError
from canonical import UnknownCurrencyError, minor_units
from reconcile.engine.output import csv_cell
from reconcile.reports.model import Report, ReportItem


def money_digits(amount: Decimal, currency: str | None) -> int:
    """Decimal places to show ``amount`` with: its currency's minor units (JPY 0, USD 2,
    BHD 3), or more when the amount has more (nothing is rounded away); an unknown or
    missing currency shows the amount's own digits."""
    exponent = amount.as_tuple().exponent
    own = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    try:
        return max(minor_units(str(currency).strip().upper()), own) if currency else own
    except UnknownCurrencyError:
        return own


def format_money(amount: Decimal | None, currency: str | None = None) -> str:
    """``1,234.50`` for USD, ``0.005`` for BHD, ``1`` for JPY; '' for no amount."""
    if amount is None:
        return ""
    return f"{amount:,.{money_digits(amount, currency)}f}"


_env = Environment(
    loader=PackageLoader("reconcile.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["money"] = format_money

#: how timestamps read in CSV files and XLSX cells (UTC)
STAMP = "%Y-%m-%d %H:%M"
COLUMNS: tuple[str, ...] = (
    "exception_id",
    "run_state",
    "status",
    "category",
    "record",
    "description",
    "amount",
    "currency",
    "severity",
    "age_days",
    "first_seen",
    "last_seen",
    "owner",
)


#: the workbook's "Resolved since last run" sheet: every section's resolved items
RESOLVED_COLUMNS: tuple[str, ...] = (
    "reconciliation",
    "exception_id",
    "category",
    "record",
    "description",
    "amount",
    "currency",
    "first_seen",
    "resolved_at",
)


def _resolved_row(item: ReportItem) -> list[Any]:
    return [
        item.recon,
        item.exception_id,
        item.category,
        item.key_text,
        item.description,
        item.amount,
        item.currency or "",
        _utc_naive(item.first_seen),
        _utc_naive(item.resolved_at or item.last_seen),
    ]


def render_html(report: Report) -> str:
    return _env.get_template("report.html.j2").render(report=report)


def _row(item: ReportItem) -> list[Any]:
    return [
        item.exception_id,
        item.run_state,
        item.status,
        item.category,
        item.key_text,
        item.description,
        item.amount,
        item.currency or "",
        item.severity,
        item.age_days,
        _utc_naive(item.first_seen),
        _utc_naive(item.last_seen),
        item.owner or "",
    ]


def _utc_naive(at: datetime | None) -> datetime | None:
    """A timestamp as UTC wall time (Excel cells hold no zone; the report is in UTC)."""
    return None if at is None else at.astimezone(UTC).replace(tzinfo=None)


def _text(value: Any) -> str:
    """A cell as CSV text (timestamps as 2026-12-01 06:00, UTC). Source text that would
    start a formula (``=HYPERLINK(...)``, ``@SUM``, ``+``, ``-``, tab, CR) gets a leading
    ``'`` so Excel shows it as text; numbers (``-12.50``) are left as they are."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(STAMP)
    if isinstance(value, str):
        return str(csv_cell(value))
    return str(value)


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(c for c in name if c not in "[]:*?/\\")[:31] or "sheet"
    candidate, n = base, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


#: significant digits Excel keeps of a number (a double holds 15 exactly)
EXCEL_DIGITS = 15


def _exact_in_excel(amount: Decimal) -> bool:
    """Whether Excel shows ``amount`` as it is: at most 15 significant digits (trailing
    zeros do not count). 99999999999999999998.99 would show as 1E+20."""
    if not amount.is_finite():
        return False
    return len(amount.normalize().as_tuple().digits) <= EXCEL_DIGITS


def render_xlsx(report: Report) -> bytes:
    """A sheet per reconciliation: typed numbers, filters, frozen header row."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    money_formats: dict[int, Any] = {}

    def money(amount: Decimal, currency: str | None) -> Any:
        """A number format with the currency's minor-unit digits (#,##0.000 for BHD)."""
        digits = money_digits(amount, currency)
        if digits not in money_formats:
            pattern = "#,##0" + ("." + "0" * digits if digits else "")
            money_formats[digits] = book.add_format({"num_format": pattern})
        return money_formats[digits]

    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    used: set[str] = set()

    summary = book.add_worksheet(_sheet_name("Summary", used))
    headers = [
        "reconciliation", "open", "new or reopened", "resolved since last run", "last run",
    ]  # fmt: skip
    summary.write_row(0, 0, headers, bold)
    for r, section in enumerate(report.sections, start=1):
        summary.write_string(r, 0, section.title)
        summary.write_number(r, 1, len(section.open_items))
        summary.write_number(r, 2, len(section.new_items))
        summary.write_number(r, 3, len(section.resolved))
        if section.last_run_at is not None:
            summary.write_datetime(r, 4, _utc_naive(section.last_run_at), stamp)
    summary.freeze_panes(1, 0)
    summary.set_column(0, 0, 40)

    sheets: list[tuple[str, Sequence[str], list[ReportItem]]] = [
        (s.title, COLUMNS, s.items) for s in report.sections
    ]
    if report.dead_letters:
        sheets.append(("Dead-lettered writes", COLUMNS, report.dead_letters))
    resolved = [i for s in report.sections for i in s.resolved]
    if resolved:
        sheets.append(("Resolved since last run", RESOLVED_COLUMNS, resolved))
    for title, columns, items in sheets:
        sheet = book.add_worksheet(_sheet_name(title, used))
        sheet.write_row(0, 0, columns, bold)
        for r, item in enumerate(items, start=1):
            row = _row(item) if columns is COLUMNS else _resolved_row(item)
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif isinstance(value, Decimal) and not _exact_in_excel(value):
                    # more digits than a double keeps: as text, every digit shown
                    sheet.write_string(r, c, format_money(value, item.currency))
                elif isinstance(value, Decimal):
                    # Excel holds doubles; minor units survive, shown with the currency's
                    sheet.write_number(r, c, float(value), money(value, item.currency))
                elif isinstance(value, int):
                    sheet.write_number(r, c, value)
                elif value is None:
                    sheet.write_blank(r, c, None)
                else:
                    sheet.write_string(r, c, str(value))
        sheet.autofilter(0, 0, max(len(items), 1), len(columns) - 1)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, 0, 18)
        sheet.set_column(3, 5, 30)
        for name in ("first_seen", "last_seen", "resolved_at"):
            if name in columns:
                at = list(columns).index(name)
                sheet.set_column(at, at, 16)  # wide enough for the date cells
    book.close()
    return buf.getvalue()


#: CSV files and attachments start with it: Excel on Windows then reads them as UTF-8
BOM = "\ufeff"


def render_csv(items: list[ReportItem]) -> str:
    """The items as CSV text, BOM first (write or encode it as UTF-8)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([_text(v) for v in _row(item)])
    return out.getvalue()


class OutputDirError(BillbridgeError):
    """The report folder cannot be used: a file is in the way, or it cannot be written.
    The message names the folder as given (``--out DIR: ...`` on the command line)."""


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder that is an existing file before any work is done."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputDirError(f"{out_dir}: exists and is not a directory")


def write_report_files(report: Report, out_dir: Path, *, csv_files: bool = False) -> list[Path]:
    """Write report.html and exceptions.xlsx (and a CSV per section) into ``out_dir``.

    :class:`OutputDirError` (one line naming ``out_dir``) when the folder is a file or
    cannot be created or written."""
    check_out_dir(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html = out_dir / "report.html"
        html.write_text(render_html(report), encoding="utf-8")
        xlsx = out_dir / "exceptions.xlsx"
        xlsx.write_bytes(render_xlsx(report))
        written = [html, xlsx]
        if csv_files:
            for section in report.sections:
                path = out_dir / f"{section.name}.csv"
                path.write_text(render_csv(section.items), encoding="utf-8")
                written.append(path)
    except FileExistsError:
        raise OutputDirError(f"{out_dir}: a part of the path is a file, not a folder") from None
    except NotADirectoryError:
        raise OutputDirError(f"{out_dir}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise OutputDirError(f"{out_dir}: cannot write: {exc.strerror or exc}") from None
    return written
