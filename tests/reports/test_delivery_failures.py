"""A report that did not reach a configured recipient is a failure (exit 1, a failed
nightly step) naming them. Was: "sent; refused by the server for: ..." and "no recipients
configured; nothing sent", both exit 0. SMTP failures are one sentence naming host:port
and what failed, never the password (was: "unexpected ConnectionRefusedError ...")."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from typer.testing import CliRunner

from billbridge.cli.report_cmd import app
from billbridge.state import Store
from config.model import ReportSettings, SmtpSettings
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
from reconcile.reports import DeliveryError, Report, deliver
from tests.reports.conftest import PASSWORD, USER, Inbox


def _config(tmp_path: Path, inbox: Inbox, recipients: str) -> Path:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    keys = {"invoice_number": "INV-77"}
    cand = ExceptionCandidate(
        exception_id=exception_id("inv", keys, "NOT_SYNCED"), recon="inv",
        category="NOT_SYNCED", keys=keys, fingerprint="f1", details={}, severity="high",
        amount=Decimal("1250.00"), currency="USD",
    )  # fmt: skip
    ExceptionStore(store).record_run("inv", "r1", [cand], datetime(2026, 11, 20, tzinfo=UTC))
    store.close()
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(
        f"state:\n  url: {url}\nreports:\n  recipients: {recipients}\n"
        f"  smtp: {{host: {inbox.host}, port: {inbox.port}, sender: bb@example.com,\n"
        f"         username: {USER}, password: {{secret: BB_TEST_SMTP_PW}},\n"
        f"         ca_file: {inbox.ca_file}}}\n"
    )
    return cfg


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)
    monkeypatch.setenv("BB_TEST_SMTP_PW", PASSWORD)


def test_a_refused_recipient_fails_the_send_and_is_named(
    tmp_path: Path, smtp_server: Inbox
) -> None:
    smtp_server.refuse = {"bad-ar@example.com"}
    cfg = _config(tmp_path, smtp_server, "[ar@example.com, bad-ar@example.com]")
    result = CliRunner().invoke(app, ["send", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert (
        f"error: the report reached 1 of 2 recipient(s) via 127.0.0.1:{smtp_server.port}; "
        "the server refused: bad-ar@example.com (550)"
    ) in " ".join(result.stderr.split())
    assert [rcpts for rcpts, _ in smtp_server.messages] == [["ar@example.com"]]
    assert PASSWORD not in result.output


def test_every_recipient_refused_fails_the_same_way(tmp_path: Path, smtp_server: Inbox) -> None:
    smtp_server.refuse = {"bad-ar@example.com"}
    cfg = _config(tmp_path, smtp_server, "[bad-ar@example.com]")
    result = CliRunner().invoke(app, ["send", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert "reached 0 of 1 recipient(s)" in result.stderr
    assert smtp_server.messages == []


def test_smtp_without_recipients_fails(tmp_path: Path, smtp_server: Inbox) -> None:
    cfg = _config(tmp_path, smtp_server, "[]")
    result = CliRunner().invoke(app, ["send", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert "reports.recipients is empty" in result.stderr
    assert smtp_server.messages == []


def _settings(inbox: Inbox, **smtp: object) -> ReportSettings:
    base: dict[str, object] = {
        "host": inbox.host, "port": inbox.port, "username": USER,
        "password": SecretStr(PASSWORD), "sender": "bb@example.com", "timeout_seconds": 5,
        "ca_file": inbox.ca_file,
    }  # fmt: skip
    return ReportSettings(recipients=["ar@example.com"], smtp=SmtpSettings(**(base | smtp)))


def _report() -> Report:
    return Report(title="AR", generated_at=datetime(2026, 11, 20, tzinfo=UTC))


def _failure(settings: ReportSettings) -> str:
    """deliver's error, checked for what every one must hold."""
    with pytest.raises(DeliveryError) as failed:
        deliver(_report(), settings)
    text = str(failed.value)
    assert text.startswith("the report was not sent: ")
    assert PASSWORD not in text
    return text


def test_connection_refused_names_host_and_port(smtp_server: Inbox) -> None:
    """Was: "unexpected ConnectionRefusedError ... (run with --debug)" (as each below)."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text = _failure(_settings(smtp_server, port=port))
    assert text.endswith(f"could not connect to 127.0.0.1:{port}: connection refused")


def test_a_wrong_password_names_the_server_and_user_not_the_password(
    smtp_server: Inbox,
) -> None:
    text = _failure(_settings(smtp_server, password=SecretStr("not-the-pw-123")))
    assert f"127.0.0.1:{smtp_server.port} refused the login of 'ar-bot' (535" in text
    assert "not-the-pw-123" not in text


def test_an_unverifiable_certificate_says_so(smtp_server: Inbox) -> None:
    text = _failure(_settings(smtp_server, ca_file=None))  # self-signed, system CAs only
    assert f"the TLS certificate of 127.0.0.1:{smtp_server.port} could not be verified" in text
    assert "reports.smtp.ca_file" in text


def test_starttls_not_offered_says_so(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_Plain(), hostname="127.0.0.1", port=port)  # no TLS at all
    controller.start()
    try:
        inbox = Inbox(host="127.0.0.1", port=port, ca_file="")
        text = _failure(_settings(inbox, ca_file=None, username=None, password=None))
    finally:
        controller.stop()
    assert f"127.0.0.1:{port} does not support STARTTLS" in text


def test_send_exits_1_with_the_sentence(
    tmp_path: Path, smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BB_TEST_SMTP_PW", "wrong-pw-456")
    cfg = _config(tmp_path, smtp_server, "[ar@example.com]")
    result = CliRunner().invoke(app, ["send", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert f"error: the report was not sent: 127.0.0.1:{smtp_server.port} refused" in (
        result.stderr
    )
    assert "wrong-pw-456" not in result.output


class _Plain:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"
