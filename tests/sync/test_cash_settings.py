"""A cash-application sync job in the config file: what it needs and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sync.settings import SyncJobSettings


def test_a_cash_job_writes_payments_from_saved_runs() -> None:
    job = SyncJobSettings(
        name="cash_to_ns",
        kind="cash_application",
        target="ns_prod",
        target_kind="netsuite",
        cash={"runs": "cash-runs", "deposit_account": "118"},
    )
    assert job.entities == ("payment",) and job.source == ""
    assert job.cash is not None and job.cash.payment_method_type == "Other"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "cash_application"}, "needs 'cash: {runs: FOLDER}'"),
        (
            {"kind": "cash_application", "cash": {"runs": "x"}, "entities": ["customer"]},
            "writes payments only",
        ),
        ({"source": "sf", "entities": ["payment"]}, "written by a job of kind cash_application"),
        ({"source": "sf", "cash": {"runs": "x"}}, "belong to a job of kind cash_application"),
        ({}, "a records job needs a source connection"),
        ({"kind": "cash_application", "cash": {"runs": "x", "typo": 1}}, "typo"),
    ],
)
def test_misfits_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SyncJobSettings(name="j", target="z", target_kind="zuora", **fields)  # type: ignore[arg-type]


def test_the_config_file_validates_a_cash_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.loader import load_config, typed_section

    monkeypatch.setenv("BB_TEST_CASH_ZU", "x")
    path = tmp_path / "billbridge.yaml"
    path.write_text(
        "version: 1\n"
        "connections:\n"  # the job's target must name a configured connection
        "  zuora_prod: {system: zuora, tenant: us_api_sandbox, client_id: c,"
        " client_secret: {secret: BB_TEST_CASH_ZU}}\n"
        "jobs:\n"
        "  cash_to_zuora:\n"
        "    kind: cash_application\n"
        "    target: zuora_prod\n"
        "    target_kind: zuora\n"
        "    cash: {runs: cash-runs, payment_method_type: WireTransfer}\n"
    )
    cfg = load_config(str(path))
    job = typed_section(cfg, "jobs", "cash_to_zuora")
    assert isinstance(job, SyncJobSettings) and job.kind == "cash_application"
    assert job.cash is not None and job.cash.runs == "cash-runs"
