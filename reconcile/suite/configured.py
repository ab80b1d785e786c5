"""The AR suite's calculators as configured reconciliations.

A config entry names one of :data:`SUITE` as its ``definition`` and maps the calculator's
inputs to ``connection/entity`` sides; ``reconcile run`` (and the nightly chain) reads them,
runs the calculator and records its findings in the exception store like any other run,
so they keep their identity and age and reach the AR e-mail.

```yaml
reconciliations:
  leakage:
    definition: revenue_leakage
    sides: {invoices: zuora/invoice, contracts: salesforce/contract,
            subscriptions: zuora/subscription}
  aging:
    definition: ar_aging
    sides: {invoices: netsuite/invoice}
```

AR sub-ledger vs GL needs period snapshots and a chart of accounts; it stays a Python API
(``reconcile.suite.ar_gl``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from canonical import (
    Contract,
    CreditMemo,
    Customer,
    Invoice,
    Record,
    RevenueScheduleLine,
    Subscription,
)
from reconcile.suite.aging import age, items_from
from reconcile.suite.leakage import leakage
from reconcile.suite.revenue import billed_lines, compare_schedules

T = TypeVar("T")
Sides = Mapping[str, Sequence[Record]]


def _of(records: Sequence[Record] | None, kind: type[T]) -> list[T]:
    return [r for r in records or () if isinstance(r, kind)]


def _aging(sides: Sides, as_of: date) -> list[dict[str, Any]]:
    items = items_from(_of(sides["invoices"], Invoice), _of(sides.get("credit_memos"), CreditMemo))
    return age(items, as_of).to_exception_candidates()


def _leakage(sides: Sides, as_of: date) -> list[dict[str, Any]]:
    report = leakage(
        invoices=_of(sides["invoices"], Invoice),
        contracts=_of(sides["contracts"], Contract),
        as_of=as_of,
        subscriptions=_of(sides["subscriptions"], Subscription)
        if "subscriptions" in sides
        else None,
        customers_a=_of(sides["customers_a"], Customer) if "customers_a" in sides else None,
        customers_b=_of(sides["customers_b"], Customer) if "customers_b" in sides else None,
    )
    return report.to_exception_candidates()


def _revenue(sides: Sides, as_of: date) -> list[dict[str, Any]]:
    lines = billed_lines(_of(sides["invoices"], Invoice))
    return compare_schedules(
        lines, _of(sides["schedules"], RevenueScheduleLine)
    ).to_exception_candidates()


@dataclass(frozen=True)
class SuiteRecon:
    """Which sides a calculator needs and may take, and the calculator."""

    needs: tuple[str, ...]
    may: tuple[str, ...]
    run: Callable[[Sides, date], list[dict[str, Any]]]
    description: str


SUITE: dict[str, SuiteRecon] = {
    "ar_aging": SuiteRecon(
        ("invoices",), ("credit_memos",), _aging, "open items more than 90 days past due"
    ),
    "revenue_leakage": SuiteRecon(
        ("invoices", "contracts"),
        ("subscriptions", "customers_a", "customers_b"),
        _leakage,
        "duplicate invoices, unbilled contract periods, invoices without contract, "
        "customer master drift and invalid tax ids",
    ),
    "billed_vs_recognized": SuiteRecon(
        ("invoices", "schedules"),
        (),
        _revenue,
        "billed lines vs the ERP's revenue schedules",
    ),
}
