"""Mappings analysts own: YAML specs turning vendor records into canonical ones and back.

Public API::

    spec = load_spec("mappings/specs/salesforce/opportunity_to_contract.yaml")
    spec = default_spec("salesforce/opportunity_to_contract")
    spec.version                      # sha256 of the spec content: stamp it on runs/intents
    result = apply_spec(spec, record, where="Opportunity 006...")   # raises MappingError
    result.value                      # canonical Record, or a dict for vendor payload targets
    results = apply_spec_rows(spec, rows)   # flat exports, one row per line
"""

from __future__ import annotations

from mappings.engine import (
    FieldIssue,
    MappingError,
    MappingResult,
    RuleTrace,
    apply_spec,
    apply_spec_rows,
    try_apply_spec,
)
from mappings.loader import SpecLoadError, load_spec, spec_from_text
from mappings.model import MappingSpec, Rule
from mappings.registry import default_spec, default_spec_names, find_default_spec

__all__ = [
    "FieldIssue",
    "MappingError",
    "MappingResult",
    "MappingSpec",
    "Rule",
    "RuleTrace",
    "SpecLoadError",
    "apply_spec",
    "apply_spec_rows",
    "default_spec",
    "default_spec_names",
    "find_default_spec",
    "load_spec",
    "spec_from_text",
    "try_apply_spec",
]
