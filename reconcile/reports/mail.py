"""Send the report over SMTP (STARTTLS and auth), or write it as an .eml file."""

from __future__ import annotations

import smtplib
import socket
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from billbridge.errors import BillbridgeError
from config.model import ReportSettings, SmtpSettings
from reconcile.reports.model import Report
from reconcile.reports.render import render_csv, render_html, render_xlsx


class DeliveryError(BillbridgeError):
    """The report did not reach every configured recipient (or none at all)."""


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def build_message(
    report: Report, settings: ReportSettings, *, sender: str | None = None
) -> EmailMessage:
    msg = EmailMessage()
    failed = _failed_subject(report)
    msg["Subject"] = (
        f"{settings.subject_prefix} {report.title}: {failed}{report.counts_text()}".strip()
    )
    msg["From"] = sender or (settings.smtp.sender if settings.smtp else "billbridge@localhost")
    msg["To"] = ", ".join(settings.recipients)
    if settings.cc:
        msg["Cc"] = ", ".join(settings.cc)
    msg["Date"] = format_datetime(report.generated_at)
    msg["Message-ID"] = make_msgid(domain="billbridge")
    failures = "".join(f"FAILED {f.label}: {f.error}\n" for f in report.failed_steps)
    msg.set_content(
        f"{report.title}\n{failures}Exceptions: {report.counts_text()}. "
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


def _send(smtp: SmtpSettings, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """One SMTP session; the recipients the server refused (all refused: every one)."""
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
            return client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            return exc.recipients  # every one of them: nothing was sent


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _failure(exc: OSError, smtp: SmtpSettings) -> str:
    """What went wrong talking to the server, as one sentence naming it (never the
    password: the server's replies do not hold it)."""
    where = f"{smtp.host}:{smtp.port}"
    lead = "the report was not sent: "
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = _text(exc.smtp_error)
        return f"{lead}{where} refused the login of {smtp.username!r} ({exc.smtp_code} {reply})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        what = "STARTTLS" if "STARTTLS" in str(exc) else "what was asked"
        return f"{lead}{where} does not support {what} ({exc}); check reports.smtp starttls/ssl"
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _text(exc.smtp_error)
        return f"{lead}{where} answered {exc.smtp_code} {reply}"
    if isinstance(exc, smtplib.SMTPException):
        return f"{lead}SMTP with {where} failed: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{lead}the TLS certificate of {where} could not be verified "
            f"({exc.verify_message}); set reports.smtp.ca_file for a private CA"
        )
    if isinstance(exc, ssl.SSLError):
        return f"{lead}TLS with {where} failed ({exc.reason or exc})"
    if isinstance(exc, FileNotFoundError) and smtp.ca_file:
        return f"{lead}reports.smtp.ca_file {smtp.ca_file} could not be read"
    if isinstance(exc, TimeoutError):
        return f"{lead}{where} did not answer within {smtp.timeout_seconds:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"{lead}could not connect to {where}: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"{lead}could not connect to {where}: host name not found"
    return f"{lead}could not talk to {where}: {exc.strerror or exc}"


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
    try:
        refused = _send(smtp, msg)
    except OSError as exc:  # smtplib's and ssl's errors are OSErrors too
        raise DeliveryError(_failure(exc, smtp), internal=repr(exc)) from exc
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
