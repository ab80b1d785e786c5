"""A small book of business and a second wave of changes, shared by the sync tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.runner import RunReport, run_job
from sync.settings import SyncJobSettings
from tests.sync.fakes import FakeSource, FakeTarget, contract, customer, line

JOB = SyncJobSettings(
    name="sf_to_zuora",
    source="sf",
    target="zuora",
    target_kind="zuora",
    batch_size=3,
    concurrency=2,
    max_attempts=8,
    retry_rounds=2,
)


def wave1(src: FakeSource) -> None:
    for c in ("001A", "001B", "001C"):
        src.put("customer", customer(c, name=f"Customer {c}"))
    src.put("contract", contract("800A", "001A", [line("L1"), line("L2", "2", "20.00", "SKU-B")]))
    src.put("contract", contract("800B", "001B", [line("L1", "5")]))
    src.put("contract", contract("800C", "001C", [line("L1")], auto_renew=True))
    src.put("contract", contract("800D", "001A", [line("L1", "3", "7.50")]))


def wave2(src: FakeSource) -> None:
    """Quantity, price, add, remove, renewal, cancellation, a new contract, a bill-to change."""
    from datetime import date

    from canonical import ContractStatus

    src.put("contract", contract("800A", "001A", [line("L1", "4"), line("L3", "1", "99", "SKU-C")]))
    src.put("contract", contract("800B", "001B", [line("L1", "5", "12.00")]))
    src.put(
        "contract",
        contract("800C", "001C", [line("L1")], auto_renew=True, end_date=date(2026, 12, 31)),
    )
    src.put(
        "contract",
        contract(
            "800D",
            "001A",
            [line("L1", "3", "7.50")],
            status=ContractStatus.CANCELLED,
            cancellation_date=date(2025, 6, 30),
        ),
    )
    src.put("customer", customer("001D", name="Customer 001D"))
    src.put("contract", contract("800E", "001D", [line("L1", "2")]))
    src.put("customer", customer("001B", name="Customer 001B", payment_terms="Net 45"))


def run(
    src: FakeSource,
    tgt: FakeTarget,
    store: Any,
    *,
    job: SyncJobSettings = JOB,
    hook: Callable[[str], None] | None = None,
    **kw: Any,
) -> RunReport:
    return run_job(
        job,
        source=src,
        target=tgt,
        store=store,
        mode="apply",
        fault_hook=hook,
        sleep=lambda s: None,
        **kw,
    )


def golden(store_factory: Callable[[], Any]) -> dict[str, Any]:
    """End state of the target after both waves without any fault."""
    src, tgt = FakeSource(), FakeTarget()
    store = store_factory()
    wave1(src)
    run(src, tgt, store)
    wave2(src)
    run(src, tgt, store)
    return tgt.state()
