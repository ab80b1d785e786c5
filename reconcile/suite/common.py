"""What every suite calculator returns: findings that the exception store can keep.

A :class:`Finding` has business keys only (account + period, invoice number, contract
line + period), never row numbers, so the same problem gets the same exception id on
every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

#: Lerian Matcher default amount bands; age escalation is the exception store's job.
_BANDS = ((Decimal(100_000), "critical"), (Decimal(10_000), "high"), (Decimal(1_000), "medium"))


def severity_for(amount: Decimal) -> str:
    for floor, name in _BANDS:
        if abs(amount) >= floor:
            return name
    return "low"


@dataclass(frozen=True)
class Finding:
    recon_type: str
    category: str
    keys: dict[str, str]
    amount: Decimal
    currency: str
    details: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None

    def as_candidate(self) -> dict[str, Any]:
        return {
            "recon_type": self.recon_type,
            "category": self.category,
            "keys": dict(self.keys),
            "details": dict(self.details),
            "amount": self.amount,
            "currency": self.currency,
            "severity": self.severity or severity_for(self.amount),
        }


def candidates(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Findings as exception-store candidates, in a stable order."""
    rows = [f.as_candidate() for f in findings]
    return sorted(rows, key=lambda r: (r["category"], sorted(r["keys"].items())))


def period_of(day: date) -> str:
    """Accounting period key ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def to_store_candidates(rows: Iterable[dict[str, Any]], *, recon: str | None = None) -> list[Any]:
    """Candidate dicts (from any ``to_exception_candidates()``) as the exception store's
    ``ExceptionCandidate`` objects, with the store's stable id and a value fingerprint.

    ``recon`` overrides each row's ``recon_type`` (to keep one recon name per run).
    """
    from reconcile.engine.result import ExceptionCandidate
    from reconcile.exceptions.identity import exception_id, fingerprint

    out: list[Any] = []
    for row in rows:
        name = recon or row["recon_type"]
        keys = {k: str(v) for k, v in row["keys"].items()}
        out.append(
            ExceptionCandidate(
                exception_id=exception_id(name, keys, row["category"]),
                recon=name,
                category=row["category"],
                keys=keys,
                fingerprint=fingerprint({"amount": str(row["amount"]), **row["details"]}),
                details=row["details"],
                severity=row["severity"],
                amount=row["amount"],
                currency=row["currency"],
            )
        )
    return out
