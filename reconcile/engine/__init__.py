"""The matching engine: ``reconcile(definition, side_a, side_b) -> ReconResult`` (pure) and
the side loaders (``load_side``, ``load_file``) that do the file I/O."""

from __future__ import annotations

from reconcile.engine.match import reconcile
from reconcile.engine.result import ExceptionCandidate, ReconResult
from reconcile.engine.severity import severity
from reconcile.engine.sides import Side, as_side, load_file, load_side, rows_to_table

__all__ = [
    "ExceptionCandidate",
    "ReconResult",
    "Side",
    "as_side",
    "load_file",
    "load_side",
    "reconcile",
    "rows_to_table",
    "severity",
]
