"""Built-in reconciliation definitions and the side builders that feed them.

``builtin_definition(name)`` loads one of ``BUILTIN_NAMES``; ``sides_from_records(name, a, b)``
turns canonical records into the two side row lists the definition expects, and
``reconcile_records(name, a, b)`` runs the whole comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from billbridge.errors import ConfigError
from reconcile.builtin.sides import (
    BUILDERS,
    STATUS_MAP,
    acv,
    billing_rows,
    crm_rows,
    invoice_rows,
    mrr,
    opportunity_aliases,
    payment_rows,
)
from reconcile.definitions import ReconDefinition, parse_definitions
from reconcile.engine.result import ReconResult

HERE = Path(__file__).parent
BUILTIN_NAMES = ("crm_vs_billing", "billing_vs_erp_invoices", "billing_vs_erp_payments")


@cache
def builtin_definition(name: str) -> ReconDefinition:
    if name not in BUILTIN_NAMES:
        raise ConfigError(f"no built-in reconciliation {name!r}; known: {', '.join(BUILTIN_NAMES)}")
    path = HERE / f"{name}.yaml"
    (definition,) = parse_definitions(path.read_text(encoding="utf-8"), str(path))
    return definition


def side_rows(name: str, side: str, records: Sequence[Any], **options: Any) -> list[dict[str, Any]]:
    """Rows for one side (``"a"`` or ``"b"``) of a built-in definition."""
    builtin_definition(name)
    builder = BUILDERS[name][0 if side == "a" else 1]
    return builder(records, **options)


def sides_from_records(
    name: str,
    a_records: Sequence[Any],
    b_records: Sequence[Any],
    *,
    customer_map: Mapping[str, str] | None = None,
    billing_system: str = "zuora",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both sides' rows. crm_vs_billing: contracts, subscriptions (opportunity ids stored on a
    subscription are resolved to the contract). Invoices/payments: billing records, ERP
    records (``customer_map`` translates ERP customer ids to billing ids)."""
    builtin_definition(name)
    if name == "crm_vs_billing":
        crm = crm_rows(a_records)
        billing = billing_rows(b_records, opportunity_aliases(a_records))
        # a lost or cancelled deal nothing was provisioned for is no booking; one whose
        # subscription billing still has is compared (the cancellation was not propagated)
        return _unless_alone(crm, billing, ("booking_ref", "sku"), "cancelled"), billing
    builder = BUILDERS[name][0]
    a = builder(a_records, billing_system=billing_system)
    b = builder(b_records, billing_system=billing_system, customer_map=customer_map)
    if name == "billing_vs_erp_invoices":
        # a void billing invoice correctly never synced to the ERP is no NOT_SYNCED
        a = _unless_alone(a, b, ("invoice_number",), "void")
    return a, b


def _unless_alone(
    rows: list[dict[str, Any]],
    other: list[dict[str, Any]],
    keys: tuple[str, ...],
    status: str,
) -> list[dict[str, Any]]:
    """``rows`` without those in ``status`` that have no row with their key on the other side."""

    def key(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(row.get(k) or "").strip() for k in keys)

    present = {key(r) for r in other}
    return [r for r in rows if r.get("status") != status or key(r) in present]


def reconcile_records(
    name: str,
    a_records: Sequence[Any],
    b_records: Sequence[Any],
    *,
    recorded_as: str | None = None,
    **options: Any,
) -> ReconResult:
    """Built-in ``name`` over canonical records; ``recorded_as``: the recon name its
    exceptions (and their ids) carry, when not the definition's own."""
    from reconcile.engine import reconcile

    a, b = sides_from_records(name, a_records, b_records, **options)
    definition = builtin_definition(name)
    if recorded_as is not None:
        definition = definition.model_copy(update={"name": recorded_as})
    return reconcile(definition, a, b)


__all__ = [
    "BUILTIN_NAMES",
    "STATUS_MAP",
    "acv",
    "billing_rows",
    "builtin_definition",
    "crm_rows",
    "invoice_rows",
    "mrr",
    "opportunity_aliases",
    "payment_rows",
    "reconcile_records",
    "side_rows",
    "sides_from_records",
]
