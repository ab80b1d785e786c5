"""Redriving a rejected Zuora write: a fresh idempotency key, and never a stale version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.schema import AuditEventRow, OutboxIntentRow
from billbridge.testing.fake_zuora import FakeZuora
from connectors.zuora import ZuoraConnector, ZuoraSettings
from sync import outbox
from sync.operator import redrive
from sync.runner import RunReport, run_job
from tests.sync.fakes import FakeSource, contract, customer, line
from tests.sync.scenario import JOB

ZJOB = JOB.model_copy(update={"catalog": {"SKU-SEAT": ("PRP-SEAT", "PRPC-SEAT")}})


@pytest.fixture
def fake() -> Iterator[FakeZuora]:
    server = FakeZuora()
    server.add_product(
        "PRP-SEAT",
        "SKU-SEAT",
        [{"productRatePlanChargeId": "PRPC-SEAT", "name": "Seat", "price": "10"}],
    )
    with server:
        yield server


def _sync(src: FakeSource, fake: FakeZuora, store: Store) -> RunReport:
    settings = ZuoraSettings(
        tenant="us_api_sandbox",
        base_url=fake.url,
        client_id="fake-client",
        client_secret="fake-secret",
        read_timeout=2.0,
    )
    target = ZuoraConnector(settings, sleep=lambda s: None)
    return run_job(ZJOB, source=src, target=target, store=store, mode="apply", sleep=lambda s: None)


def _quantity(fake: FakeZuora) -> str:
    charge = fake.subscriptions["SF-800A"][-1]["ratePlans"][0]["ratePlanCharges"][0]
    return str(charge["quantity"])


def _rejected_key(store: Store) -> str:
    with store.session() as s:
        stmt = select(OutboxIntentRow.idempotency_key).where(OutboxIntentRow.status == "rejected")
        return str(s.scalars(stmt).one())


def _booked_then_rejected(src: FakeSource, fake: FakeZuora, store: Store) -> str:
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1", "5", "10", "SKU-SEAT")]))
    assert _sync(src, fake, store).counts["applied"] == 2
    src.put("contract", contract("800A", "001A", [line("L1", "20", "10", "SKU-SEAT")]))
    fake.fail_next("reject", 1, path="/v1/orders")
    assert _sync(src, fake, store).counts["rejected"] == 1
    return _rejected_key(store)


def test_a_redrive_is_sent_under_a_fresh_key_not_replayed(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    key = _booked_then_rejected(FakeSource(), fake, sqlite_store)
    redrive(sqlite_store, key, actor="ana", ticket="CHG-1")
    report = _sync(FakeSource(), fake, sqlite_store)
    # Zuora stored the rejection under the old key for 24 h: resending it only replays it
    assert report.counts["applied"] == 1 and report.counts["rejected"] == 0
    assert fake.replays == 0 and _quantity(fake) == "20"
    with sqlite_store.session() as s:
        assert s.get(OutboxIntentRow, key).status == "applied"  # the same outbox row


def test_a_second_redrive_gets_another_key_and_a_plain_resend_keeps_it() -> None:
    key = "a" * 64
    assert outbox.wire_key(key, 0) == key  # unknown outcome: same key, vendor deduplicates
    first, second = outbox.wire_key(key, 1), outbox.wire_key(key, 2)
    assert len({key, first, second}) == 3 and len(first) == 64


def test_redrive_of_a_version_older_than_an_applied_one_is_refused(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    src = FakeSource()
    key = _booked_then_rejected(src, fake, sqlite_store)
    src.put("contract", contract("800A", "001A", [line("L1", "30", "10", "SKU-SEAT")]))
    assert _sync(src, fake, sqlite_store).counts["applied"] == 1
    assert _quantity(fake) == "30"
    with pytest.raises(ConfigError) as err:
        redrive(sqlite_store, key[:12], actor="ana", ticket="CHG-1")
    msg = str(err.value)
    assert "is stale" in msg and "version 4" in msg and "was applied" in msg
    assert f"billbridge sync skip {key[:12]}" in msg
    _sync(src, fake, sqlite_store)
    assert _quantity(fake) == "30"  # never overwritten with 20
    with sqlite_store.session() as s:
        assert s.get(OutboxIntentRow, key).status == "rejected"
        assert not list(s.scalars(select(AuditEventRow)))


def test_redrive_of_an_older_version_is_refused_while_the_newer_one_is_queued(
    sqlite_store: Store,
) -> None:
    from tests.sync.fakes import FakeTarget

    src, tgt = FakeSource(), FakeTarget()
    src.put("customer", customer("001A"))
    src.put("contract", contract("800A", "001A", [line("L1", "5")]))
    run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="apply", sleep=lambda s: None)
    tgt.reject_ids = {"SF-800A"}
    src.put("contract", contract("800A", "001A", [line("L1", "20")]))
    run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="apply", sleep=lambda s: None)
    key = _rejected_key(sqlite_store)
    src.put("contract", contract("800A", "001A", [line("L1", "30")]))
    tgt.reject_ids = set()
    tgt.faults = ["5xx"] * 20  # the newer version stays queued (pending) after this run
    run_job(JOB, source=src, target=tgt, store=sqlite_store, mode="apply", sleep=lambda s: None)
    with sqlite_store.session() as s:
        stmt = select(OutboxIntentRow.status).where(OutboxIntentRow.source_version == "4")
        assert s.scalars(stmt).one() == "pending"
    with pytest.raises(ConfigError, match="is queued"):
        redrive(sqlite_store, key, actor="ana", ticket="CHG-1")


def test_redrive_is_refused_after_a_newer_save_of_the_same_version_was_applied(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    """Two saves in one second share their version token: the later content, applied under
    a key of its own, makes the rejected earlier write stale all the same."""
    src = FakeSource()
    key = _booked_then_rejected(src, fake, sqlite_store)
    last = src.records["contract"]["800A"]
    newer = contract("800A", "001A", [line("L1", "30", "10", "SKU-SEAT")]).model_copy(
        update={"updated_at": last.updated_at, "source_version": last.source_version}
    )
    src.records["contract"]["800A"] = newer
    assert _sync(src, fake, sqlite_store).counts["applied"] == 1
    assert _quantity(fake) == "30"
    with pytest.raises(ConfigError, match="is stale"):
        redrive(sqlite_store, key[:12], actor="ana", ticket="CHG-1")
    _sync(src, fake, sqlite_store)
    assert _quantity(fake) == "30"  # never overwritten with 20


def test_operator_actions_wait_for_a_running_job(fake: FakeZuora, sqlite_store: Store) -> None:
    """While a run of the job holds its lease (it may be sending this very intent), retry
    and skip fail with the lease's message and change nothing; once it ends they work."""
    from datetime import UTC, datetime, timedelta

    from sync import leases
    from sync.leases import LeaseBusy
    from sync.operator import skip_intent

    key = _booked_then_rejected(FakeSource(), fake, sqlite_store)
    now = datetime.now(UTC)
    assert leases.acquire(sqlite_store, ZJOB.name, "nightly@host:42", timedelta(hours=1), now)
    with pytest.raises(LeaseBusy, match="is already running"):
        redrive(sqlite_store, key, actor="ana", ticket="CHG-1")
    with pytest.raises(LeaseBusy, match="is already running"):
        skip_intent(sqlite_store, key, actor="ana", ticket="CHG-1")
    with sqlite_store.session() as s:
        assert s.get(OutboxIntentRow, key).status == "rejected"
        assert not list(s.scalars(select(AuditEventRow)))
    leases.release(sqlite_store, ZJOB.name, "nightly@host:42")
    redrive(sqlite_store, key, actor="ana", ticket="CHG-1")
    with sqlite_store.session() as s:
        assert s.get(OutboxIntentRow, key).status == "pending"
        # the action's own lease is gone again: the next run can take it
    assert leases.current(sqlite_store, ZJOB.name) is None or leases.acquire(
        sqlite_store, ZJOB.name, "next-run", timedelta(minutes=1), datetime.now(UTC)
    )
