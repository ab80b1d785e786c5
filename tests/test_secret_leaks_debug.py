"""``--debug`` prints the traceback of an error; the exception messages in it are vendor and
config text, and are scrubbed like the one-line error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from tests.secret_leaks_helpers import (
    Z_SECRET,
    ZUORA,
    ZUORA_CONNECTION,
    ZUORA_TOKEN,
    leaky_config,
    run_cli,
    zuora_token,
)


def test_debug_traceback_is_scrubbed(
    rsps: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = "connections:\n" + ZUORA_CONNECTION + "    max_attempts: 1\n"
    config = leaky_config(tmp_path, monkeypatch, body)
    zuora_token(rsps, ZUORA_TOKEN, jti="j1")
    rsps.post(
        f"{ZUORA}/v1/action/query",
        status=403,
        json={"message": f"client_secret {Z_SECRET} / Bearer {ZUORA_TOKEN} has no permission"},
    )
    args = ["--debug", "connectors", "read", "zuora", "customer", "-c", str(config)]
    assert run_cli(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "has no permission" in err
    assert Z_SECRET not in err and ZUORA_TOKEN not in err
    assert not re.search(r"zs-2b7e|3f2c5a9b", err)
