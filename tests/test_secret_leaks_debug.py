"""``--debug`` prints the traceback of an error; the exception messages in it are vendor and
config text, and are scrubbed like the one-line error."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from billbridge import logs
from billbridge.cli import main

ZUORA = "https://rest.apisandbox.zuora.com"
Z_SECRET = "zs-2b7e151628aed2a6abf7158809cf4f3c"
TOKEN = "3f2c5a9b8e7d4c1a0b9e8d7c6b5a4f3e"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_debug_traceback_is_scrubbed(
    rsps: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.clear_secrets()
    monkeypatch.setenv("BB_LEAK_ZUORA_SECRET", Z_SECRET)
    config = tmp_path / "billbridge.yaml"
    config.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'state.db'}\n"
        "connections:\n  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n"
        "    client_id: cid-1\n    client_secret: {secret: BB_LEAK_ZUORA_SECRET}\n"
        "    max_attempts: 1\n"
    )
    rsps.post(
        f"{ZUORA}/oauth/token",
        json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 3599, "jti": "j1"},
    )
    rsps.post(
        f"{ZUORA}/v1/action/query",
        status=403,
        json={"message": f"client_secret {Z_SECRET} / Bearer {TOKEN} has no permission"},
    )
    monkeypatch.setattr(
        sys,
        "argv",
        ["billbridge", "--debug", "connectors", "read", "zuora", "customer", "-c", str(config)],
    )
    with pytest.raises(SystemExit) as done:
        main.run()
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "has no permission" in err
    assert Z_SECRET not in err and TOKEN not in err
    assert not re.search(r"zs-2b7e|3f2c5a9b", err)
