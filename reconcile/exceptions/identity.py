"""Stable exception identity and value fingerprints.

``exception_id = sha256(recon, sorted business keys, category)``: the same break found again
in a later run gets the same id. The fingerprint hashes the compared values, so a run can tell
"same exception, values changed" (CHANGED) from "new exception".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


#: Field separator of the hashed payloads (ASCII unit separator; never in business keys).
SEP = "\x1f"


def id_payload(recon: str, keys: Mapping[str, Any], category: str) -> str:
    """``recon SEP category SEP name=value ...`` with keys sorted by name.

    The engine computes the same payload in SQL (``reconcile.engine.match``); keep in step.
    """
    return SEP.join([recon, category, *(f"{k}={v}" for k, v in sorted(keys.items()))])


def exception_id(recon: str, keys: Mapping[str, Any], category: str) -> str:
    return hashlib.sha256(id_payload(recon, keys, category).encode()).hexdigest()


def fingerprint(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(values).encode()).hexdigest()


def key_text(keys: Mapping[str, Any]) -> str:
    """Human-readable, prefix-searchable key: values in definition order joined by '|'."""
    return "|".join(str(v) for v in keys.values())
