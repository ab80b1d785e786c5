"""End to end: bank file + open invoices -> cash run -> a person accepts one suggestion and
rejects another -> ``sync plan`` shows the automatic and the accepted applications only ->
``sync apply`` writes them as payments into the loopback Zuora / NetSuite -> a rerun writes
nothing twice. Through the real CLIs, connectors and outbox."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from billbridge.state import Store
from billbridge.state.schema import ExceptionRow, OutboxIntentRow
from billbridge.testing.fake_netsuite import FakeNetSuite
from billbridge.testing.fake_zuora import FakeZuora
from connectors.base import Connector
from connectors.netsuite import connect as netsuite_connect
from connectors.zuora import ZuoraConnector, ZuoraSettings
from reconcile.cash.cli import app as cash_app
from reconcile.cash.decisions import Decision, record_decision
from reconcile.cash.runs import find_proposal, load_runs
from sync import cli
from sync.cash_runner import run_cash_job
from sync.runner import PlanStale, RunReport
from sync.settings import SyncJobSettings

BANK = """line_id,date,amount,currency,payer_name,payer_account,reference,memo
B01,2024-03-15,100.00,USD,Acme Inc,,INV-1001,
B02,2024-03-15,290.00,USD,Acme Inc,,Invoices INV-1002 and INV-1003,
B03,2024-03-15,490.00,USD,Globex Corporation,,INV-2001,
B04,2024-03-16,60.00,USD,Initech GmbH,,,
B05,2024-03-16,75.00,USD,Umbrella Holdings,,,
B06,2024-03-16,30.00,USD,Stark Manufacturing,,,
"""
INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-1001,C1,Acme Inc,2024-02-01,2024-03-01,100.00,USD
INV-1002,C1,Acme Inc,2024-02-02,2024-03-02,250.00,USD
INV-1003,C1,Acme Inc,2024-02-03,2024-03-03,40.00,USD
INV-2001,C2,Globex Corporation,2024-02-01,2024-03-01,500.00,USD
INV-3001,C3,Initech GmbH,2024-01-10,2024-02-10,60.00,USD
INV-3002,C3,Initech GmbH,2024-01-20,2024-02-20,60.00,USD
INV-4001,C4,Umbrella Holdings,2024-01-10,2024-02-10,75.00,USD
INV-4002,C4,Umbrella Holdings,2024-01-20,2024-02-20,75.00,USD
INV-5001,C5,Stark Manufacturing,2024-01-10,2024-02-10,30.00,USD
INV-5002,C5,Stark Manufacturing,2024-01-20,2024-02-20,30.00,USD
"""
runner = CliRunner()


@dataclass
class Env:
    store: Store
    runs: Path
    url: str
    job: SyncJobSettings
    proposals: dict[str, str]  # line id -> proposal id

    def decide(self, verb: str, line: str, actor: str) -> None:
        """Through ``reconcile cash accept|reject`` on SQLite; on PostgreSQL (a per-test
        schema the command cannot name) through the function the command calls."""
        pid = self.proposals[line]
        if self.url:
            run_dir = str(self.runs / "r1")
            args = [verb, pid, "--run", run_dir, "--actor", actor, "--state-url", self.url]
            res = runner.invoke(cash_app, args)
            assert res.exit_code == 0, res.output
            return
        run, prop = find_proposal(load_runs(self.runs / "r1"), pid)
        decision = Decision.ACCEPTED if verb == "accept" else Decision.REJECTED
        record_decision(self.store, prop, decision, actor, run_id=run.run_id)


def _url(store: Store) -> str:
    """The store's URL for the cash command, or "" when it cannot reach this test's schema."""
    if store.engine.dialect.name != "sqlite":
        return ""
    return str(store.engine.url.render_as_string(hide_password=False))


def _cash_run(tmp: Path, store_url: str) -> tuple[Path, dict[str, str], dict[str, str]]:
    (tmp / "bank.csv").write_text(BANK)
    (tmp / "invoices.csv").write_text(INVOICES)
    runs = tmp / "runs"
    args = ["--bank", str(tmp / "bank.csv"), "--invoices", str(tmp / "invoices.csv")]
    args += ["--state-url", store_url] if store_url else []
    res = runner.invoke(cash_app, [*args, "--out", str(runs / "r1")])
    assert res.exit_code == 0, res.output
    with (runs / "r1" / "proposals.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    ids = {r["line_id"]: r["proposal_id"] for r in rows}
    status = {r["line_id"]: r["status"] for r in rows}
    return runs, ids, status


def _zuora_fake() -> FakeZuora:
    fake = FakeZuora(slow_seconds=0.4)
    names = {"C1": "Acme", "C2": "Globex", "C3": "Initech", "C4": "Umbrella", "C5": "Stark"}
    for number, name in names.items():
        fake.add_account(number, name)
    for row in csv.DictReader(INVOICES.splitlines()):
        fake.add_invoice(row["invoice_number"], row["customer_id"], row["open_amount"], [])
    return fake


def _zuora(fake: FakeZuora) -> ZuoraConnector:
    settings = ZuoraSettings(
        tenant="us_api_sandbox",
        base_url=fake.url,
        client_id="fake-client",
        client_secret="fake-secret",
        read_timeout=0.2,
        connect_timeout=1.0,
    )
    return ZuoraConnector(settings, sleep=lambda s: None)


@pytest.fixture
def zuora_env(store: Store, tmp_path: Path) -> Iterator[tuple[Env, FakeZuora]]:
    # the decisions go to the same store the sync job reads
    url = _url(store)
    runs, ids, status = _cash_run(tmp_path, url)
    assert status == {
        "B01": "auto",
        "B02": "auto",
        "B03": "auto",
        "B04": "suggested",
        "B05": "suggested",
        "B06": "suggested",
    }
    job = SyncJobSettings(
        name="cash_to_zuora",
        kind="cash_application",
        target="zuora",
        target_kind="zuora",
        cash={"runs": str(runs), "payment_method_type": "WireTransfer"},
    )
    env = Env(store, runs, url, job, ids)
    fake = _zuora_fake()
    with fake:
        connector = _zuora(fake)

        def factory(_config: str | None) -> cli.SyncContext:
            return cli.SyncContext(store, lambda n: job, lambda n: connector, lambda j: {})

        previous = cli._factory
        cli.use_context(factory)
        try:
            yield env, fake
        finally:
            cli.use_context(previous)


def test_cash_run_to_zuora_payments_exactly_once(
    zuora_env: tuple[Env, FakeZuora], tmp_path: Path
) -> None:
    env, fake = zuora_env
    env.decide("accept", "B04", "ar.clerk")
    env.decide("reject", "B05", "ar.lead")
    plan_json, plan_xlsx = tmp_path / "plan.json", tmp_path / "plan.xlsx"
    res = runner.invoke(
        cli.app,
        ["plan", env.job.name, "-o", str(plan_json), "-o", str(plan_xlsx)],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    out = res.output
    for line in ("B01", "B02", "B03", "B04"):
        assert f"+ payment {line}" in out
    assert "B05" not in out and "B06" not in out  # rejected, and not decided
    assert "accepted by ar.clerk" in out and "reference_short_tolerance 0.89; auto" in out
    assert "+ apply  INV-1002  250.00 USD" in out and "+ apply  INV-1003  40.00 USD" in out
    assert "~ deduction (SHORT_PAY_TOLERANCE), left open  INV-2001  10.00 USD" in out
    assert "Plan: 4 to add, 0 to change, 0 to remove (4 writes)." in out
    assert fake.payments == {}  # planning writes nothing
    saved = json.loads(plan_json.read_text())
    assert [c["source_id"] for c in saved["changes"]] == ["B01", "B02", "B03", "B04"]
    sheet = list(openpyxl.load_workbook(plan_xlsx)["Plan"].iter_rows(values_only=True))
    assert ("payment", "B02") in {(r[0], r[1]) for r in sheet[1:]}
    assert any(r[5] == "INV-3001" and r[9] == "60.00 USD" for r in sheet[1:])

    res = runner.invoke(cli.app, ["apply", env.job.name, "--plan", str(plan_json)])
    assert res.exit_code == 0, res.output
    assert "4 applied, 0 already applied, 0 rejected, 0 dead, 0 left" in res.output
    by_ref = {p["referenceId"]: p for p in fake.payments.values()}
    assert sorted(by_ref) == ["cash-B01", "cash-B02", "cash-B03", "cash-B04"]
    b02 = by_ref["cash-B02"]
    assert b02["amount"] == Decimal("290.00") and b02["accountNumber"] == "C1"
    assert [(i["invoiceNumber"], i["appliedAmount"]) for i in b02["invoices"]] == [
        ("INV-1002", Decimal("250.00")),
        ("INV-1003", Decimal("40.00")),
    ]
    assert by_ref["cash-B04"]["invoices"][0]["invoiceNumber"] == "INV-3001"  # oldest first
    assert by_ref["cash-B01"]["paymentMethodType"] == "WireTransfer"
    # the short pay: 490 applied, 10 left open on the invoice and named on the payment
    assert fake.invoices["INV-2001"]["balance"] == Decimal("10.00")
    assert "deduction 10.00 USD on INV-2001 (SHORT_PAY_TOLERANCE)" in by_ref["cash-B03"]["comment"]
    assert fake.invoices["INV-4001"]["balance"] == Decimal("75.00")  # B05 rejected: untouched

    # rerun: nothing new, nothing twice
    again = runner.invoke(cli.app, ["apply", env.job.name])
    assert again.exit_code == 0, again.output
    assert "0 applied" in again.output
    plan = runner.invoke(cli.app, ["plan", env.job.name])
    assert "No changes" in plan.output
    assert fake.payment_desk.created == {f"cash-B0{i}": 1 for i in range(1, 5)}
    # the saved plan applied twice equals once
    twice = runner.invoke(cli.app, ["apply", env.job.name, "--plan", str(plan_json)])
    assert twice.exit_code == 0, twice.output
    assert len(fake.payments) == 4

    # accepting B06 later writes it on the next run, and only it
    env.decide("accept", "B06", "ar.clerk")
    later = runner.invoke(cli.app, ["apply", env.job.name])
    assert later.exit_code == 0 and "1 applied" in later.output, later.output
    assert fake.payment_desk.created["cash-B06"] == 1 and len(fake.payments) == 5


def test_a_saved_plan_is_refused_once_a_decision_changed(
    zuora_env: tuple[Env, FakeZuora], tmp_path: Path
) -> None:
    env, fake = zuora_env
    plan_json = tmp_path / "plan.json"
    res = runner.invoke(cli.app, ["plan", env.job.name, "-o", str(plan_json)])
    assert res.exit_code == 0, res.output
    env.decide("accept", "B04", "ar.clerk")  # after sign-off
    with pytest.raises(PlanStale, match="moved on: payment:B04"):
        run_cash_job(
            env.job,
            target=_zuora(fake),
            store=env.store,
            mode="apply",
            plan=cli.plan_render.load(plan_json),
        )
    assert fake.payments == {}


def test_an_invoice_closed_meanwhile_rejects_only_that_payment(
    zuora_env: tuple[Env, FakeZuora],
) -> None:
    env, fake = zuora_env
    fake.invoices["INV-1001"]["balance"] = Decimal("0")  # paid by check in Zuora meanwhile
    res = runner.invoke(cli.app, ["apply", env.job.name])
    assert res.exit_code == 2, res.output
    assert "2 applied, 0 already applied, 1 rejected" in res.output
    assert sorted(p["referenceId"] for p in fake.payments.values()) == ["cash-B02", "cash-B03"]
    with env.store.session() as s:
        rejected = s.scalars(
            select(OutboxIntentRow).where(OutboxIntentRow.status == "rejected")
        ).one()
        exc = s.scalars(select(ExceptionRow)).one()
    assert rejected.external_id == "cash-B01"
    assert exc.category == "SYNC_REJECTED" and "INV-1001" in json.dumps(exc.details)


def test_a_crash_after_the_call_is_settled_by_lookup_not_a_second_payment(
    zuora_env: tuple[Env, FakeZuora],
) -> None:
    env, fake = zuora_env

    class Crash(Exception):
        pass

    def crash_after_send(step: str) -> None:
        if step == "sent":  # the payments exist in Zuora; their outcome is not recorded
            raise Crash

    with pytest.raises(Crash):
        run_cash_job(
            env.job, target=_zuora(fake), store=env.store, mode="apply", fault_hook=crash_after_send
        )
    assert len(fake.payments) == 3
    with env.store.session() as s:
        statuses = set(s.scalars(select(OutboxIntentRow.status)))
    assert statuses == {"sent"}
    fake.advance(25 * 3600)  # Zuora forgot the idempotency keys: only the lookup protects
    report = run_cash_job(env.job, target=_zuora(fake), store=env.store, mode="apply")
    assert report.counts["already_applied"] == 3 and report.counts["applied"] == 0
    assert fake.payment_desk.created == {"cash-B01": 1, "cash-B02": 1, "cash-B03": 1}


def test_a_timeout_after_commit_is_found_by_reference(zuora_env: tuple[Env, FakeZuora]) -> None:
    env, fake = zuora_env
    fake.fail_next("timeout_after_commit", method="POST", path="/v1/payments")
    report = run_cash_job(env.job, target=_zuora(fake), store=env.store, mode="apply")
    assert report.counts["applied"] + report.counts["already_applied"] == 3
    assert report.counts["already_applied"] == 1
    assert fake.payment_desk.created == {"cash-B01": 1, "cash-B02": 1, "cash-B03": 1}


def test_a_rematched_line_is_held_back_not_paid_twice(
    zuora_env: tuple[Env, FakeZuora], tmp_path: Path
) -> None:
    env, fake = zuora_env
    assert (
        run_cash_job(env.job, target=_zuora(fake), store=env.store, mode="apply").counts["applied"]
        == 3
    )
    # a newer run over a corrected bank file matches B02 to one invoice only
    bank = BANK.replace("Invoices INV-1002 and INV-1003", "INV-1002").replace(
        "B02,2024-03-15,290.00", "B02,2024-03-15,250.00"
    )
    (tmp_path / "bank2.csv").write_text(bank)
    bank2, invoices = str(tmp_path / "bank2.csv"), str(tmp_path / "invoices.csv")
    res = runner.invoke(
        cash_app, ["--bank", bank2, "--invoices", invoices, "--out", str(env.runs / "r2")]
    )
    assert res.exit_code == 0, res.output
    out = runner.invoke(cli.app, ["apply", env.job.name])
    assert out.exit_code == 2, out.output
    assert "held back: payment B02: the bank line's payment is already applied" in out.output
    assert fake.payment_desk.created["cash-B02"] == 1 and len(fake.payments) == 3


# -- NetSuite ----------------------------------------------------------------------------
def _netsuite_fake() -> FakeNetSuite:
    fake = FakeNetSuite(require_auth=False).start()
    customers = {c: str(700 + i) for i, c in enumerate(("C1", "C2", "C3", "C4", "C5"))}
    for row in csv.DictReader(INVOICES.splitlines()):
        fake.add(
            "invoice",
            {
                "tranId": row["invoice_number"],
                "entity": {"id": customers[row["customer_id"]]},
                "currency": {"id": "1", "refName": "USD"},
                "status": {"id": "A", "refName": "Open"},
                "amountRemaining": Decimal(row["open_amount"]),
            },
        )
    return fake


def test_cash_run_to_netsuite_customer_payments_exactly_once(store: Store, tmp_path: Path) -> None:
    url = _url(store)
    runs, ids, _ = _cash_run(tmp_path, url)
    job = SyncJobSettings(
        name="cash_to_netsuite",
        kind="cash_application",
        target="ns",
        target_kind="netsuite",
        cash={"runs": str(runs), "deposit_account": "118"},
    )
    env = Env(store, runs, url, job, ids)
    env.decide("accept", "B04", "ar.clerk")
    env.decide("reject", "B05", "ar.lead")
    fake = _netsuite_fake()
    try:
        target: Connector = netsuite_connect(fake.settings(read_timeout_s=0.3), sleep=lambda s: 0)
        plan = run_cash_job(job, target=target, store=store, mode="plan").plan
        assert [c.source_id for c in plan.changes] == ["B01", "B02", "B03", "B04"]
        first = run_cash_job(job, target=target, store=store, mode="apply")
        assert first.counts["applied"] == 4 and first.open_left == 0
        second = run_cash_job(job, target=target, store=store, mode="apply")
        assert second.counts["applied"] == 0 and second.plan.empty
    finally:
        fake.stop()
    payments = fake.state.records["customerPayment"]
    assert len(payments) == 4 and fake.state.creates == {}  # upserts by external id only
    b02 = fake.by_external_id("customerPayment", "cash-B02")
    assert b02 is not None and b02["payment"] == "290.00" and b02["account"] == {"id": "118"}
    assert b02["customer"] == {"id": "700"}
    by_tran = {b["tranId"]: b for b in fake.state.records["invoice"].values()}
    applied_docs = {it["doc"]["id"] for it in b02["apply"]["items"]}
    assert applied_docs == {by_tran["INV-1002"]["id"], by_tran["INV-1003"]["id"]}
    assert by_tran["INV-1002"]["amountRemaining"] == Decimal("0")
    assert by_tran["INV-2001"]["amountRemaining"] == Decimal("10.00")  # the deduction, open
    assert by_tran["INV-4001"]["amountRemaining"] == Decimal("75.00")  # rejected suggestion
    b03 = fake.by_external_id("customerPayment", "cash-B03")
    assert b03 is not None and "deduction 10.00 USD on INV-2001" in b03["memo"]
    assert fake.state.upserts == {f"cash-B0{i}": 1 for i in range(1, 5)}


def test_a_lost_netsuite_answer_settles_each_invoice_once(store: Store, tmp_path: Path) -> None:
    runs, _ids, _ = _cash_run(tmp_path, _url(store))
    job = SyncJobSettings(
        name="cash_to_netsuite",
        kind="cash_application",
        target="ns",
        target_kind="netsuite",
        cash={"runs": str(runs)},
    )
    fake = _netsuite_fake()
    try:
        fake.fault("timeout_after_commit", method="PUT", path_contains="cash-B02", delay_s=0.6)
        target = netsuite_connect(fake.settings(read_timeout_s=0.3), sleep=lambda s: 0)
        report = run_cash_job(job, target=target, store=store, mode="apply", sleep=lambda s: None)
    finally:
        fake.stop()
    assert report.counts["applied"] + report.counts["already_applied"] == 3
    assert report.counts["unknown"] == 1 and report.open_left == 0  # resent, then settled
    by_tran = {b["tranId"]: b for b in fake.state.records["invoice"].values()}
    assert by_tran["INV-1002"]["amountRemaining"] == Decimal("0")
    assert by_tran["INV-1003"]["amountRemaining"] == Decimal("0")
    assert len(fake.state.records["customerPayment"]) == 3


def test_a_scheduled_firing_runs_a_cash_job_like_sync_apply(
    zuora_env: tuple[Env, FakeZuora],
) -> None:
    """`serve` and the nightly chain reach cash_application jobs through the same dispatch as
    `sync apply` (it used to open the job's empty source connection and fail)."""
    from sync.serve import sync_runner

    env, fake = zuora_env
    ctx = cli._factory(None)
    report = sync_runner(ctx, threading.Event())(env.job.name, "scheduled-1")
    assert isinstance(report, RunReport) and report.run_id == "scheduled-1"
    assert report.counts["applied"] == 3  # the three automatic applications
    assert sorted(p["referenceId"] for p in fake.payments.values()) == [
        "cash-B01",
        "cash-B02",
        "cash-B03",
    ]
    again = sync_runner(ctx, threading.Event())(env.job.name, "scheduled-2")
    assert isinstance(again, RunReport) and again.counts["applied"] == 0
    assert len(fake.payments) == 3
