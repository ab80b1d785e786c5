"""The write protocol end to end against the connector-level fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import (
    CursorRow,
    ExceptionRow,
    OutboxEventRow,
    OutboxIntentRow,
    RunLogRow,
)
from sync.runner import run_job
from tests.sync.fakes import FakeSource, FakeTarget, customer
from tests.sync.scenario import JOB, golden, run, wave1, wave2


def _statuses(store: Store) -> dict[str, str]:
    with store.session() as s:
        return {r.idempotency_key: r.status for r in s.scalars(select(OutboxIntentRow))}


def test_first_sync_creates_accounts_then_subscriptions_and_moves_the_cursor(store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    report = run(src, tgt, store)
    assert set(tgt.accounts) == {"SF-001A", "SF-001B", "SF-001C"}
    assert set(tgt.subscriptions) == {"SF-800A", "SF-800B", "SF-800C", "SF-800D"}
    assert tgt.subscriptions["SF-800A"]["lines"]["L2"] == {
        "sku": "SKU-B",
        "qty": "2",
        "price": "20.00",
    }
    assert set(_statuses(store).values()) == {"applied"}
    assert report.cursor_advanced and report.open_left == 0
    assert report.counts["applied"] == 7
    with store.session() as s:
        cur = {r.stream: r.cursor for r in s.scalars(select(CursorRow))}
        events = [r.status for r in s.scalars(select(OutboxEventRow).order_by(OutboxEventRow.id))]
        runs = [r.event for r in s.scalars(select(RunLogRow))]
    assert set(cur) == {"customer", "contract"} and all(cur.values())
    # every intent went pending -> sent -> applied, each transition its own row
    assert events.count("pending") == events.count("sent") == events.count("applied") == 7
    assert runs == ["started", "finished"]


def test_rerun_with_nothing_changed_makes_zero_writes(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    calls = tgt.write_calls
    report = run(src, tgt, sqlite_store)
    assert tgt.write_calls == calls
    assert report.api_calls == 0 and report.plan.empty


def test_a_touched_record_without_content_change_is_not_written(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    calls = tgt.write_calls
    src.put("contract", src.records["contract"]["800B"])  # new version, same content
    report = run(src, tgt, sqlite_store)
    assert report.plan.empty and tgt.write_calls == calls
    assert report.counts["read"] == 7  # the 15-minute lookback re-reads the overlap


def test_lifecycle_changes_reach_the_target(store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, store)
    wave2(src)
    report = run(src, tgt, store)
    subs = tgt.subscriptions
    assert subs["SF-800A"]["lines"]["L1"]["qty"] == "4"
    assert set(subs["SF-800A"]["lines"]) == {"L1", "L3"}  # L2 removed, L3 added
    assert subs["SF-800B"]["lines"]["L1"]["price"] == "12.00"
    assert subs["SF-800C"]["renewals"] == 1
    assert subs["SF-800D"]["status"] == "cancelled"
    assert subs["SF-800E"]["account"] == "SF-001D"
    assert tgt.accounts["SF-001B"]["paymentTerm"] == "Net 45"
    actions = sorted(i.action or i.op for i in report.plan.intents())
    assert actions == sorted(
        [
            "UpdateProduct",
            "AddProduct",
            "RemoveProduct",
            "UpdateProduct",
            "RenewSubscription",
            "CancelSubscription",
            "create",
            "CreateSubscription",
            "update",
        ]
    )
    assert all(n == 1 for n in tgt.creates.values()) and not tgt.duplicate_creates


def test_batches_respect_the_batch_size_and_concurrency(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    # 3 accounts in one batch, then 4 subscriptions in batches of at most 3
    assert tgt.write_calls == 3


@pytest.mark.parametrize(
    "faults",
    [
        ["timeout_after_commit"],
        ["5xx", "5xx"],
        ["429"],
        ["409"],
        ["batch_reject"],
        ["timeout_after_commit", "timeout_after_commit", "5xx", "429"],
    ],
)
def test_transient_faults_end_in_the_golden_state_with_one_create_each(
    tmp_path: Path, faults: list[str]
) -> None:
    n = iter(range(1000))
    expected = golden(lambda: Store(f"sqlite:///{tmp_path / f'g{next(n)}.db'}"))
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    tgt.faults = list(faults)
    run(src, tgt, store)
    wave2(src)
    tgt.faults = list(faults)
    run(src, tgt, store)
    run(src, tgt, store)  # anything left for the next run
    if faults == ["batch_reject"]:
        # a batch refused as a whole is bisected; the good records still go through
        assert tgt.state()["subscriptions"].keys() <= expected["subscriptions"].keys()
    else:
        assert tgt.state() == expected
        assert set(_statuses(store).values()) <= {"applied", "already_applied"}
    assert all(n == 1 for n in tgt.creates.values()) and not tgt.duplicate_creates


def test_a_timeout_after_commit_is_resolved_by_read_before_retry(store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    tgt.faults = ["timeout_after_commit"]  # the accounts' batch
    run(src, tgt, store)
    assert set(_statuses(store).values()) == {"applied", "already_applied"}
    assert tgt.lookup_calls >= 1
    assert all(n == 1 for n in tgt.creates.values()) and not tgt.duplicate_creates
    with store.session() as s:
        msgs = [
            r.message for r in s.scalars(select(OutboxEventRow)) if r.status == "already_applied"
        ]
    assert msgs and all("read-before-retry" in (m or "") for m in msgs)


def test_rejected_record_goes_to_the_exception_report_and_the_rest_goes_on(
    sqlite_store: Store,
) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    tgt.reject_ids = {"SF-800B"}
    report = run(src, tgt, sqlite_store)
    assert "SF-800B" not in tgt.subscriptions and "SF-800A" in tgt.subscriptions
    assert report.counts["rejected"] == 1 and report.cursor_advanced
    with sqlite_store.session() as s:
        ex = list(s.scalars(select(ExceptionRow)))
    assert [e.category for e in ex] == ["SYNC_REJECTED"]
    assert ex[0].keys["external_id"] == "SF-800B" and ex[0].details["vendor_code"] == "53100320"
    # the rejected write is on the exception report, not offered again by the next plan
    again = run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="plan")
    assert again.plan.empty
    # the data is corrected in the CRM: the next version is planned as a create again
    tgt.reject_ids = set()
    src.put("contract", src.records["contract"]["800B"].model_copy(update={"number": "C-2"}))
    run(src, tgt, sqlite_store)
    assert "SF-800B" in tgt.subscriptions and tgt.creates["SF-800B"] == 1


def test_persistent_transient_failure_is_dead_lettered_after_max_attempts(
    store: Store,
) -> None:
    job = JOB.model_copy(update={"max_attempts": 3, "retry_rounds": 0})
    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001Z"))
    reports = []
    for _ in range(4):
        tgt.faults = ["5xx"] * 5
        reports.append(run(src, tgt, store, job=job))
    assert [r.cursor_advanced for r in reports[:2]] == [False, False]
    assert reports[2].counts["dead"] == 1 and reports[2].cursor_advanced
    with store.session() as s:
        row = s.scalars(select(OutboxIntentRow)).one()
        ex = s.scalars(select(ExceptionRow)).one()
    assert row.status == "dead" and row.attempts == 3
    assert ex.category == "SYNC_DEAD_LETTER" and ex.details["attempts"] == 3
    assert ex.exception_id != row.idempotency_key and len(ex.exception_id) == 64


def test_fatal_error_aborts_without_moving_the_cursor(sqlite_store: Store) -> None:
    from billbridge.errors import FatalError

    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    tgt.faults = ["401"]
    with pytest.raises(FatalError):
        run(src, tgt, sqlite_store)
    with sqlite_store.session() as s:
        assert list(s.scalars(select(CursorRow))) == []
        assert [r.event for r in s.scalars(select(RunLogRow))] == ["started", "failed"]
    run(src, tgt, sqlite_store)
    assert len(tgt.subscriptions) == 4 and not tgt.duplicate_creates


def test_budget_stops_the_run_cleanly_and_the_next_run_finishes(sqlite_store: Store) -> None:
    job = JOB.model_copy(update={"budget": 1})
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    first = run(src, tgt, sqlite_store, job=job)
    assert first.stopped == "budget" and not first.cursor_advanced and tgt.write_calls == 1
    for _ in range(3):
        run(src, tgt, sqlite_store, job=job)
    assert len(tgt.subscriptions) == 4 and not tgt.duplicate_creates


def test_plan_mode_writes_nothing(sqlite_store: Store) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    report = run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="plan")
    assert len(report.plan.intents()) == 7 and tgt.write_calls == 0
    assert _statuses(sqlite_store) == {}


def test_update_of_an_ambiguous_charge_is_rejected_not_guessed(sqlite_store: Store) -> None:
    """Two lines of one SKU and no line id on Zuora's charges: reject, do not guess."""
    from tests.sync.fakes import contract, line

    src, tgt = FakeSource(), FakeTarget(line_ids=False)  # charges without our line id
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1", "1"), line("L2", "1")]))  # same SKU
    run(src, tgt, sqlite_store)
    src.put("contract", contract("800A", "001A", [line("L1", "5"), line("L2", "1")]))
    report = run(src, tgt, sqlite_store)
    assert (
        report.counts["rejected"] == 1 and tgt.subscriptions["SF-800A"]["lines"]["L1"]["qty"] == "1"
    )
    with sqlite_store.session() as s:
        ex = s.scalars(select(ExceptionRow)).one()
    assert ex.details["vendor_code"] == "BB_CHARGE_NOT_RESOLVED"
    assert "2 charge(s) of SKU SKU-A" in ex.details["message"]


def test_update_finds_the_charge_by_line_id_when_the_sku_repeats(sqlite_store: Store) -> None:
    from tests.sync.fakes import contract, line

    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1", "1"), line("L2", "1")]))
    run(src, tgt, sqlite_store)
    src.put("contract", contract("800A", "001A", [line("L1", "5"), line("L2", "1")]))
    assert run(src, tgt, sqlite_store).counts["applied"] == 1
    assert tgt.subscriptions["SF-800A"]["lines"]["L1"]["qty"] == "5"


def test_a_record_the_source_cannot_map_keeps_its_stream_cursor(sqlite_store: Store) -> None:
    from connectors.base import Cursor, ReadStream

    class FlakySource(FakeSource):
        broken = True

        def read(
            self, entity: str, since: Cursor | None = None, *, limit: int | None = None
        ) -> ReadStream:
            stream = super().read(entity, since, limit=limit)
            if entity == "contract" and self.broken:
                stream.errors.append(ValueError("Opportunity 006X: lines[0].sku: required"))
            return stream

    src, tgt = FlakySource(), FakeTarget()
    wave1(src)
    first = run(src, tgt, sqlite_store)
    assert first.counts["read_errors"] == 1 and len(tgt.subscriptions) == 4
    with sqlite_store.session() as s:
        saved = {r.stream for r in s.scalars(select(CursorRow)) if r.cursor}
    assert saved == {"customer"}  # the contract window stays open
    src.broken = False
    run(src, tgt, sqlite_store)
    with sqlite_store.session() as s:
        saved = {r.stream for r in s.scalars(select(CursorRow)) if r.cursor}
    assert saved == {"customer", "contract"} and not tgt.duplicate_creates


def test_an_empty_window_never_moves_the_cursor_back(sqlite_store: Store) -> None:
    from connectors.base import Cursor, ReadStream

    class EchoSource(FakeSource):
        """Like connectors that hand back ``since`` when nothing changed."""

        def read(
            self, entity: str, since: Cursor | None = None, *, limit: int | None = None
        ) -> ReadStream:
            return ReadStream(iter(()), lambda: since)

    src, tgt = EchoSource(), FakeTarget()
    mark = Cursor(watermark=datetime(2025, 6, 1, tzinfo=UTC), last_id="800Z")
    from sync import cursors

    with sqlite_store.session() as s:
        cursors.save(s, JOB.name, "contract", mark, run_id="seed", now=datetime.now(UTC))
    for _ in range(2):
        run(src, tgt, sqlite_store)  # reads since mark - lookback, gets that back
    with sqlite_store.session() as s:
        assert cursors.load(s, JOB.name)["contract"] == mark


def test_a_manual_run_during_a_scheduled_one_is_refused(sqlite_store: Store) -> None:
    from datetime import timedelta

    from sync import leases

    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    assert leases.acquire(
        sqlite_store, JOB.name, "scheduler-1", timedelta(hours=1), datetime.now(UTC)
    )
    with pytest.raises(leases.LeaseBusy, match="already running \\(scheduler-1"):
        run(src, tgt, sqlite_store)
    assert tgt.write_calls == 0
    with sqlite_store.session() as s:
        assert list(s.scalars(select(OutboxIntentRow))) == []


def test_subscriptions_wait_for_a_rejected_account_and_go_once_it_is_fixed(
    sqlite_store: Store,
) -> None:
    from tests.sync.fakes import contract, line

    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1")]))
    tgt.reject_ids = {"SF-001A"}
    first = run(src, tgt, sqlite_store)
    assert first.counts["rejected"] == 1 and first.counts["waiting_for_parent"] == 1
    assert not first.cursor_advanced and tgt.subscriptions == {}
    with sqlite_store.session() as s:
        ex = [e.keys["external_id"] for e in s.scalars(select(ExceptionRow))]
    assert ex == ["SF-001A"]  # one exception for AR, not one per subscription
    calls = tgt.write_calls
    run(src, tgt, sqlite_store)  # nothing is sent while the account is still broken
    assert tgt.write_calls == calls
    # AR fixes the customer in the CRM: its next version creates the account, and the
    # waiting subscription follows without anyone touching it
    tgt.reject_ids = set()
    src.put("customer", customer("001A", payment_terms="Net 30"))
    third = run(src, tgt, sqlite_store)
    assert "SF-001A" in tgt.accounts and "SF-800A" in tgt.subscriptions
    assert third.cursor_advanced and not tgt.duplicate_creates


@pytest.mark.parametrize("saved_plan", [False, True], ids=["apply", "apply_saved_plan"])
def test_a_change_whose_mapping_fails_is_written_once_the_mapping_is_fixed(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, saved_plan: bool
) -> None:
    from typing import Any

    from billbridge.errors import RecordRejected
    from canonical import Customer, Record
    from sync import specs

    broken = {"on": False}

    def build(rec: Record) -> dict[str, Any]:
        assert isinstance(rec, Customer)
        if broken["on"]:
            raise RecordRejected("customer spec: no paymentTerm for 'Net 99'")
        return {"name": rec.name, "paymentTerm": rec.payment_terms or "Net 30"}

    monkeypatch.setattr(specs, "payload_builders", lambda job: {"customer": build})
    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A", payment_terms="Net 30"))
    run(src, tgt, sqlite_store)
    src.put("customer", customer("001A", payment_terms="Net 99"))
    broken["on"] = True
    kw: dict[str, Any] = {}
    if saved_plan:
        kw["plan"] = run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="plan").plan
    second = run(src, tgt, sqlite_store, **kw)
    assert second.counts["mapping_errors"] == 1 and not second.cursor_advanced
    assert tgt.accounts["SF-001A"]["paymentTerm"] == "Net 30"
    broken["on"] = False  # the analysts fix the spec: the change is still there to write
    third = run(src, tgt, sqlite_store)
    assert tgt.accounts["SF-001A"]["paymentTerm"] == "Net 99" and third.cursor_advanced
