"""A report that did not reach a configured recipient is a failure (exit 1, a failed
nightly step) naming them. Was: "sent; refused by the server for: ..." and "no recipients
configured; nothing sent", both exit 0."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.report_cmd import app
from billbridge.state import Store
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id
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
