"""Settings validation, the nightly chain, what ``serve`` schedules, mapping versions."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from billbridge.state import Store
from sync import runlog
from sync.nightly import NightlyReport, run_nightly
from sync.serve import entries_from_config
from sync.settings import NightlySettings, ScheduleSettings, SyncJobSettings
from sync.specs import mapping_versions


def job(**kw: object) -> SyncJobSettings:
    base: dict[str, object] = {"name": "j", "source": "sf", "target": "z", "target_kind": "zuora"}
    return SyncJobSettings(**(base | kw))


def test_job_settings_defaults_and_refusals() -> None:
    j = job()
    assert j.max_attempts == 8 and j.entities == ("customer", "contract")
    assert job(entities=("contract", "customer")).entities == ("customer", "contract")
    with pytest.raises(ValidationError, match="at most 50 order actions"):
        job(batch_size=60)
    with pytest.raises(ValidationError, match="cannot sync"):
        job(entities=("invoice",))
    assert job(target_kind="netsuite", batch_size=200).batch_size == 200


def test_schedule_settings_refuse_what_would_silently_misfire() -> None:
    with pytest.raises(ValidationError, match="day of week as names"):
        ScheduleSettings(cron="0 2 * * 1-5")
    with pytest.raises(ValidationError, match="unknown time zone"):
        ScheduleSettings(cron="0 2 * * *", timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="cron"):
        ScheduleSettings(cron="not a cron")
    s = ScheduleSettings(cron="30 1 * * mon-fri", timezone="America/New_York")
    assert s.misfire_grace_hours == 6.0 and s.coalesce is True
    assert str(s.trigger().timezone) == "America/New_York"


def test_nightly_runs_sync_then_reconcile_then_report(sqlite_store: Store) -> None:
    order: list[str] = []

    def sync(name: str) -> None:
        order.append(f"sync:{name}")
        if name == "broken":
            raise RuntimeError("target down")

    reports: list[NightlyReport] = []
    settings = NightlySettings(sync_jobs=("a", "broken"), reconciliations=("r1", "r2"))
    result = run_nightly(
        settings,
        run_id="n1",
        store=sqlite_store,
        run_sync=sync,
        reconcile=lambda n: order.append(f"recon:{n}"),
        report=lambda rep: (order.append("report"), reports.append(rep)),
    )
    assert order == ["sync:a", "sync:broken", "recon:r1", "recon:r2", "report"]
    assert not result.ok and [f.name for f in result.failures] == ["broken"]
    assert reports[0].failures[0].message == "RuntimeError: target down"
    events = [r.event for r in runlog.rows(sqlite_store, job="nightly")]
    assert events == ["started", "sync_ok", "sync_failed", "reconcile_ok", "reconcile_ok", "failed"]


def test_nightly_can_stop_at_the_first_failure(sqlite_store: Store) -> None:
    def sync(name: str) -> None:
        raise RuntimeError("down")

    settings = NightlySettings(sync_jobs=("a",), reconciliations=("r1",), continue_on_error=False)
    called: list[str] = []
    result = run_nightly(
        settings,
        run_id="n2",
        store=sqlite_store,
        run_sync=sync,
        reconcile=called.append,
        report=lambda rep: called.append("report"),
    )
    assert called == ["report"]  # the report still says what failed
    assert [s.message for s in result.steps][:2] == [
        "RuntimeError: down",
        "not run: earlier failure",
    ]


def test_serve_schedules_each_configured_job_and_the_nightly_chain(sqlite_store: Store) -> None:
    cfg = SimpleNamespace(
        schedules={"j": {"cron": "*/15 * * * *"}, "nightly": {"cron": "0 3 * * *"}},
        nightly={"sync_jobs": ["j"], "reconciliations": ["r"]},
    )
    ctx = SimpleNamespace(config=cfg, job=lambda n: job(name=n), store=sqlite_store)
    entries = entries_from_config(ctx, threading.Event())  # type: ignore[arg-type]
    assert [e.job_id for e in entries] == ["sync:j", "nightly"]
    assert str(entries[1].trigger).startswith("cron[") and "hour='3'" in str(entries[1].trigger)


def test_mapping_versions_come_from_the_named_specs() -> None:
    from mappings import default_spec

    versions = mapping_versions(job(mappings={"contract": "canonical/contract_to_zuora_order"}))
    assert versions == {"contract": default_spec("canonical/contract_to_zuora_order").version}
    assert len(versions["contract"]) == 64
    assert mapping_versions(job()) == {}


def test_serves_nightly_chain_hands_its_steps_the_config_serve_was_started_with(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync import serve
    from sync.nightly import chain_config

    cfg = SimpleNamespace(schedules={"nightly": {"cron": "0 3 * * *"}}, nightly={})
    seen: list[object] = []
    monkeypatch.setitem(serve._steps, "report", lambda report: seen.append(chain_config()))
    ctx = SimpleNamespace(config=cfg, job=lambda n: job(name=n), store=sqlite_store)
    (nightly,) = entries_from_config(ctx, threading.Event())  # type: ignore[arg-type]
    nightly.run("run-1")
    assert seen == [cfg]
