"""Exception reports: HTML e-mail body, XLSX workbook, CSV, delivered by SMTP or as .eml."""

from reconcile.reports.build import describe, report_from_store, section_title, to_item
from reconcile.reports.mail import DeliveryError, build_message, deliver
from reconcile.reports.model import AGE_BUCKETS, FailedStep, ReconSection, Report, ReportItem
from reconcile.reports.render import render_csv, render_html, render_xlsx, write_report_files

__all__ = [
    "AGE_BUCKETS",
    "DeliveryError",
    "FailedStep",
    "ReconSection",
    "Report",
    "ReportItem",
    "build_message",
    "deliver",
    "describe",
    "render_csv",
    "render_html",
    "render_xlsx",
    "report_from_store",
    "section_title",
    "to_item",
    "write_report_files",
]
