"""What a reconciliation run returns: exception candidates, counts and a datacompy-style summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

MATCHED = "MATCHED"


@dataclass(frozen=True, slots=True)
class ExceptionCandidate:
    """One break found by a run, before the store classifies it against earlier runs.

    ``details`` is JSON-safe: ``a``/``b`` (side values as text), ``delta`` (a − b per differing
    numeric or date field), ``diff_columns``, ``is_exclusive_a/b``, ``rows`` (rows per side),
    ``lines`` (source lines), ``context``, ``base_category``, ``match_rule``, ``rule_version``.
    """

    exception_id: str
    recon: str
    category: str
    keys: dict[str, str]
    fingerprint: str
    details: dict[str, Any]
    severity: str
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class ReconResult:
    recon: str
    version: str
    exceptions: list[ExceptionCandidate]
    summary: dict[str, Any]
    #: rows per outcome: MATCHED (exact), MATCHED_WITHIN_TOLERANCE and each category
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        """True when no exception was found (tolerated differences are allowed)."""
        return not self.exceptions

    def exceptions_table(self) -> pa.Table:
        """Exceptions in the row shape of reconciliation.md §2, one column per side value."""
        fields: list[str] = []
        key_names: list[str] = []
        for exc in self.exceptions:
            for name in exc.keys:
                if name not in key_names:
                    key_names.append(name)
            for side in ("a", "b"):
                for name in exc.details.get(side, {}):
                    if name not in fields:
                        fields.append(name)
        rows = []
        for exc in self.exceptions:
            d = exc.details
            row: dict[str, Any] = {
                "exception_id": exc.exception_id,
                "recon_type": exc.recon,
                "category": exc.category,
            }
            row.update({f"key_{k}": exc.keys.get(k) for k in key_names})
            row["is_exclusive_a"] = d.get("is_exclusive_a", False)
            row["is_exclusive_b"] = d.get("is_exclusive_b", False)
            row["diff_columns"] = ",".join(d.get("diff_columns", []))
            for name in fields:
                row[f"{name}_a"] = d.get("a", {}).get(name)
                row[f"{name}_b"] = d.get("b", {}).get(name)
            row["delta"] = (
                json.dumps(d.get("delta", {}), sort_keys=True) if d.get("delta") else None
            )
            row["match_rule"] = d.get("match_rule")
            row["severity"] = exc.severity
            row["amount"] = None if exc.amount is None else str(exc.amount)
            row["currency"] = exc.currency
            rows.append(row)
        if not rows:
            names = ["exception_id", "recon_type", "category", "severity", "amount", "currency"]
            return pa.table({n: pa.array([], pa.string()) for n in names})
        return pa.Table.from_pylist(rows)
