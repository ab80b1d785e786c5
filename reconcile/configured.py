"""Run a reconciliation named in the config file, its sides read from configured
connections (``connection/entity``), and record the exceptions in the state store.

This is what the nightly job runs: connectors → mapping → canonical records → built-in or
YAML definition → exception store.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from billbridge.errors import ConfigError
from billbridge.state import Store
from canonical import Customer, Record
from config.model import BillbridgeConfig
from connectors.registry import open_connection
from reconcile.builtin import BUILTIN_NAMES, reconcile_records
from reconcile.exceptions import ExceptionStore, RunDelta


def read_side(config: BillbridgeConfig, ref: str) -> list[Record]:
    """Every record of ``connection/entity``; mapping failures abort the side."""
    connection, _, entity = ref.partition("/")
    if not entity:
        raise ConfigError(f"side {ref!r}: write it as CONNECTION/ENTITY, e.g. zuora/invoice")
    stream = open_connection(config, connection).read(entity)
    records = list(stream)
    if stream.errors:
        raise ConfigError(
            f"side {ref!r}: {len(stream.errors)} record(s) could not be mapped; first: "
            f"{stream.errors[0]}"
        )
    return records


def run_configured(
    config: BillbridgeConfig,
    name: str,
    *,
    store: Store,
    now: datetime,
    run_id: str | None = None,
) -> RunDelta:
    if name not in config.reconciliations:
        known = ", ".join(sorted(config.reconciliations)) or "none configured"
        raise ConfigError(f"no reconciliation named {name!r} in the config (known: {known})")
    ref = config.reconciliations[name]
    missing = {"a", "b"} - set(ref.sides)
    if missing:
        raise ConfigError(f"reconciliations.{name}.sides: needs {', '.join(sorted(missing))}")
    a, b = read_side(config, ref.sides["a"]), read_side(config, ref.sides["b"])
    options: dict[str, Any] = {}
    if "customers" in ref.sides:
        # ERP customer id -> billing account, from the customers' crosswalk ids
        customers = [
            c for c in read_side(config, ref.sides["customers"]) if isinstance(c, Customer)
        ]
        # the billing side's records name the system whose ids the crosswalk must give
        system = a[0].source_system if a else ""
        options["customer_map"] = {
            c.source_id: c.crosswalk[system] for c in customers if system in c.crosswalk
        }
    if ref.definition in BUILTIN_NAMES:
        result = reconcile_records(ref.definition, a, b, **options)
    else:
        from reconcile.definitions import load_definitions
        from reconcile.engine import reconcile

        (definition,) = load_definitions(ref.definition)
        result = reconcile(definition, a, b)
    return ExceptionStore(store).record_run(
        result.recon, run_id or uuid.uuid4().hex, result.exceptions, now
    )
