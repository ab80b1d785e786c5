"""No configured secret reaches a log line, whatever path it takes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import structlog

from billbridge import logs
from config import load_config

SECRET = "pw-7f3a9c2e-do-not-log"


@pytest.fixture
def captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    logs.clear_secrets()
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "reports:\n  smtp:\n    host: h\n    sender: a@b.c\n    username: u\n"
        "    password: {secret: BB_REDACTION_PW}\n"
    )
    monkeypatch.setenv("BB_REDACTION_PW", SECRET)
    load_config(path)  # loading registers the resolved secret for redaction
    buf = io.StringIO()
    logs.configure(fmt="json", stream=buf)
    yield buf
    logs.clear_secrets()


def test_secret_values_never_reach_logs(captured: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.info("plain value", detail=f"using {SECRET} now")
    log.info("nested", payload={"headers": {"x": [SECRET]}})
    log.info("by key", password="anything", client_secret="anything-else")
    try:
        raise RuntimeError(f"login failed with {SECRET}")
    except RuntimeError:
        log.exception("boom")
    output = captured.getvalue()
    assert SECRET not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 4
    assert lines[0]["detail"] == "using *** now"
    assert lines[2]["password"] == "***" and lines[2]["client_secret"] == "***"
    assert "***" in json.dumps(lines[3]["exception"])


def test_tracebacks_carry_no_local_variables(captured: io.StringIO) -> None:
    log = structlog.get_logger("test")

    def fails() -> None:
        token = "local-token-value-123"
        raise ValueError("bad " + str(len(token)))

    try:
        fails()
    except ValueError:
        log.exception("failed")
    output = captured.getvalue()
    assert "local-token-value-123" not in output
    assert "locals" not in json.loads(output)["exception"][0]["frames"][-1]


def test_bank_accounts_are_masked_to_last_four(captured: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "match", payer_account="DE89370400440532013000", routing_number="021000021"
    )
    line = json.loads(captured.getvalue())
    assert line["payer_account"].endswith("3000") and "370400" not in line["payer_account"]
    assert line["routing_number"].endswith("0021") and line["routing_number"].startswith("*")


def test_capture_logs_shows_redaction_processor_in_chain(captured: io.StringIO) -> None:
    processors = structlog.get_config()["processors"]
    assert logs.redact in processors
    assert processors.index(logs.redact) == len(processors) - 2  # right before the renderer


def test_default_stream_follows_a_replaced_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    logs.configure(fmt="json")
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    structlog.get_logger("t").warning("one")
    first.close()  # e.g. a CLI test runner's captured stream, closed after the run
    monkeypatch.setattr("sys.stderr", second)
    structlog.get_logger("t").warning("two")
    assert json.loads(second.getvalue())["event"] == "two"
