"""A job's mapping specs: their versions (sha256 of each reviewed spec, stamped on every
intent and run) and, for outbound specs, the payload builders the planner uses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canonical import Record
from sync.planner import PayloadBuilder
from sync.settings import SyncJobSettings

if TYPE_CHECKING:
    from mappings import MappingSpec


def _load(ref: str) -> MappingSpec:
    from mappings import default_spec, load_spec

    path = Path(ref)
    return load_spec(path) if path.suffix in (".yaml", ".yml") else default_spec(ref)


def mapping_versions(job: SyncJobSettings) -> dict[str, str]:
    """entity -> spec version for the specs the job names (a path or a shipped spec name)."""
    return {entity: _load(ref).version for entity, ref in job.mappings.items()}


def payload_builders(job: SyncJobSettings) -> dict[str, PayloadBuilder]:
    """entity -> builder for the job's outbound specs (those whose target is a payload)."""
    builders: dict[str, PayloadBuilder] = {}
    for entity, ref in job.mappings.items():
        spec = _load(ref)
        if spec.target.payload:
            builders[entity] = _builder(spec)
    return builders


def _jsonable(value: Any) -> Any:
    """Outbox payloads are JSON: exact decimals as strings, dates as ISO text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _builder(spec: MappingSpec) -> PayloadBuilder:
    from mappings import apply_spec

    def build(record: Record) -> dict[str, Any]:
        value = apply_spec(spec, record, where=f"{record.source_system} {record.source_id}").value
        if not isinstance(value, dict):
            raise TypeError(f"spec {spec.name} did not produce a payload")
        return _jsonable(value)

    return build
