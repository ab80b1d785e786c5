"""A create rejected for a wrong catalog entry goes out once the catalog is fixed: the
corrected payload is a new write with a key of its own (the rejected key is not reused)."""

from __future__ import annotations

from sqlalchemy import select

from billbridge.state import Store
from billbridge.state.schema import OutboxIntentRow
from canonical import WriteIntent, WriteResult
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run

WRONG = JOB.model_copy(update={"catalog": {"SKU-A": ("PRP-WRONG", "PRPC-WRONG")}})
FIXED = JOB.model_copy(update={"catalog": {"SKU-A": ("PRP-GOOD", "PRPC-GOOD")}})


class CatalogTarget(FakeTarget):
    """Zuora: an unknown productRatePlanId rejects the record."""

    def _mutate(self, intent: WriteIntent) -> WriteResult:
        if "PRP-WRONG" in str(intent.payload):
            return self._reject(intent, "Invalid ProductRatePlanId PRP-WRONG")
        return super()._mutate(intent)


def _creates(store: Store) -> list[tuple[str, str]]:
    with store.session() as s:
        rows = s.scalars(
            select(OutboxIntentRow)
            .where(OutboxIntentRow.action == "CreateSubscription")
            .order_by(OutboxIntentRow.seq)
        )
        return [(r.idempotency_key, r.status) for r in rows]


def test_a_create_rejected_for_a_wrong_catalog_entry_goes_out_once_it_is_fixed(
    sqlite_store: Store,
) -> None:
    src, tgt = FakeSource(), CatalogTarget()
    src.put("customer", customer("001A", name="Acme"))
    src.put("contract", contract("800A", "001A", [line("L1", "5", "10.00")]))
    first = run(src, tgt, sqlite_store, job=WRONG)
    assert first.counts["rejected"] == 1 and tgt.subscriptions == {}
    # the analyst fixes the catalog; the record is read again (lookback)
    fixed = run(src, tgt, sqlite_store, job=FIXED)
    assert [i.action for i in fixed.plan.intents()] == ["CreateSubscription"]
    assert fixed.counts["applied"] == 1
    assert tgt.subscriptions["SF-800A"]["lines"]["L1"]["sku"] == "PRP-GOOD"
    (rejected, was), (created, now) = _creates(sqlite_store)
    assert rejected != created and (was, now) == ("rejected", "applied")
    # nothing more to do, and the subscription was created once
    calls = tgt.write_calls
    assert run(src, tgt, sqlite_store, job=FIXED).plan.empty and tgt.write_calls == calls
    assert tgt.creates["SF-800A"] == 1 and not tgt.duplicate_creates
