"""The sync sub-app through typer's CliRunner, with fakes behind the context factory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, ExceptionRow, OutboxEventRow, OutboxIntentRow
from sync import cli
from tests.sync.fakes import FakeSource, FakeTarget
from tests.sync.scenario import JOB, wave1


@pytest.fixture
def env(sqlite_store: Store) -> Iterator[tuple[Store, FakeSource, FakeTarget]]:
    src, tgt = FakeSource(), FakeTarget()
    wave1(src)
    conns = {"sf": src, "zuora": tgt}

    def factory(_config: str | None) -> cli.SyncContext:
        def job(name: str) -> object:
            if name != JOB.name:
                from billbridge.errors import ConfigError

                raise ConfigError(f"no sync job named {name!r}")
            return JOB

        return cli.SyncContext(sqlite_store, job, conns.__getitem__, lambda j: {})  # type: ignore[arg-type]

    previous = cli._factory
    cli.use_context(factory)
    yield sqlite_store, src, tgt
    cli.use_context(previous)


runner = CliRunner()


def test_plan_shows_changes_and_saves_json_and_xlsx(env: tuple, tmp_path: Path) -> None:
    _store, _src, tgt = env
    out_json, out_xlsx = tmp_path / "plan.json", tmp_path / "plan.xlsx"
    res = runner.invoke(cli.app, ["plan", JOB.name, "--out", str(out_json), "--out", str(out_xlsx)])
    assert res.exit_code == 0, res.output
    assert "+ contract 800A" in res.output and "CreateSubscription" in res.output
    assert "Plan: 7 to add, 0 to change, 0 to remove (7 writes)." in res.output
    assert tgt.write_calls == 0
    saved = json.loads(out_json.read_text())
    assert saved["job"] == JOB.name and len(saved["changes"]) == 7
    book = openpyxl.load_workbook(out_xlsx)
    rows = list(book["Plan"].iter_rows(values_only=True))
    assert rows[0][0] == "Record" and any(r[1] == "800A" for r in rows[1:])
    sign_off = {r[0]: r[1] for r in book["Sign-off"].iter_rows(values_only=True)}
    assert sign_off["Job"] == JOB.name and len(sign_off["Plan fingerprint"]) == 64


def test_apply_exactly_the_saved_plan(env: tuple, tmp_path: Path) -> None:
    _store, _src, tgt = env
    plan_file = tmp_path / "plan.json"
    assert runner.invoke(cli.app, ["plan", JOB.name, "-o", str(plan_file)]).exit_code == 0
    res = runner.invoke(cli.app, ["apply", JOB.name, "--plan", str(plan_file)])
    assert res.exit_code == 0, res.output
    assert "7 applied" in res.output and len(tgt.subscriptions) == 4


def test_apply_refuses_a_plan_whose_source_moved_on(env: tuple, tmp_path: Path) -> None:
    from billbridge.errors import BillbridgeError
    from tests.sync.fakes import contract, line

    _store, src, tgt = env
    plan_file = tmp_path / "plan.json"
    runner.invoke(cli.app, ["plan", JOB.name, "-o", str(plan_file)])
    src.put("contract", contract("800B", "001B", [line("L1", "6")]))
    res = runner.invoke(cli.app, ["apply", JOB.name, "--plan", str(plan_file)])
    assert res.exit_code != 0 and isinstance(res.exception, BillbridgeError)
    assert "contract:800B: planned version" in str(res.exception)
    assert tgt.write_calls == 0


def test_apply_exit_code_2_when_records_were_rejected(env: tuple) -> None:
    _store, _src, tgt = env
    tgt.reject_ids = {"SF-800C"}
    res = runner.invoke(cli.app, ["apply", JOB.name])
    assert res.exit_code == 2 and "1 rejected" in res.output


def test_retry_and_skip_are_audited_and_need_a_ticket(env: tuple) -> None:
    store, _src, tgt = env
    tgt.reject_ids = {"SF-800C", "SF-800D"}
    runner.invoke(cli.app, ["apply", JOB.name])
    with store.session() as s:
        rejected = {
            r.external_id: r.idempotency_key
            for r in s.scalars(select(OutboxIntentRow).where(OutboxIntentRow.status == "rejected"))
        }
    assert set(rejected) == {"SF-800C", "SF-800D"}
    res = runner.invoke(cli.app, ["retry", rejected["SF-800C"][:12], "--actor", "ana"])
    assert res.exit_code != 0  # --ticket is required
    tgt.reject_ids = set()
    res = runner.invoke(
        cli.app, ["retry", rejected["SF-800C"][:12], "--ticket", "CHG-1", "--actor", "ana"]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli.app,
        [
            "skip",
            rejected["SF-800D"],
            "--ticket",
            "CHG-2",
            "--actor",
            "bo",
            "--note",
            "sold in error",
        ],
    )
    assert res.exit_code == 0, res.output
    runner.invoke(cli.app, ["apply", JOB.name])
    assert "SF-800C" in tgt.subscriptions and "SF-800D" not in tgt.subscriptions
    with store.session() as s:
        audit = [(a.action, a.actor, a.ticket) for a in s.scalars(select(AuditEventRow))]
        events = [
            (e.status, e.actor, e.ticket)
            for e in s.scalars(select(OutboxEventRow).where(OutboxEventRow.actor.is_not(None)))
        ]
        statuses = {r.external_id: r.status for r in s.scalars(select(OutboxIntentRow))}
        exc = {e.keys["external_id"]: e.status for e in s.scalars(select(ExceptionRow))}
    assert audit == [("sync.retry", "ana", "CHG-1"), ("sync.skip", "bo", "CHG-2")]
    assert events == [("pending", "ana", "CHG-1"), ("skipped", "bo", "CHG-2")]
    assert statuses["SF-800C"] == "applied" and statuses["SF-800D"] == "skipped"
    assert exc == {"SF-800C": "RESOLVED", "SF-800D": "WONT_FIX"}


def test_retry_refuses_an_applied_intent(env: tuple) -> None:
    store, _src, _tgt = env
    runner.invoke(cli.app, ["apply", JOB.name])
    with store.session() as s:
        key = s.scalars(select(OutboxIntentRow.idempotency_key)).first()
    res = runner.invoke(cli.app, ["retry", key, "--ticket", "T", "--actor", "A"])
    assert res.exit_code != 0 and "only dead or rejected" in str(res.exception)


def test_status_lists_counts(env: tuple) -> None:
    runner.invoke(cli.app, ["apply", JOB.name])
    res = runner.invoke(cli.app, ["status", JOB.name])
    assert res.exit_code == 0 and "applied: 7" in res.output


def test_status_of_a_job_that_does_not_exist_is_an_error_not_an_empty_outbox(
    env: tuple,
) -> None:
    res = runner.invoke(cli.app, ["status", JOB.name + "x"])
    assert res.exit_code != 0 and "no sync job named" in str(res.exception)


def test_serve_without_any_config_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    previous = cli._factory
    cli.use_context(lambda _c: cli.SyncContext(None, None, None, None, None))  # type: ignore[arg-type]
    try:
        with pytest.raises(ConfigError, match="no config file: pass --config FILE"):
            cli.serve(None)
    finally:
        cli.use_context(previous)


def test_status_lists_changes_needing_manual_handling_until_accepted(env: tuple) -> None:
    _store, src, _tgt = env
    runner.invoke(cli.app, ["apply", JOB.name])
    gone = src.records["contract"]["800B"]
    src.put("contract", gone.model_copy(update={"extra": {**gone.extra, "is_deleted": True}}))
    assert runner.invoke(cli.app, ["apply", JOB.name]).exit_code == 2
    res = runner.invoke(cli.app, ["status", JOB.name], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "1 change(s) need manual handling (SYNC_MANUAL_ACTION)" in res.output
    assert "800B" in res.output and "deleted in source" in res.output
    res = runner.invoke(
        cli.app, ["accept", JOB.name, "contract", "800B", "--ticket", "T-3", "--actor", "ar"]
    )
    assert res.exit_code == 0 and "1 SYNC_MANUAL_ACTION row(s) resolved" in res.output
    res = runner.invoke(cli.app, ["status", JOB.name])
    assert "manual handling" not in res.output


def test_unknown_job_is_a_clear_error(env: tuple) -> None:
    res = runner.invoke(cli.app, ["plan", "nope"])
    assert res.exit_code != 0 and "no sync job named 'nope'" in str(res.exception)


def test_release_lease_frees_a_dead_remote_holder_audited_and_names_it(env: tuple) -> None:
    from datetime import UTC, datetime, timedelta

    from sync import leases

    store, _src, tgt = env
    holder = "other-host:4242:cafe0001"
    assert leases.acquire(store, JOB.name, holder, timedelta(hours=2), datetime.now(UTC))
    busy = runner.invoke(cli.app, ["apply", JOB.name])
    assert "release-lease" in str(busy.exception) and tgt.write_calls == 0
    res = runner.invoke(cli.app, ["release-lease", JOB.name, "--ticket", "OPS-9", "--actor", "ana"])
    assert res.exit_code == 0, res.output
    assert holder in res.output and "may be dead" in res.output
    with store.session() as s:
        audit = s.scalars(select(AuditEventRow)).one()
    assert (audit.action, audit.subject_id, audit.ticket) == (
        "sync.release_lease",
        JOB.name,
        "OPS-9",
    )
    assert audit.details is not None and audit.details["holder"] == holder
    # the old holder cannot renew any more; the next run resumes
    assert not leases.renew(store, JOB.name, holder, timedelta(hours=2), datetime.now(UTC))
    assert runner.invoke(cli.app, ["apply", JOB.name]).exit_code in (0, 2)
    assert tgt.write_calls > 0
    again = runner.invoke(cli.app, ["release-lease", JOB.name, "--ticket", "T", "--actor", "a"])
    assert "holds no lease" in again.output
