"""Source changes the target cannot take automatically: planned as needing manual handling,
written nowhere, put on the AR exception report, and never silently dropped."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import ExceptionRow, SyncSnapshotRow
from canonical import Record
from sync import plan_render
from sync.runner import run_job
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run, wave1


def deleted(rec: Record) -> Record:
    return rec.model_copy(update={"extra": {**rec.extra, "is_deleted": True}})


def manual_rows(store: Store) -> list[ExceptionRow]:
    with store.session() as s:
        rows = s.scalars(select(ExceptionRow).where(ExceptionRow.category == "SYNC_MANUAL_ACTION"))
        return list(rows)


def snapshot(store: Store, entity: str, sid: str) -> dict[str, Any] | None:
    with store.session() as s:
        row = s.get(SyncSnapshotRow, (JOB.name, entity, sid))
        return dict(row.record) if row else None


def plan_text(src: FakeSource, tgt: FakeTarget, store: Store) -> str:
    report = run_job(JOB, source=src, target=tgt, store=store, mode="plan")
    out = io.StringIO()
    plan_render.render(report.plan, Console(file=out, width=200))
    return out.getvalue()


def test_a_synced_contract_deleted_in_the_crm_is_an_exception_not_a_cancel_nor_silence(
    sqlite_store: Store,
) -> None:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    writes = tgt.write_calls
    src.put("contract", deleted(src.records["contract"]["800B"]))
    shown = plan_text(src, tgt, sqlite_store)
    assert "needs manual handling, not written: deleted in source" in shown
    assert "1 need manual handling" in shown
    report = run(src, tgt, sqlite_store)
    assert tgt.write_calls == writes and report.counts["manual"] == 1
    assert report.cursor_advanced  # visible on the report: the window is done
    [row] = manual_rows(sqlite_store)
    assert row.keys == {"job": JOB.name, "entity": "contract", "source_id": "800B"}
    assert "deleted in source" in row.details["message"] and row.status == "OPEN"
    # the snapshot keeps what the target has (not the tombstone): nothing moved past it
    snap = snapshot(sqlite_store, "contract", "800B")
    assert snap is not None and not snap["extra"].get("is_deleted")
    # reading the tombstone again (lookback, next run) plans nothing and opens nothing new
    assert run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="plan").plan.empty
    run(src, tgt, sqlite_store)
    assert len(manual_rows(sqlite_store)) == 1 and tgt.write_calls == writes


def test_a_contract_deleted_before_its_first_sync_is_remembered_and_not_created(
    sqlite_store: Store,
) -> None:
    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A"))
    src.put("contract", deleted(contract("800Z", "001A", [line("L1", "7")])))
    report = run(src, tgt, sqlite_store)
    assert "SF-800Z" not in tgt.subscriptions and report.counts["manual"] == 0
    snap = snapshot(sqlite_store, "contract", "800Z")
    assert snap is not None and snap["extra"]["is_deleted"]
    # it comes back live (undeleted): not created behind anyone's back, but flagged
    src.put("contract", contract("800Z", "001A", [line("L1", "7")]))
    report = run(src, tgt, sqlite_store)
    assert "SF-800Z" not in tgt.subscriptions and report.counts["manual"] == 1
    [row] = manual_rows(sqlite_store)
    assert "restored after deletion" in row.details["message"]


def test_deleted_customers_never_synced_need_nothing_synced_ones_need_a_person(
    sqlite_store: Store,
) -> None:
    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A"))
    src.put("customer", deleted(customer("001X")))
    run(src, tgt, sqlite_store)
    assert tgt.write_calls == 1 and manual_rows(sqlite_store) == []
    src.put("customer", deleted(src.records["customer"]["001A"]))
    report = run(src, tgt, sqlite_store)
    assert tgt.write_calls == 1 and report.counts["manual"] == 1
    [row] = manual_rows(sqlite_store)
    assert row.keys["entity"] == "customer" and row.keys["source_id"] == "001A"


def test_a_currency_or_account_move_is_shown_and_refused_never_sent_as_a_price_change(
    sqlite_store: Store,
) -> None:
    from canonical import Contract, ContractLine, Money

    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    writes, before = tgt.write_calls, dict(tgt.subscriptions["SF-800B"])
    old = src.records["contract"]["800B"]
    assert isinstance(old, Contract)
    eur = tuple(
        ContractLine(
            **{**ln.model_dump(), "net_unit_price": Money(ln.net_unit_price.amount, "EUR")}
        )
        for ln in old.lines
    )
    src.put(
        "contract", old.model_copy(update={"currency": "EUR", "customer_id": "001C", "lines": eur})
    )
    shown = plan_text(src, tgt, sqlite_store)
    assert "currency: USD -> EUR" in shown and "account: 001B -> 001C" in shown
    assert "net_unit_price: 10.00 USD -> 10.00 EUR" in shown  # not "10.00 -> 10.00"
    assert "UpdateProduct" not in shown and "(0 writes)" in shown
    report = run(src, tgt, sqlite_store)
    assert tgt.write_calls == writes and tgt.subscriptions["SF-800B"] == before
    assert report.counts["manual"] == 1
    [row] = manual_rows(sqlite_store)
    assert "currency change: currency USD -> EUR" in row.details["message"]
    assert "account change: account 001B -> 001C" in row.details["message"]
    # a later quantity change is planned from what Zuora has: still refused, never sent
    # to the old account as if nothing had moved
    moved = src.records["contract"]["800B"]
    bigger = tuple(ln.model_copy(update={"quantity": ln.quantity + 1}) for ln in moved.lines)
    src.put("contract", moved.model_copy(update={"lines": bigger}))
    run(src, tgt, sqlite_store)
    assert tgt.write_calls == writes and len(manual_rows(sqlite_store)) == 2


def test_a_cancelled_contract_won_again_is_flagged_and_its_snapshot_stays_cancelled(
    sqlite_store: Store,
) -> None:
    from canonical import ContractStatus

    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    live = src.records["contract"]["800B"]
    src.put("contract", live.model_copy(update={"status": ContractStatus.CANCELLED}))
    run(src, tgt, sqlite_store)
    assert tgt.subscriptions["SF-800B"]["status"] == "cancelled"
    writes = tgt.write_calls
    src.put("contract", live.model_copy(update={"status": ContractStatus.ACTIVATED}))
    assert "reinstatement" in plan_text(src, tgt, sqlite_store)
    report = run(src, tgt, sqlite_store)
    assert report.counts["manual"] == 1 and tgt.write_calls == writes
    [row] = manual_rows(sqlite_store)
    assert "reinstatement: status cancelled -> activated" in row.details["message"]
    snap = snapshot(sqlite_store, "contract", "800B")
    assert snap is not None and snap["status"] == "cancelled"


def test_accept_records_the_manual_fix_so_later_changes_flow_again(sqlite_store: Store) -> None:
    from billbridge.errors import ConfigError
    from billbridge.state.schema import AuditEventRow
    from canonical import Contract
    from sync.operator import accept

    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    run(src, tgt, sqlite_store)
    old = src.records["contract"]["800B"]
    assert isinstance(old, Contract)
    eur = tuple(
        ln.model_copy(
            update={"net_unit_price": ln.net_unit_price.model_copy(update={"currency": "EUR"})}
        )
        for ln in old.lines
    )
    src.put("contract", old.model_copy(update={"currency": "EUR", "lines": eur}))
    assert run(src, tgt, sqlite_store).counts["manual"] == 1
    writes = tgt.write_calls
    with pytest.raises(ConfigError, match="nothing to accept"):
        accept(sqlite_store, JOB.name, "contract", "800A", actor="ar", ticket="T-1")
    # AR moved the subscription to EUR in Zuora by hand, then records it
    version, closed = accept(sqlite_store, JOB.name, "contract", "800B", actor="ar", ticket="T-1")
    assert version == src.records["contract"]["800B"].version_token() and closed == 1
    assert [r.status for r in manual_rows(sqlite_store)] == ["RESOLVED"]
    snap = snapshot(sqlite_store, "contract", "800B")
    assert snap is not None and snap["currency"] == "EUR"
    with sqlite_store.session() as s:
        [audit] = s.scalars(select(AuditEventRow)).all()
        assert (audit.action, audit.actor, audit.ticket) == ("sync.accept", "ar", "T-1")
    # the next change is planned from EUR: a quantity change, written, nothing manual
    moved = src.records["contract"]["800B"]
    bigger = tuple(ln.model_copy(update={"quantity": ln.quantity + 1}) for ln in moved.lines)
    src.put("contract", moved.model_copy(update={"lines": bigger}))
    shown = plan_text(src, tgt, sqlite_store)
    assert "needs manual handling" not in shown and "UpdateProduct" in shown
    report = run(src, tgt, sqlite_store)
    assert report.counts["manual"] == 0 and report.counts["applied"] >= 1
    assert tgt.write_calls > writes
    with pytest.raises(ConfigError, match="nothing to accept"):
        accept(sqlite_store, JOB.name, "contract", "800B", actor="ar", ticket="T-2")
