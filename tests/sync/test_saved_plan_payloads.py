"""`sync apply --plan` writes exactly what a fresh plan would: a plan file whose payloads were
edited, or planned under another catalog, is refused naming the record and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from billbridge.state import Store
from sync import plan_render
from sync.planner import Plan
from sync.runner import PlanStale, RunReport, run_job
from sync.settings import SyncJobSettings
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB


def _source() -> FakeSource:
    src = FakeSource()
    src.put("customer", customer("001A", name="Acme"))
    src.put("contract", contract("800A", "001A", [line("L1", "5", "10.00")]))
    return src


def _saved(job: SyncJobSettings, src: FakeSource, store: Store, path: Path) -> Path:
    plan = run_job(job, source=src, target=FakeTarget(), store=store, mode="plan").plan
    plan_render.save(plan, path)
    return path


def _apply(
    job: SyncJobSettings, src: FakeSource, tgt: FakeTarget, store: Store, plan: Plan
) -> RunReport:
    return run_job(
        job, source=src, target=tgt, store=store, mode="apply", plan=plan, sleep=lambda s: None
    )


def test_an_edited_payload_in_the_plan_file_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    src, tgt = _source(), FakeTarget()
    path = _saved(JOB, src, sqlite_store, tmp_path / "plan.json")
    doc = json.loads(path.read_text())
    for change in doc["changes"]:
        for intent in change["intents"]:
            text = json.dumps(intent["payload"]).replace('"10.00"', '"0.01"')
            intent["payload"] = json.loads(text)
    path.write_text(json.dumps(doc))
    edited = plan_render.load(path)
    assert (
        edited.fingerprint()
        != plan_render.load(_saved(JOB, src, sqlite_store, tmp_path / "b.json")).fingerprint()
    )
    with pytest.raises(
        PlanStale, match=r"contract 800A CreateSubscription: payload\..*listPrice differs"
    ):
        _apply(JOB, src, tgt, sqlite_store, edited)
    assert tgt.write_calls == 0 and tgt.subscriptions == {} and tgt.accounts == {}


def test_a_plan_made_under_another_catalog_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    src, tgt = _source(), FakeTarget()
    old = JOB.model_copy(update={"catalog": {"SKU-A": ("PRP-OLD", "PRPC-OLD")}})
    new = JOB.model_copy(update={"catalog": {"SKU-A": ("PRP-NEW", "PRPC-NEW")}})
    saved = plan_render.load(_saved(old, src, sqlite_store, tmp_path / "plan.json"))
    with pytest.raises(
        PlanStale, match=r"contract 800A CreateSubscription: .*productRatePlanId differs"
    ):
        _apply(new, src, tgt, sqlite_store, saved)
    assert tgt.write_calls == 0 and tgt.subscriptions == {}
    # planned again under the new catalog, it applies with the new rate plan
    fresh = plan_render.load(_saved(new, src, sqlite_store, tmp_path / "again.json"))
    report = _apply(new, src, tgt, sqlite_store, fresh)
    assert report.counts["applied"] == 2
    assert tgt.subscriptions["SF-800A"]["lines"]["L1"]["sku"] == "PRP-NEW"


def test_an_untouched_plan_file_applies_what_it_shows(sqlite_store: Store, tmp_path: Path) -> None:
    src, tgt = _source(), FakeTarget()
    saved = plan_render.load(_saved(JOB, src, sqlite_store, tmp_path / "plan.json"))
    report = _apply(JOB, src, tgt, sqlite_store, saved)
    assert report.counts["applied"] == 2 and report.plan.fingerprint() == saved.fingerprint()
    assert tgt.subscriptions["SF-800A"]["lines"]["L1"] == {
        "sku": "SKU-A",
        "qty": "5",
        "price": "10.00",
    }
