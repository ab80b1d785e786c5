"""An unknown --log-format / --log-level (or BILLBRIDGE_LOG_FORMAT / _LEVEL) is a usage
error naming the allowed values, exit 2 (was: silently console / INFO)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from billbridge import logs
from billbridge.cli.main import app


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["--log-format", "xml"],
            {},
            "error: --log-format/BILLBRIDGE_LOG_FORMAT 'xml' is not one of auto, json, console\n",
        ),
        (
            [],
            {"BILLBRIDGE_LOG_FORMAT": "yaml"},
            "error: --log-format/BILLBRIDGE_LOG_FORMAT 'yaml' is not one of auto, json, console\n",
        ),
        (
            ["--log-level", "bogus"],
            {},
            "error: --log-level/BILLBRIDGE_LOG_LEVEL 'bogus' is not one of "
            "DEBUG, INFO, WARNING, ERROR, CRITICAL\n",
        ),
    ],
)
def test_unknown_log_format_or_level_is_a_usage_error(
    args: list[str], env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BILLBRIDGE_LOG_FORMAT", raising=False)
    monkeypatch.delenv("BILLBRIDGE_LOG_LEVEL", raising=False)
    res = CliRunner().invoke(app, [*args, "config", "schema"], env=env)
    assert res.exit_code == 2
    assert res.output == message


def test_known_values_are_accepted_in_any_case() -> None:
    args = ["--log-format", "JSON", "--log-level", "debug", "config", "schema"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    logs.configure(fmt="json", level="WARNING")


def test_configure_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="log format 'xml' is not one of auto, json, console"):
        logs.configure(fmt="xml")
    with pytest.raises(ValueError, match="log level 'BOGUS' is not one of"):
        logs.configure(level="bogus")
