"""A changed record whose source version did not change (two Salesforce saves in one second
share their SystemModstamp) is still written: idempotency keys cover the write's content,
an unchanged record replanned keeps its key, and outbox rows keyed the old way (version
only, before an upgrade) still count as written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

import sync.planner
from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import Record, WriteIntent, WriteResult
from sync.runner import RunReport, run_job
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run

NJOB = JOB.model_copy(update={"name": "sf_to_netsuite", "target_kind": "netsuite"})


def _same_version(src: FakeSource, entity: str, record: Record) -> Record:
    """A save in the same second as the last one: new content, the same version token."""
    last = src.records[entity][record.source_id]
    rec = record.model_copy(
        update={"updated_at": last.updated_at, "source_version": last.source_version}
    )
    src.records[entity][rec.source_id] = rec
    return rec


def _rows(store: Store) -> list[OutboxIntentRow]:
    with store.session() as s:
        return list(s.scalars(select(OutboxIntentRow).order_by(OutboxIntentRow.seq)))


def _qty(tgt: FakeTarget) -> str:
    return str(tgt.subscriptions["SF-800A"]["lines"]["L1"]["qty"])


def _book(src: FakeSource, qty: str = "5") -> None:
    src.put("customer", customer("001A", name="Acme"))
    src.put("contract", contract("800A", "001A", [line("L1", qty, "10.00")]))


def _synced_then_changed_to_7(
    store: Store, sync: Callable[..., RunReport] = run
) -> tuple[FakeSource, FakeTarget]:
    """The book synced by ``sync``, then its line's quantity changed to 7 and synced again."""
    src, tgt = FakeSource(), FakeTarget()
    _book(src)
    sync(src, tgt, store)
    src.put("contract", contract("800A", "001A", [line("L1", "7", "10.00")]))
    sync(src, tgt, store)
    return src, tgt


def _saved_in_the_same_second(src: FakeSource, qty: str) -> None:
    """The contract's line saved again at ``qty`` under the version it has."""
    _same_version(src, "contract", contract("800A", "001A", [line("L1", qty, "10.00")]))


def test_a_second_save_in_the_same_second_is_written(sqlite_store: Store) -> None:
    src, tgt = _synced_then_changed_to_7(sqlite_store)
    assert _qty(tgt) == "7"
    _saved_in_the_same_second(src, "9")
    report = run(src, tgt, sqlite_store)
    assert [i.action for i in report.plan.intents()] == ["UpdateProduct"]
    assert report.counts["applied"] == 1 and _qty(tgt) == "9"
    # the same content read again (lookback) is not written again
    calls = tgt.write_calls
    again = run(src, tgt, sqlite_store)
    assert again.plan.empty and tgt.write_calls == calls
    updates = [r for r in _rows(sqlite_store) if r.action == "UpdateProduct"]
    assert len(updates) == 2 and len({r.idempotency_key for r in updates}) == 2
    assert {r.status for r in updates} == {"applied"}


def test_going_back_to_an_earlier_content_of_the_same_version_is_written(
    sqlite_store: Store,
) -> None:
    src, tgt = _synced_then_changed_to_7(sqlite_store)
    for qty in ("9", "7"):  # three saves in one second: 7, 9, then 7 again
        _saved_in_the_same_second(src, qty)
        run(src, tgt, sqlite_store)
        assert _qty(tgt) == qty


def test_netsuite_upserts_of_the_same_version_are_written(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    _book(src)
    run(src, tgt, sqlite_store, job=NJOB)
    _same_version(src, "customer", customer("001A", name="Acme GmbH"))
    _same_version(src, "contract", contract("800A", "001A", [line("L1", "8", "10.00")]))
    report = run(src, tgt, sqlite_store, job=NJOB)
    assert report.counts["applied"] == 2
    assert tgt.accounts["SF-001A"]["companyName"] == "Acme GmbH"
    items = tgt.subscriptions["SF-800A"]["order"]["item"]["items"]
    assert items[0]["quantity"] == "8"


def test_an_unchanged_record_planned_again_keeps_its_keys(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    _book(src)

    def plan() -> list[str]:
        report = run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="plan")
        return [i.idempotency_key for i in report.plan.intents()]

    first = plan()
    assert first == plan() and len(first) == 2
    applied = run(src, tgt, sqlite_store)
    assert [i.idempotency_key for i in applied.plan.intents()] == first


# -- outbox rows written before keys covered content (upgrade) ---------------------------
class _Rejecting(FakeTarget):
    """Rejects subscription creates for a rate plan it does not know."""

    def _mutate(self, intent: WriteIntent) -> WriteResult:
        if "PRP-WRONG" in str(intent.payload):
            return self._reject(intent, "Invalid ProductRatePlanId PRP-WRONG")
        return super()._mutate(intent)


@pytest.fixture
def old_release(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Runs under keys as the release before this fix made them (no content part)."""

    def run_old(*args: Any, **kw: Any) -> RunReport:
        with monkeypatch.context() as m:
            m.setattr(sync.planner, "content_digest", lambda *a, **k: "")
            return run(*args, **kw)

    return run_old


def test_a_write_keyed_the_old_way_is_not_planned_again(
    sqlite_store: Store, old_release: Any
) -> None:
    src, tgt = FakeSource(), _Rejecting()
    _book(src)
    wrong = JOB.model_copy(update={"catalog": {"SKU-A": ("PRP-WRONG", "PRPC-WRONG")}})
    first = old_release(src, tgt, sqlite_store, job=wrong)
    assert first.counts["rejected"] == 1
    old_keys = {r.idempotency_key for r in _rows(sqlite_store)}
    assert old_keys == {i.idempotency_key for i in first.plan.intents()}
    # after the upgrade the rejected create is read again (lookback): not resent
    calls = tgt.write_calls
    report = run(src, tgt, sqlite_store, job=wrong)
    assert report.plan.empty and tgt.write_calls == calls
    assert {r.idempotency_key for r in _rows(sqlite_store)} == old_keys


def test_new_content_under_a_version_written_the_old_way_is_written(
    sqlite_store: Store, old_release: Any
) -> None:
    src, tgt = _synced_then_changed_to_7(sqlite_store, old_release)
    assert _qty(tgt) == "7"
    for qty in ("9", "7"):  # after the upgrade: 9, then back to the content written the old way
        _saved_in_the_same_second(src, qty)
        report = run(src, tgt, sqlite_store)
        assert report.counts["applied"] == 1 and _qty(tgt) == qty
