"""Send the report over SMTP (STARTTLS and auth), or write it as an .eml file."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from billbridge.errors import BillbridgeError
from config.model import ReportSettings
from reconcile.reports.model import Report
from reconcile.reports.render import render_csv, render_html, render_xlsx


class DeliveryError(BillbridgeError):
    """The report did not reach every configured recipient (or none at all)."""


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def build_message(
    report: Report, settings: ReportSettings, *, sender: str | None = None
) -> EmailMessage:
    msg = EmailMessage()
    new, open_ = report.new_count, report.open_count
    failed = _failed_subject(report)
    msg["Subject"] = (
        f"{settings.subject_prefix} {report.title}: {failed}{new} new, {open_} open".strip()
    )
    msg["From"] = sender or (settings.smtp.sender if settings.smtp else "billbridge@localhost")
    msg["To"] = ", ".join(settings.recipients)
    if settings.cc:
        msg["Cc"] = ", ".join(settings.cc)
    msg["Date"] = format_datetime(report.generated_at)
    msg["Message-ID"] = make_msgid(domain="billbridge")
    failures = "".join(f"FAILED {f.label}: {f.error}\n" for f in report.failed_steps)
    msg.set_content(
        f"{report.title}\n{failures}{new} new and {open_} open exceptions. "
        "Open the HTML part or the attached workbook for details.\n"
    )
    msg.add_alternative(render_html(report), subtype="html")
    stamp = report.generated_at.strftime("%Y%m%d")
    msg.add_attachment(
        render_xlsx(report),
        maintype=XLSX_TYPE[0],
        subtype=XLSX_TYPE[1],
        filename=f"billbridge-exceptions-{stamp}.xlsx",
    )
    if settings.attach_csv:
        for section in report.sections:
            msg.add_attachment(
                render_csv(section.items).encode("utf-8"),
                maintype="text",
                subtype="csv",
                filename=f"{section.name}-{stamp}.csv",
                params={"charset": "utf-8"},  # without it a reader may take Latin-1
            )
    return msg


def _failed_subject(report: Report, shown: int = 3) -> str:
    """ "FAILED reconcile a, sync b; " ahead of the counts, which alone would read as all
    clear; a long list is cut (the body names them all)."""
    labels = [f.label for f in report.failed_steps]
    if not labels:
        return ""
    more = f" and {len(labels) - shown} more" if len(labels) > shown else ""
    return f"FAILED {', '.join(labels[:shown])}{more}; "


def deliver(report: Report, settings: ReportSettings, *, now: datetime | None = None) -> str:
    """Send by SMTP when configured, else write an .eml file; return what was done."""
    msg = build_message(report, settings)
    smtp = settings.smtp
    if smtp is None:
        out = Path(settings.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stamp = (now or report.generated_at).strftime("%Y%m%dT%H%M%S")
        path = out / f"report-{stamp}.eml"
        path.write_bytes(bytes(msg))
        return f"wrote {path}"
    if not settings.recipients:
        raise DeliveryError(
            f"the report was not sent: SMTP ({smtp.host}:{smtp.port}) is configured but "
            "reports.recipients is empty"
        )
    context = ssl.create_default_context(cafile=smtp.ca_file)
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    with client:
        client.ehlo()
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=context)
            client.ehlo()
        if smtp.username and smtp.password is not None:
            client.login(smtp.username, smtp.password.get_secret_value())
        try:
            refused = client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients  # every one of them: nothing was sent
    if refused:
        # a recipient who did not get the report is a failed delivery, not a footnote
        wanted = len(settings.recipients) + len(settings.cc)
        got = wanted - len(refused)
        names = ", ".join(f"{a} ({code})" for a, (code, _) in sorted(refused.items()))
        raise DeliveryError(
            f"the report reached {got} of {wanted} recipient(s) via {smtp.host}:{smtp.port}; "
            f"the server refused: {names}"
        )
    return f"sent to {len(settings.recipients) + len(settings.cc)} recipient(s) via {smtp.host}"
