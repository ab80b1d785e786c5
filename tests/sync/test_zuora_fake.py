"""End to end through the real Zuora connector against the loopback ``FakeZuora``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from billbridge.state import Store
from billbridge.testing.fake_zuora import FakeZuora
from canonical import ContractStatus
from connectors.zuora import ZuoraConnector, ZuoraSettings
from sync.runner import RunReport, run_job
from tests.sync.fakes import FakeSource, contract, customer, line
from tests.sync.scenario import JOB

ZJOB = JOB.model_copy(
    update={
        "catalog": {"SKU-SEAT": ("PRP-SEAT", "PRPC-SEAT"), "SKU-SUP": ("PRP-SUPPORT", "PRPC-SUP")}
    }
)


@pytest.fixture
def fake() -> Iterator[FakeZuora]:
    server = FakeZuora(slow_seconds=0.4)
    server.add_product(
        "PRP-SEAT",
        "SKU-SEAT",
        [{"productRatePlanChargeId": "PRPC-SEAT", "name": "Seat", "price": "10"}],
    )
    server.add_product(
        "PRP-SUPPORT",
        "SKU-SUP",
        [{"productRatePlanChargeId": "PRPC-SUP", "name": "Support", "price": "99"}],
    )
    with server:
        yield server


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


def _sync(src: FakeSource, fake: FakeZuora, store: Store) -> RunReport:
    return run_job(
        ZJOB, source=src, target=_zuora(fake), store=store, mode="apply", sleep=lambda s: None
    )


def _book(src: FakeSource) -> None:
    src.put("customer", customer("001A", name="Acme"))
    src.put("customer", customer("001B", name="Beta"))
    src.put("contract", contract("800A", "001A", [line("L1", "3", "12.50", "SKU-SEAT")]))
    src.put("contract", contract("800B", "001B", [line("L1", "1", "10", "SKU-SEAT")]))


def _latest(fake: FakeZuora, number: str) -> dict[str, Any]:
    return fake.subscriptions[number][-1]


def test_lifecycle_through_the_real_connector(fake: FakeZuora, sqlite_store: Store) -> None:
    src = FakeSource()
    _book(src)
    first = _sync(src, fake, sqlite_store)
    assert first.counts["applied"] == 4 and first.cursor_advanced
    assert {"SF-001A", "SF-001B"} <= set(fake.accounts)
    sub = _latest(fake, "SF-800A")  # we chose the subscription number: our external id
    assert sub["accountNumber"] == "SF-001A"
    charge = sub["ratePlans"][0]["ratePlanCharges"][0]
    assert (str(charge["price"]), str(charge["quantity"])) == ("12.50", "3")
    # add a product to A, renew B for another term, then cancel A
    src.put(
        "contract",
        contract(
            "800A", "001A", [line("L1", "3", "12.50", "SKU-SEAT"), line("L2", "1", "99", "SKU-SUP")]
        ),
    )
    src.put(
        "contract",
        contract("800B", "001B", [line("L1", "1", "10", "SKU-SEAT")], end_date=date(2026, 12, 31)),
    )
    second = _sync(src, fake, sqlite_store)
    assert second.counts["applied"] == 2, second.counts
    assert [p["productRatePlanId"] for p in _latest(fake, "SF-800A")["ratePlans"]] == [
        "PRP-SEAT",
        "PRP-SUPPORT",
    ]
    assert len(fake.subscriptions["SF-800B"]) == 2  # a new version from the renewal
    # a quantity and price change: UpdateProduct on the charge Zuora numbered
    src.put(
        "contract",
        contract(
            "800A", "001A", [line("L1", "7", "11.00", "SKU-SEAT"), line("L2", "1", "99", "SKU-SUP")]
        ),
    )
    third = _sync(src, fake, sqlite_store)
    assert third.counts["applied"] == 1, third.counts
    seat = _latest(fake, "SF-800A")["ratePlans"][0]["ratePlanCharges"][0]
    assert (str(seat["price"]), str(seat["quantity"])) == ("11.00", "7")
    src.put(
        "contract",
        contract(
            "800A", "001A", [], status=ContractStatus.CANCELLED, cancellation_date=date(2025, 6, 30)
        ),
    )
    _sync(src, fake, sqlite_store)
    assert _latest(fake, "SF-800A")["status"] == "Cancelled"
    calls = sum(fake.calls.values())
    assert _sync(src, fake, sqlite_store).api_calls == 0  # nothing changed: no writes
    assert sum(fake.calls.values()) == calls


@pytest.mark.parametrize("fault", ["timeout_after_commit", "503", "429", "in_flight"])
def test_vendor_faults_end_with_one_subscription_per_contract(
    fake: FakeZuora, sqlite_store: Store, fault: str
) -> None:
    src = FakeSource()
    _book(src)
    fake.fail_next(fault, path="/v1/orders")
    for _ in range(3):
        _sync(src, fake, sqlite_store)
    assert set(fake.subscriptions) == {"SF-800A", "SF-800B"}
    assert all(len(v) == 1 for v in fake.subscriptions.values())  # one create, no amendments
    assert len(fake.orders) == 2


def test_a_rejected_order_is_reported_and_the_rest_goes_through(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    src = FakeSource()
    _book(src)
    src.put("contract", contract("800C", "001A", [line("L1", "1", "1", "SKU-UNKNOWN")]))
    report = _sync(src, fake, sqlite_store)
    assert report.counts["rejected"] == 1 and report.cursor_advanced
    assert set(fake.subscriptions) == {"SF-800A", "SF-800B"}


def test_payloads_from_the_analysts_outbound_specs(fake: FakeZuora, sqlite_store: Store) -> None:
    """Job mappings name the shipped outbound specs: their versions go into every key and
    their payloads are what Zuora receives; a record the spec cannot map waits."""
    from mappings import default_spec

    plan_id, charge_id = "8ad09be48db5aba7018db60478214859", "8ad09be48db5aba7018db604787a485b"
    fake.add_product(
        plan_id,
        "PLAT-PRO",
        [{"productRatePlanChargeId": charge_id, "name": "Platform", "price": "10"}],
    )
    job = JOB.model_copy(
        update={
            "mappings": {
                "customer": "canonical/customer_to_zuora_account",
                "contract": "canonical/contract_to_zuora_order",
            }
        }
    )
    src = FakeSource()
    src.put("customer", customer("001A", name="Acme"))
    src.put("contract", contract("800A", "001A", [line("L1", "4", "12.00", "PLAT-PRO")]))
    src.put("contract", contract("800B", "001A", [line("L1", "1", "1", "NOT-IN-CATALOG")]))

    def sync() -> RunReport:
        return run_job(
            job,
            source=src,
            target=_zuora(fake),
            store=sqlite_store,
            mode="apply",
            sleep=lambda s: None,
        )

    first = sync()
    assert (
        first.plan.mapping_versions["contract"]
        == default_spec("canonical/contract_to_zuora_order").version
    )
    assert {i.mapping_version for i in first.plan.intents() if i.entity == "subscription"} == {
        first.plan.mapping_versions["contract"]
    }
    assert fake.accounts["SF-001A"]["basicInfo"]["crmId"] == "001A"  # from the account spec
    charge = _latest(fake, "SF-800A")["ratePlans"][0]["ratePlanCharges"][0]
    assert (str(charge["price"]), str(charge["quantity"])) == ("12.00", "4")
    assert len(first.plan.errors) == 1 and "800B" in first.plan.errors[0]
    assert not first.cursor_advanced and "SF-800B" not in fake.subscriptions
    # the analyst fixes the data: the waiting record maps and the window closes
    src.put("contract", contract("800B", "001A", [line("L1", "1", "1", "PLAT-PRO")]))
    second = sync()
    assert "SF-800B" in fake.subscriptions and second.cursor_advanced
    assert len(fake.subscriptions["SF-800A"]) == 1  # nothing sent twice


class Crash(BaseException):
    pass


def test_crash_after_an_order_left_is_found_not_resent(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    """The process dies after Zuora applied an AddProduct but before the outcome was saved:
    the next run finds the order action by our key (read before retry) and sends nothing."""
    from sqlalchemy import select

    from billbridge.state.schema import OutboxIntentRow

    src = FakeSource()
    _book(src)
    _sync(src, fake, sqlite_store)
    src.put(
        "contract",
        contract(
            "800A", "001A", [line("L1", "3", "12.50", "SKU-SEAT"), line("L2", "1", "99", "SKU-SUP")]
        ),
    )

    def die(step: str) -> None:
        if step == "sent":
            raise Crash(step)

    with pytest.raises(Crash):
        run_job(
            ZJOB,
            source=src,
            target=_zuora(fake),
            store=sqlite_store,
            mode="apply",
            sleep=lambda s: None,
            fault_hook=die,
        )
    orders = len(fake.orders)
    fake.advance(25 * 3600)  # Zuora forgot the idempotency key: only the lookup protects
    _sync(src, fake, sqlite_store)
    assert len(fake.orders) == orders  # nothing resent
    assert [p["productRatePlanId"] for p in _latest(fake, "SF-800A")["ratePlans"]] == [
        "PRP-SEAT",
        "PRP-SUPPORT",
    ]
    with sqlite_store.session() as s:
        statuses = [
            r.status for r in s.scalars(select(OutboxIntentRow)) if r.action == "AddProduct"
        ]
    assert statuses == ["already_applied"]


def test_a_renewal_into_a_new_term_length_renews_with_that_term(
    fake: FakeZuora, sqlite_store: Store
) -> None:
    src = FakeSource()
    src.put("customer", customer("001A", name="Acme"))
    booked = contract("800A", "001A", [line("L1", "3", "100", "SKU-SEAT")], auto_renew=True)
    src.put("contract", booked)
    _sync(src, fake, sqlite_store)
    assert _latest(fake, "SF-800A")["termEndDate"] == "2026-01-01"
    # renewed for 24 months instead of 12, with a price uplift for the new term
    renewed = booked.model_copy(
        update={
            "end_date": date(2027, 12, 31),
            "term_months": 24,
            "lines": (line("L1", "3", "105", "SKU-SEAT"),),
        }
    )
    src.put("contract", renewed)
    report = _sync(src, fake, sqlite_store)
    assert report.counts["rejected"] == 0, report
    actions = [i.action for i in report.plan.intents()]
    assert actions == ["TermsAndConditions", "RenewSubscription", "UpdateProduct"]
    sub = _latest(fake, "SF-800A")
    # the second term: 2026-01-01 for 24 months (not the first term re-cut to 24 months)
    assert (sub["termStartDate"], sub["termEndDate"], sub["currentTerm"]) == (
        "2026-01-01",
        "2028-01-01",
        24,
    )
    [update] = [i for i in report.plan.intents() if i.action == "UpdateProduct"]
    assert update.payload["orderDate"] == "2026-01-01"  # the uplift starts with the new term
