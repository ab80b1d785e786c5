"""End to end into the ERP: customers and sales orders upserted by external id through the
real NetSuite connector against the loopback ``FakeNetSuite``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billbridge.state import Store
from billbridge.testing.fake_netsuite import FakeNetSuite
from canonical import ContractStatus
from connectors.netsuite import connect
from sync.runner import RunReport, run_job
from sync.settings import SyncJobSettings
from tests.sync.fakes import FakeSource, contract, customer, line

NJOB = SyncJobSettings(
    name="sf_to_netsuite", source="sf", target="ns", target_kind="netsuite", batch_size=10
)


@pytest.fixture
def fake() -> Iterator[FakeNetSuite]:
    server = FakeNetSuite(require_auth=False).start()
    yield server
    server.stop()


def _sync(src: FakeSource, fake: FakeNetSuite, store: Store) -> RunReport:
    target = connect(fake.settings(read_timeout_s=0.3), sleep=lambda s: None)
    return run_job(NJOB, source=src, target=target, store=store, mode="apply", sleep=lambda s: None)


def _book(src: FakeSource) -> None:
    src.put("customer", customer("001A", name="Acme", payment_terms="Net 30"))
    src.put("contract", contract("800A", "001A", [line("L1", "3", "12.50")]))


def test_customers_and_sales_orders_are_upserted_by_external_id(
    fake: FakeNetSuite, sqlite_store: Store
) -> None:
    src = FakeSource()
    _book(src)
    report = _sync(src, fake, sqlite_store)
    assert report.counts["applied"] == 2 and report.cursor_advanced
    cust = fake.by_external_id("customer", "SF-001A")
    order = fake.by_external_id("salesOrder", "SF-800A")
    assert cust is not None and cust["companyName"] == "Acme"
    assert order is not None and order["entity"] == {"externalId": "SF-001A"}
    assert order["item"]["items"][0]["quantity"] == "3"
    # a quantity change and a cancellation are upserts of the whole order
    src.put("contract", contract("800A", "001A", [line("L1", "5", "12.50")]))
    _sync(src, fake, sqlite_store)
    order = fake.by_external_id("salesOrder", "SF-800A")
    assert order is not None and order["item"]["items"][0]["quantity"] == "5"
    src.put(
        "contract",
        contract("800A", "001A", [line("L1", "5", "12.50")], status=ContractStatus.CANCELLED),
    )
    _sync(src, fake, sqlite_store)
    order = fake.by_external_id("salesOrder", "SF-800A")
    assert order is not None and order["item"]["items"][0]["isClosed"] is True
    assert fake.state.creates == {}  # only upserts: natural idempotency, never a blind create
    assert len(fake.state.records["salesOrder"]) == 1


@pytest.mark.parametrize("kind", ["timeout_after_commit", "429", "500"])
def test_faults_leave_one_record_per_external_id(
    fake: FakeNetSuite, sqlite_store: Store, kind: str
) -> None:
    src = FakeSource()
    _book(src)
    fake.fault(kind, method="PUT", path_contains="salesOrder", delay_s=0.6)
    for _ in range(3):
        _sync(src, fake, sqlite_store)
    assert len(fake.state.records["salesOrder"]) == 1
    assert len(fake.state.records["customer"]) == 1
