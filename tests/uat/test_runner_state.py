"""Run-over-run progress kept in the state store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import RunLogRow
from reconcile.exceptions import ExceptionStore
from tests.uat.builder import Plan, build
from tests.uat.conftest import NOW
from uat.runner import run_uat
from uat.spec import load_spec


def test_progress_and_scorecard_history(store: Store, tmp_path: Path) -> None:
    spec, base = load_spec(build(tmp_path))
    first = run_uat(spec, base, now=NOW, store=store, run_id="run-1")
    assert all(sc.progress and sc.progress.previous_rate is None for sc in first.scores)
    assert first.previous_at is None
    build(tmp_path, Plan(drop_subscription=False))  # SUB-009 now arrives in the new system
    second = run_uat(spec, base, now=NOW + timedelta(days=1), store=store, run_id="run-2")
    progress = {sc.entity: sc.progress for sc in second.scores}
    subs = progress["subscriptions"]
    assert subs is not None
    assert (subs.previous_rate, subs.fixed, subs.new) == (Decimal("81.25"), 1, 0)
    assert second.previous_at is not None
    with store.session() as s:
        rows = list(s.scalars(select(RunLogRow).where(RunLogRow.kind == "uat")))
        history = [(r.run_id, r.counts["entities"]["subscriptions"]["match_rate"]) for r in rows]
    assert history == [("run-1", "81.25"), ("run-2", "87.50")]
    views = ExceptionStore(store).list(recon="uat:erp-cutover:subscriptions", now=NOW)
    states = {(v.keys["subscription_id"], v.keys["item_code"]): v.run_state for v in views}
    assert states == {
        ("SUB-009", "NEW-A"): "RESOLVED_BY_DATA",
        ("SUB-012", "OLD-X"): "STILL_OPEN",
        ("SUB-012", "NEW-X"): "STILL_OPEN",
    }


def test_a_uat_run_keeps_its_amount_fields_for_the_exception_list(
    store: Store, tmp_path: Path
) -> None:
    """No config names a UAT spec: the run log's field kinds let `exceptions show` pad
    the entity's amounts to their minor units."""
    spec, base = load_spec(build(tmp_path))
    run_uat(spec, base, now=NOW, store=store, run_id="run-1")
    kinds = ExceptionStore(store).recorded_kinds()
    assert kinds["uat:erp-cutover:invoice_lines"].amounts == {"net_amount", "tax_amount"}
    assert kinds["uat:erp-cutover:ar_items"].amounts == {"amount", "open_amount"}
    assert kinds["uat:erp-cutover:trial_balance"].currencies == {"currency"}
