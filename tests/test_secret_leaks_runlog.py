"""The append-only run log stores a failed run's exception text: a vendor error body that
echoes a configured secret or the live session id must be scrubbed before the row is
written (it can never be cleaned afterwards)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from billbridge.state import Store
from sync import runlog
from tests.secret_leaks_helpers import (
    HOST,
    SF_CONNECTION,
    Z_SECRET,
    ZUORA_CONNECTION,
    leaky_config,
    run_cli,
)

SESSION = "00D5g000004Xk2E!AQ0AQHf9sG3kQx1wVb7yZp2Lm4Nn6Rr8Tt0Uu"


def test_failed_sync_run_log_row_is_scrubbed(
    rsps: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "state.db"
    jobs = (
        "jobs:\n  sf_to_zuora:\n    source: sf\n    target: zuora\n    target_kind: zuora\n"
        "    entities: [customer]\n"
    )
    body = "connections:\n" + SF_CONNECTION + ZUORA_CONNECTION + jobs
    config = leaky_config(tmp_path, monkeypatch, body)
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
    assert run_cli(monkeypatch, "sync", "apply", "sf_to_zuora", "--config", str(config)) == 2
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
