"""UpdateProduct changes the charge of its own contract line: never another line's charge
of the same SKU, and a line added in the same batch is resolved only after it was added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from billbridge.state import Store
from canonical import ResultStatus, WriteIntent, WriteOp, WriteResult
from sync import charges
from sync.batching import send_batch
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line
from tests.sync.scenario import JOB, run


class ZuoraLike(FakeTarget):
    """UpdateProduct changes the charge named by ``chargeNumber`` (``C-<line>``), as Zuora
    does (the plain fake goes by the line token, which Zuora does not)."""

    def _mutate(self, intent: WriteIntent) -> WriteResult:
        if intent.action == "UpdateProduct":
            update = intent.payload["body"]["updateProduct"]["chargeUpdates"][0]
            lid = update["chargeNumber"].removeprefix("C-")
            price = update["pricing"]["recurringPerUnit"]
            self.subscriptions[intent.external_id]["lines"][lid].update(
                qty=price["quantity"], price=price["listPrice"]
            )
            self.applied_keys[intent.idempotency_key] = intent.external_id
            return self._ok(intent, intent.external_id)
        return super()._mutate(intent)


def _line_added_then_edited_while_down(tmp_path: Path, tgt: FakeTarget) -> None:
    store = Store(f"sqlite:///{tmp_path}/state.db")
    src = FakeSource()
    job = JOB.model_copy(update={"retry_rounds": 0})
    src.put("customer", customer("001A", name="Acme"))
    src.put("contract", contract("800A", "001A", [line("L1", "1", "10.00", "SKU-A")]))
    run(src, tgt, store, job=job)
    l1 = line("L1", "1", "10.00", "SKU-A")
    src.put("contract", contract("800A", "001A", [l1, line("L2", "2", "10.00", "SKU-A")]))
    tgt.faults = ["5xx"] * 10
    run(src, tgt, store, job=job)  # AddProduct L2 stays pending
    src.put("contract", contract("800A", "001A", [l1, line("L2", "5", "10.00", "SKU-A")]))
    run(src, tgt, store, job=job)  # UpdateProduct L2 queued behind it
    tgt.faults = []
    run(src, tgt, store, job=job)  # both in one batch


def test_update_of_a_line_added_in_the_same_batch_changes_that_line(tmp_path: Path) -> None:
    tgt = ZuoraLike()
    _line_added_then_edited_while_down(tmp_path, tgt)
    lines = tgt.subscriptions["SF-800A"]["lines"]
    assert lines["L1"]["qty"] == "1"
    assert lines["L2"]["qty"] == "5"


def test_without_line_ids_two_charges_of_the_sku_are_not_guessed(tmp_path: Path) -> None:
    tgt = ZuoraLike(line_ids=False)
    _line_added_then_edited_while_down(tmp_path, tgt)
    lines = tgt.subscriptions["SF-800A"]["lines"]
    assert lines["L1"]["qty"] == "1"  # not L1's charge (was: the only SKU-A charge then)
    assert lines["L2"]["qty"] == "2"  # ambiguous once L2 exists: rejected for a person


def _order_action(action: str, body: dict[str, Any], version: str) -> WriteIntent:
    """An order action on subscription ``SF-800A`` of account ``001A``."""
    payload: dict[str, Any] = {
        "accountNumber": "001A",
        "orderDate": "2025-01-01",
        "subscriptionNumber": "SF-800A",
        **body,
    }
    return WriteIntent.build(
        target_system="zuora",
        entity="subscription",
        op=WriteOp.ACTION,
        action=action,
        external_id="SF-800A",
        payload=payload,
        source_system="salesforce",
        source_id="800A",
        source_version=version,
        mapping_version="m1",
    )


def _pricing(quantity: str) -> dict[str, Any]:
    return {"pricing": {"recurringPerUnit": {"listPrice": "10.00", "quantity": quantity}}}


def _update(line_id: str, sku: str = "SKU-A") -> WriteIntent:
    update = {
        "ratePlanId": sku,
        "uniqueToken": line_id,
        "chargeUpdates": [_pricing("5")],
    }
    body = {"chargeSku": sku, "body": {"updateProduct": update}}
    return _order_action("UpdateProduct", body, f"v-{line_id}")


def _add(line_id: str, sku: str = "SKU-A") -> WriteIntent:
    rate_plan = {
        "productRatePlanId": sku,
        "uniqueToken": line_id,
        "chargeOverrides": [_pricing("2")],
    }
    return _order_action("AddProduct", {"body": {"addProduct": rate_plan}}, f"add-{line_id}")


def _subscription(tgt: FakeTarget, *lines: str) -> None:
    tgt.accounts["001A"] = {"name": "Acme"}
    tgt.subscriptions["SF-800A"] = {
        "account": "001A",
        "status": "active",
        "terms": {},
        "renewals": 0,
        "lines": {lid: {"sku": "SKU-A", "qty": "1", "price": "10.00"} for lid in lines},
    }


def test_a_charge_carrying_another_lines_id_is_never_taken_by_sku() -> None:
    tgt = ZuoraLike()
    _subscription(tgt, "L1")
    ready, decided, _ = charges.resolve(tgt, [_update("L2")])
    assert ready == []
    [result] = decided.values()
    assert result.status is ResultStatus.REJECTED
    assert result.error_code == "BB_CHARGE_NOT_RESOLVED"


def test_a_charge_without_line_id_is_still_found_by_its_unique_sku() -> None:
    tgt = ZuoraLike(line_ids=False)
    _subscription(tgt, "L1")
    [ready], decided, _ = charges.resolve(tgt, [_update("L1")])
    assert decided == {}
    charge = ready.payload["body"]["updateProduct"]["chargeUpdates"][0]["chargeNumber"]
    assert charge == "C-L1"


def test_dependent_update_waits_when_the_add_before_it_fails() -> None:
    tgt = ZuoraLike()
    _subscription(tgt, "L1")
    add, update = _add("L2"), _update("L2")
    assert charges.first_dependent([add, update]) == 1
    tgt.faults = ["5xx"]
    outcome = send_batch(tgt, [add, update])
    assert [r.status for r in outcome.results] == [ResultStatus.RETRYABLE] * 2
    assert "not sent" in (outcome.results[1].message or "")
    assert tgt.subscriptions["SF-800A"]["lines"]["L1"]["qty"] == "1"
    assert tgt.write_calls == 1  # the update never went out


def test_dependent_update_is_resolved_after_the_add_in_one_batch() -> None:
    tgt = ZuoraLike()
    _subscription(tgt, "L1")
    outcome = send_batch(tgt, [_add("L2"), _update("L2")])
    assert [r.status for r in outcome.results] == [ResultStatus.APPLIED] * 2
    lines = tgt.subscriptions["SF-800A"]["lines"]
    assert lines["L1"]["qty"] == "1" and lines["L2"]["qty"] == "5"
