"""The append-only run log stores a failed run's exception text: a vendor error body that
echoes a configured secret or the live session id must be scrubbed before the row is
written (it can never be cleaned afterwards)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from billbridge import logs
from billbridge.cli import main
from billbridge.state import Store
from sync import runlog

HOST = "https://acme.my.salesforce.com"
SF_SECRET = "9F3C1A7E5B2D4C6E8A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2"
Z_SECRET = "zs-2b7e151628aed2a6abf7158809cf4f3c"
SESSION = "00D5g000004Xk2E!AQ0AQHf9sG3kQx1wVb7yZp2Lm4Nn6Rr8Tt0Uu"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_failed_sync_run_log_row_is_scrubbed(
    rsps: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.clear_secrets()
    monkeypatch.setenv("BB_LEAK_SF_SECRET", SF_SECRET)
    monkeypatch.setenv("BB_LEAK_ZUORA_SECRET", Z_SECRET)
    state = tmp_path / "state.db"
    config = tmp_path / "billbridge.yaml"
    config.write_text(
        f"state:\n  url: sqlite:///{state}\n"
        "connections:\n"
        "  sf:\n    system: salesforce\n"
        f"    instance_url: {HOST}\n    auth_mode: client_credentials\n"
        "    consumer_key: 3MVG9ck\n    consumer_secret: {secret: BB_LEAK_SF_SECRET}\n"
        "    max_attempts: 1\n"
        "  zuora:\n    system: zuora\n    tenant: us_api_sandbox\n    client_id: cid-1\n"
        "    client_secret: {secret: BB_LEAK_ZUORA_SECRET}\n"
        "jobs:\n  sf_to_zuora:\n    source: sf\n    target: zuora\n    target_kind: zuora\n"
        "    entities: [customer]\n"
    )
    rsps.post(
        f"{HOST}/services/oauth2/token",
        json={
            "access_token": SESSION,
            "instance_url": HOST,
            "token_type": "Bearer",
            "id": f"{HOST}/id/00D5g000004Xk2E/0055g00000A1b2C",
            "issued_at": "1714557600000",
            "signature": "c2lnbmF0dXJl",
        },
    )
    # the first call the run makes is a describe; the org's proxy echoes what it was sent
    rsps.get(
        re.compile(rf"{HOST}/services/data/v\d+\.\d/sobjects.*"),
        status=403,
        json=[
            {
                "errorCode": "INSUFFICIENT_ACCESS",
                "message": f"denied for Bearer {SESSION} (zuora client {Z_SECRET})",
            }
        ],
    )
    monkeypatch.setattr(
        sys, "argv", ["billbridge", "sync", "apply", "sf_to_zuora", "--config", str(config)]
    )
    with pytest.raises(SystemExit) as done:
        main.run()
    assert done.value.code == 2
    capsys.readouterr()
    store = Store(f"sqlite:///{state}")
    try:
        rows = runlog.rows(store, job="sf_to_zuora")
    finally:
        store.close()
    failed = [r for r in rows if r.event == "failed"]
    assert failed and "INSUFFICIENT_ACCESS" in (failed[0].message or "")
    for row in rows:
        text = row.message or ""
        assert SESSION not in text and Z_SECRET not in text, text
