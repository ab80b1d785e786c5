"""AR reconciliation suite calculators: AR vs GL, billed vs recognized revenue, leakage and
hygiene, aging and DSO. Each returns typed results whose findings convert to exception
candidates with ``to_exception_candidates()`` (see README.md)."""

from __future__ import annotations

from reconcile.suite.common import Finding, candidates, severity_for

__all__ = ["Finding", "candidates", "severity_for"]
