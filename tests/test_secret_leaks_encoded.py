"""A secret also travels encoded: base64 inside SMTP AUTH PLAIN (``\\0user\\0password``) or
a Basic header, URL-encoded in a form body. A server that echoes those forms in its error
text must not get the credential onto the terminal or into a log."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app
from billbridge.state import Store

USER = "ar-bot"
PASSWORD = "Tr0ub4dor&3 horse/+="


class _Handler:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.fixture
def echoing_relay() -> Iterator[int]:
    """A relay that refuses the login and quotes the AUTH PLAIN blob it got (as some do)."""

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        blob = base64.b64encode(b"\0" + data.login + b"\0" + data.password).decode()
        return AuthResult(
            success=False, handled=False, message=f"535 5.7.8 authentication failed: {blob}"
        )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        _Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield port
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_an_echoed_auth_plain_blob_is_scrubbed(
    echoing_relay: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs.clear_secrets()
    monkeypatch.setenv("BB_LEAK_SMTP_PW", PASSWORD)
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)
    Store(f"sqlite:///{tmp_path / 'state.db'}").close()
    config = tmp_path / "billbridge.yaml"
    config.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\n"
        "reports:\n  recipients: [ar@example.com]\n"
        f"  smtp: {{host: 127.0.0.1, port: {echoing_relay}, starttls: false,\n"
        f"         sender: bb@example.com, username: {USER},\n"
        "         password: {secret: BB_LEAK_SMTP_PW}}\n"
    )
    result = CliRunner().invoke(app, ["report", "send", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "535 5.7.8 authentication failed" in result.stderr
    blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    user_part = base64.b64encode(f"\0{USER}\0".encode()).decode()
    assert blob not in result.output
    # nothing of the password's own characters is left: only the user's part and the edges
    shown = result.stderr.split("authentication failed: ", 1)[1]
    assert len(shown.replace("***", "").split()[0].rstrip(")")) <= len(user_part) + 2
    logs.clear_secrets()


@pytest.mark.parametrize("offset_user", ["", "a", "ab", "abc", "ar-bot"])
def test_every_base64_alignment_and_url_encoding_is_redacted(offset_user: str) -> None:
    logs.clear_secrets()
    logs.register_secret(PASSWORD)
    plain = base64.b64encode(f"\0{offset_user}\0{PASSWORD}".encode()).decode()
    basic = base64.b64encode(f"{offset_user}:{PASSWORD}".encode()).decode()
    form = urlencode({"client_id": offset_user, "client_secret": PASSWORD})
    for text in (plain, basic, form):
        scrubbed = logs.scrub_text(text)
        assert "***" in scrubbed
        assert PASSWORD not in scrubbed
    assert "client_secret=***" in logs.scrub_text(form)
    assert logs.scrub_text("an ordinary sentence, 250 OK") == "an ordinary sentence, 250 OK"
    logs.clear_secrets()
