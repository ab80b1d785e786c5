"""Change detection and planning are pure: record pairs in, events and intents out."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest

from canonical import Contact, ContractStatus, TaxId
from sync.events import (
    EventKind,
    content_hash,
    content_hash_of,
    contract_events,
    customer_events,
    record_events,
)
from sync.planner import Plan, build_plan, external_id
from tests.sync.fakes import contract, customer, line

NOW = datetime(2025, 5, 1, tzinfo=UTC)


def kinds(events: list) -> list[EventKind]:
    return [e.kind for e in events]


def test_a_new_activated_contract_is_a_new_subscription() -> None:
    c = contract("800A", "001A", [line("L1"), line("L2")])
    [ev] = contract_events(None, c)
    assert ev.kind == EventKind.NEW_SUBSCRIPTION and ev.effective_date == date(2025, 1, 1)
    assert [f.field for f in ev.changes] == ["line L1", "line L2"]


@pytest.mark.parametrize("status", [ContractStatus.DRAFT, ContractStatus.CANCELLED])
def test_drafts_and_contracts_cancelled_before_any_sync_produce_nothing(status) -> None:
    assert contract_events(None, contract("800A", "001A", status=status)) == []


def test_line_changes_become_add_remove_quantity_and_price_events() -> None:
    before = contract("800A", "001A", [line("L1", "1", "10"), line("L2")])
    after = contract("800A", "001A", [line("L1", "3", "12"), line("L3")], updated_at=NOW)
    events = contract_events(before, after)
    assert kinds(events) == [
        EventKind.QUANTITY_CHANGE,
        EventKind.PRICE_CHANGE,
        EventKind.ADD_PRODUCT,
        EventKind.REMOVE_PRODUCT,
    ]
    qty = events[0]
    assert (qty.line_id, qty.changes[0].before, qty.changes[0].after) == ("L1", "1", "3")
    assert qty.effective_date == date(2025, 5, 1)  # the day the source recorded it


def test_a_price_change_shows_its_currency_even_when_the_currency_stayed() -> None:
    before = contract("800A", "001A", [line("L1", "1", "100")])
    after = contract("800A", "001A", [line("L1", "1", "105")], updated_at=NOW)
    [ev] = contract_events(before, after)
    change = ev.changes[0]
    assert (change.field, change.before, change.after) == ("net_unit_price", "100 USD", "105 USD")


def test_one_more_term_is_a_renewal_effective_at_the_old_end() -> None:
    before = contract("800A", "001A", end_date=date(2025, 12, 31), term_months=12)
    after = contract("800A", "001A", end_date=date(2026, 12, 31), term_months=12)
    [ev] = contract_events(before, after)
    assert ev.kind == EventKind.RENEWAL and ev.effective_date == date(2025, 12, 31)


def test_line_changes_booked_with_a_renewal_take_effect_when_the_new_term_starts() -> None:
    before = contract("800A", "001A", [line("L1", "10", "100")], end_date=date(2025, 12, 31))
    after = contract(
        "800A", "001A", [line("L1", "12", "105")], end_date=date(2026, 12, 31), updated_at=NOW
    )
    events = contract_events(before, after)
    assert kinds(events) == [
        EventKind.RENEWAL,
        EventKind.QUANTITY_CHANGE,
        EventKind.PRICE_CHANGE,
    ]
    # booked on 2025-05-01, the uplift is the new term's price: from 2026-01-01
    assert [e.effective_date for e in events[1:]] == [date(2026, 1, 1)] * 2


def test_a_renewal_into_a_new_term_length_is_a_renewal() -> None:
    before = contract("800A", "001A", end_date=date(2025, 12, 31), term_months=12)
    after = contract("800A", "001A", end_date=date(2027, 12, 31), term_months=24)
    [ev] = contract_events(before, after)
    assert ev.kind == EventKind.RENEWAL and ev.effective_date == date(2025, 12, 31)


def test_other_term_changes_are_term_changes() -> None:
    before = contract("800A", "001A", end_date=date(2025, 12, 31), term_months=12)
    after = contract("800A", "001A", end_date=date(2026, 6, 30), term_months=18)
    assert kinds(contract_events(before, after)) == [EventKind.TERM_CHANGE]


def test_cancellation_carries_its_effective_date_and_nothing_else() -> None:
    before = contract("800A", "001A", [line("L1")])
    after = contract(
        "800A",
        "001A",
        [line("L1", "9")],
        status=ContractStatus.CANCELLED,
        cancellation_date=date(2025, 6, 30),
    )
    [ev] = contract_events(before, after)
    assert ev.kind == EventKind.CANCELLATION and ev.effective_date == date(2025, 6, 30)
    assert contract_events(after, after.model_copy(update={"number": "x"})) == []


def test_customer_master_changes_list_the_fields_that_moved() -> None:
    before = customer("001A", payment_terms="Net 30")
    after = customer(
        "001A",
        name="Acme GmbH",
        payment_terms="Net 45",
        tax_ids=(TaxId(scheme="eu_vat", value="DE136695976"),),
        bill_to=Contact(name="AP", email="ap@example.com"),
    )
    [ev] = customer_events(before, after)
    assert ev.kind == EventKind.CUSTOMER_CHANGE
    assert [f.field for f in ev.changes] == ["name", "bill_to", "payment_terms", "tax_ids"]
    assert kinds(customer_events(None, after)) == [EventKind.NEW_CUSTOMER]


def test_a_new_version_with_the_same_content_is_no_change() -> None:
    c = contract("800A", "001A", source_version="1")
    assert record_events(c, c.model_copy(update={"source_version": "2", "updated_at": NOW})) == []


def test_keys_are_deterministic_and_change_with_the_version_or_the_mapping() -> None:
    c = contract("800A", "001A", [line("L1"), line("L2")], source_version="7")

    def plan(cc: object, mv: dict[str, str]) -> Plan:
        return build_plan("j", "zuora", [(None, cc)], mapping_versions=mv, created_at=NOW)  # type: ignore[list-item]

    one, two = plan(c, {}), plan(c, {})
    assert one.fingerprint() == two.fingerprint()
    assert plan(c.model_copy(update={"source_version": "8"}), {}).fingerprint() != one.fingerprint()
    assert plan(c, {"contract": "abc"}).fingerprint() != one.fingerprint()
    # two line actions of one version never share a key
    before = contract("800A", "001A", [line("L1")], source_version="7")
    after = contract("800A", "001A", [line("L1"), line("L2"), line("L3")], source_version="8")
    keys = [
        i.idempotency_key
        for i in build_plan(
            "j", "zuora", [(before, after)], mapping_versions={}, created_at=NOW
        ).intents()
    ]
    assert len(keys) == 2 and len(set(keys)) == 2


def test_zuora_plan_shapes_order_actions_for_the_connector() -> None:
    before = contract("800A", "001A", [line("L1", "1", "10")])
    after = contract("800A", "001A", [line("L1", "2", "11")], updated_at=NOW)
    plan = build_plan(
        "j",
        "zuora",
        [(before, after)],
        mapping_versions={},
        created_at=NOW,
        catalog={"SKU-A": ("PRP-1", "PRPC-1")},
    )
    [intent] = plan.intents()
    assert (intent.entity, intent.op, intent.action) == ("subscription", "action", "UpdateProduct")
    assert intent.payload["accountNumber"] == external_id("salesforce", "001A") == "SF-001A"
    assert intent.payload["subscriptionNumber"] == "SF-800A"
    assert intent.payload["orderDate"] == "2025-05-01"
    update = intent.payload["body"]["updateProduct"]
    assert update["ratePlanId"] == "PRP-1"
    assert update["chargeUpdates"][0]["pricing"]["recurringPerUnit"] == {
        "listPrice": "11",
        "quantity": "2",
    }


def test_new_customer_and_its_contract_are_planned_parent_first() -> None:
    plan = build_plan(
        "j",
        "netsuite",
        [(None, contract("800A", "001A")), (None, customer("001A"))],
        mapping_versions={},
        created_at=NOW,
    )
    first, second = plan.intents()
    assert (first.entity, second.entity) == ("customer", "contract")
    assert second.depends_on == (first.idempotency_key,)
    assert second.payload["entity"] == {"externalId": "SF-001A"} and second.op == "upsert"


def test_the_content_hash_from_one_dump_is_the_stored_snapshots_hash() -> None:
    """The runner dumps a record once for its hash and its snapshot; the hash must stay the
    one snapshots were stored with, or every record would look changed once."""
    cust = customer("001A", tax_ids=(TaxId(scheme="eu_vat", value="DE136695976"),))
    con = contract("800A", "001A", [line("L1", "3", "12.50")], updated_at=NOW)
    for rec in (cust, con, con.model_copy(update={"source_version": "9"})):
        content = rec.model_dump(
            mode="json", exclude={"source_version", "updated_at", "provenance"}
        )
        stored = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        assert content_hash(rec) == content_hash_of(rec.model_dump(mode="json")) == stored
    # a touch (new version, same content) is not a change
    assert content_hash(con) == content_hash(con.model_copy(update={"source_version": "9"}))
