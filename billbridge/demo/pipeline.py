"""The demo's data flow, step by step: files → mapping specs → canonical records →
reconciliations → exception store → report. Pure orchestration over the product's parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from canonical import BankTransaction, Contract, Customer, Invoice, Record, Subscription
from connectors.feeds.registry import parse_bytes
from connectors.files import FileConnector
from mappings import MappingSpec, default_spec, load_spec
from reconcile.builtin import reconcile_records
from reconcile.cash import apply_cash
from reconcile.cash.inputs import customers_from, lines_from, open_items_from
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import exception_id, fingerprint

DATA = Path(str(files("billbridge.demo") / "data"))
SPECS = Path(str(files("billbridge.demo") / "specs"))

#: (file, spec) for every export the demo loads
EXPORTS: dict[str, tuple[str, str]] = {
    "contracts": ("salesforce_opportunity_lines.csv", "exports/salesforce_opportunity_lines"),
    "subscriptions": ("zuora_subscription_charges.csv", "exports/zuora_subscription_charges"),
    "billing_invoices": ("zuora_invoices.csv", "exports/zuora_invoices"),
    "erp_invoices": ("netsuite_invoices.csv", "exports/netsuite_invoices"),
    "erp_payments": ("netsuite_payments.csv", "exports/netsuite_payments"),
    "customers": ("customer_crosswalk.csv", "demo:customer_crosswalk"),
}

SECTIONS: list[tuple[str, str]] = [
    ("crm_vs_billing", "CRM vs billing: bookings vs subscriptions"),
    ("billing_vs_erp_invoices", "Billing vs ERP: invoices"),
    ("cash_application", "Cash application: bank receipts vs open invoices"),
]


@dataclass
class Loaded:
    records: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    mapping_versions: dict[str, str] = field(default_factory=dict)
    bank: list[BankTransaction] = field(default_factory=list)


def _spec(name: str) -> MappingSpec:
    if name.startswith("demo:"):
        return load_spec(SPECS / f"{name.removeprefix('demo:')}.yaml")
    return default_spec(name)


def load_exports(data_dir: Path = DATA) -> Loaded:
    """Read every export through its file connector and mapping spec."""
    loaded = Loaded()
    for name, (file_name, spec_name) in EXPORTS.items():
        spec = _spec(spec_name)
        stream = FileConnector(data_dir / file_name, spec).read(spec.target.entity or "")
        loaded.records[name] = list(stream)
        loaded.errors.extend(str(e) for e in stream.errors)
        loaded.mapping_versions[spec.name] = spec.version
    feed = parse_bytes(
        (data_dir / "bank_statement.bai2").read_bytes(), file_name="bank_statement.bai2"
    )
    loaded.bank = feed.transactions
    return loaded


def _typed(records: list[Any], kind: type[Record]) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


def reconcile_all(loaded: Loaded) -> dict[str, tuple[list[ExceptionCandidate], dict[str, Any]]]:
    """Run the demo's reconciliations; per recon its exception candidates and a summary."""
    rec = loaded.records
    customers: list[Customer] = _typed(rec["customers"], Customer)
    erp_to_billing = {
        c.source_id: c.crosswalk["zuora"] for c in customers if "zuora" in c.crosswalk
    }
    out: dict[str, tuple[list[ExceptionCandidate], dict[str, Any]]] = {}

    crm = reconcile_records(
        "crm_vs_billing",
        _typed(rec["contracts"], Contract),
        _typed(rec["subscriptions"], Subscription),
    )
    out["crm_vs_billing"] = (crm.exceptions, _summary(crm.counts))
    inv = reconcile_records(
        "billing_vs_erp_invoices",
        _typed(rec["billing_invoices"], Invoice),
        _typed(rec["erp_invoices"], Invoice),
        customer_map=erp_to_billing,
    )
    out["billing_vs_erp_invoices"] = (inv.exceptions, _summary(inv.counts))

    cash = apply_cash(
        lines_from(loaded.bank),
        open_items_from(_typed(rec["erp_invoices"], Invoice)),
        customers_from(customers),
    )
    kpis = cash.kpis()
    cands = [_candidate(d) for d in cash.to_exception_candidates()]
    out["cash_application"] = (
        cands,
        {
            "bank lines": len(cash.lines),
            "auto applied": kpis.line.auto,
            "suggested": kpis.line.suggested,
        },
    )
    return out


def _summary(counts: dict[str, int]) -> dict[str, Any]:
    return {
        "matched": counts.get("MATCHED", 0),
        "within tolerance": counts.get("MATCHED_WITHIN_TOLERANCE", 0),
    }


def _candidate(d: dict[str, Any]) -> ExceptionCandidate:
    recon, keys, category = d["recon_type"], d["keys"], d["category"]
    return ExceptionCandidate(
        exception_id=exception_id(recon, keys, category),
        recon=recon,
        category=category,
        keys=keys,
        fingerprint=fingerprint({"amount": d["amount"], **d["details"]}),
        details=d["details"],
        severity=d["severity"],
        amount=d["amount"],
        currency=d["currency"],
    )
