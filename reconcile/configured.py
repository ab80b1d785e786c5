"""Run a reconciliation named in the config file, its sides read from configured
connections (``connection/entity``), and record the exceptions in the state store.

This is what the nightly job runs: connectors → mapping → canonical records → built-in or
YAML definition → exception store. A three-sided YAML definition takes a third side ``c``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from billbridge.errors import BillbridgeError, ConfigError
from billbridge.state import Store
from canonical import Customer, Record
from config.model import BillbridgeConfig
from connectors.registry import open_connection
from reconcile.builtin import BUILTIN_NAMES, builtin_definition, reconcile_records
from reconcile.definitions import ReconDefinition
from reconcile.exceptions import ExceptionStore, RunDelta
from reconcile.exceptions.display import kinds_of
from reconcile.suite.common import to_store_candidates
from reconcile.suite.configured import SUITE


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
    if ref.definition in SUITE:
        return _run_suite(config, name, store=store, now=now, run_id=run_id)
    if ref.options:
        raise ConfigError(
            f"reconciliations.{name}.options: options are for the AR suite's calculators "
            f"({', '.join(sorted(SUITE))}); {ref.definition} takes none"
        )
    definition = None if ref.definition in BUILTIN_NAMES else _yaml_definition(ref.definition)
    need = definition.sides if definition is not None else ("a", "b")
    missing = set(need) - set(ref.sides)
    if missing:
        raise ConfigError(f"reconciliations.{name}.sides: needs {', '.join(sorted(missing))}")
    if "c" in ref.sides and "c" not in need:
        # a third side the definition does not compare would be read and silently ignored
        raise ConfigError(
            f"reconciliations.{name}.sides: c is given, but {ref.definition} has two sides "
            "(a, b); add side c to the definition or remove it here"
        )
    sides = [read_side(config, ref.sides[s]) for s in need]
    for side, records in zip(need, sides, strict=True):
        if not records:
            # a header-only export (or a filter that kept nothing): over it every open
            # exception would be recorded as resolved by the data, and every record of the
            # other side as new
            raise ConfigError(
                f"reconciliations.{name}: side {side} ({ref.sides[side]}) read no records; "
                "the export is empty or holds only its header, and a run over it would "
                "resolve every open exception. Nothing was recorded"
            )
    options: dict[str, Any] = {}
    if "customers" in ref.sides:
        # ERP customer id -> billing account, from the customers' crosswalk ids
        customers = [
            c for c in read_side(config, ref.sides["customers"]) if isinstance(c, Customer)
        ]
        # the billing side's records name the system whose ids the crosswalk must give
        system = sides[0][0].source_system if sides[0] else ""
        options["customer_map"] = {
            c.source_id: c.crosswalk[system] for c in customers if system in c.crosswalk
        }
    # recorded under recorded_name: the exception ids are made from the definition's name
    recorded = recorded_name(config, name)
    if definition is None:
        result = reconcile_records(
            ref.definition, sides[0], sides[1], recorded_as=recorded, **options
        )
        definition = builtin_definition(ref.definition)
    else:
        from reconcile.engine.three_way import reconcile_sides

        definition = definition.model_copy(update={"name": recorded})
        result = reconcile_sides(definition, sides)
    return ExceptionStore(store).record_run(
        result.recon, run_id or uuid.uuid4().hex, result.rows, now, kinds=kinds_of(definition)
    )


def _run_suite(
    config: BillbridgeConfig,
    name: str,
    *,
    store: Store,
    now: datetime,
    run_id: str | None,
) -> RunDelta:
    """One of the AR suite's calculators (``reconcile.suite.configured``) on configured
    sides, its findings recorded under the calculator's name."""
    ref = config.reconciliations[name]
    recon = SUITE[ref.definition]
    problems = recon.side_problems(ref.definition, ref.sides)
    if problems:
        side, problem = problems[0]
        raise ConfigError(f"reconciliations.{name}.sides{'.' + side if side else ''}: {problem}")
    # before reading any side: a bad option must not cost a full export read
    options = recon.parse_options(ref.definition, f"reconciliations.{name}", ref.options)
    sides = {side: read_side(config, ref.sides[side]) for side in ref.sides}
    rows = recon.run(sides, now.date(), options)
    recorded = recorded_name(config, name)
    found = to_store_candidates(rows, recon=recorded)
    return ExceptionStore(store).record_run(recorded, run_id or uuid.uuid4().hex, found, now)


def recorded_name(config: BillbridgeConfig, name: str) -> str:
    """The name a configured reconciliation's exceptions are recorded under: its
    definition's (a built-in's or suite calculator's name, or the YAML definition's
    ``name``), which may differ from the config key; the exception ids are made from it.

    When several config entries run one definition (an aging per subsidiary, invoices from
    two ERPs) each is recorded under its own config key instead: under one shared name each
    run would resolve the other entries' exceptions as no longer found."""
    own = _definition_name(config, name)
    shared = sum(_definition_name(config, k) == own for k in config.reconciliations) > 1
    return name if shared else own


def _definition_name(config: BillbridgeConfig, name: str) -> str:
    definition = config.reconciliations[name].definition
    if definition in BUILTIN_NAMES or definition in SUITE:
        return definition
    try:
        return _yaml_definition(definition).name
    except (OSError, ValueError, BillbridgeError):
        return name  # unreadable now: the run itself reports why


def _yaml_definition(path: str) -> ReconDefinition:
    from reconcile.definitions import load_definitions

    (definition,) = load_definitions(path)
    return definition
