"""What a spec change does to sample records: per record, the output fields that changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from mappings.engine import MappingResult
from mappings.transforms import to_text

#: Fields that differ between runs for reasons other than the mapping.
_IGNORED = frozenset({"provenance"})


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"lines[0].sku": "X", ...}``: one entry per leaf of a dumped record or payload."""
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return {prefix: f"{value['amount']} {value['currency']}"}  # Money as one value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _IGNORED and not prefix:
                continue
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list | tuple):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def _display(result: MappingResult) -> dict[str, Any]:
    if result.value is None:
        return {}
    value = result.value
    data = value.model_dump() if isinstance(value, BaseModel) else value
    return flatten(data)


@dataclass
class RecordDiff:
    key: str
    where: str | None
    #: field -> (before, after); a missing side is None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    before_error: str | None = None
    after_error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.before_error != self.after_error


def _key(result: MappingResult, index: int) -> str:
    return result.source_id or f"#{index + 1}"


def diff_results(before: list[MappingResult], after: list[MappingResult]) -> list[RecordDiff]:
    """Pair results by record key and list the fields whose output changed."""
    old = {_key(r, i): r for i, r in enumerate(before)}
    new = {_key(r, i): r for i, r in enumerate(after)}
    diffs = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        record = RecordDiff(key, a.where if a else b.where if b else None)
        record.before_error = str(a.error) if a and a.error else None
        record.after_error = str(b.error) if b and b.error else None
        left = _display(a) if a else {}
        right = _display(b) if b else {}
        for name in sorted(set(left) | set(right)):
            if to_text(left.get(name)) != to_text(right.get(name)) or (name in left) != (
                name in right
            ):
                record.changes[name] = (left.get(name), right.get(name))
        diffs.append(record)
    return diffs
