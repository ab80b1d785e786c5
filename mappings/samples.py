"""Sample input for preview and diff: JSON, JSON lines, CSV or XLSX."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from billbridge.errors import ConfigError
from mappings.engine import MappingResult, apply_spec_rows, try_apply_spec
from mappings.model import MappingSpec

#: list wrappers of vendor responses: Salesforce query, NetSuite list/SuiteQL, Zuora lists
_WRAPPERS = ("records", "items", "subscriptions", "invoices", "payments", "creditmemos", "data")


@dataclass(frozen=True)
class Samples:
    rows: Sequence[Mapping[str, Any]]
    locations: list[str]


def _unwrap(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _WRAPPERS:
            if isinstance(data.get(key), list) and "attributes" not in data and "id" not in data:
                return list(data[key])
        return [data]
    raise ConfigError("sample JSON must be an object, a list, or a vendor list response")


def load_samples(path: Path) -> Samples:
    """Records from a sample file; JSON numbers become Decimal (never float)."""
    name = path.name
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        text = path.read_text(encoding="utf-8-sig")
        try:
            if suffix == ".json":
                items = _unwrap(json.loads(text, parse_float=Decimal))
            else:
                items = [json.loads(t, parse_float=Decimal) for t in text.splitlines() if t.strip()]
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
            ) from None
        return Samples(items, [f"{name}: record {i}" for i in range(1, len(items) + 1)])
    from connectors.files.reader import read_table

    table = read_table(path)
    return Samples(table.rows, [f"{name}: line {n}" for n in table.lines])


def run(spec: MappingSpec, samples: Samples) -> list[MappingResult]:
    """Apply ``spec`` to every sample (grouping rows when the spec says so)."""
    if spec.rows is not None:
        return apply_spec_rows(spec, samples.rows, locations=samples.locations)
    return [
        try_apply_spec(spec, row, where=where)
        for row, where in zip(samples.rows, samples.locations, strict=True)
    ]
