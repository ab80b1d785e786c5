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


def exception_id(recon: str, keys: Mapping[str, Any], category: str) -> str:
    payload = _canonical([recon, sorted((k, str(v)) for k, v in keys.items()), category])
    return hashlib.sha256(payload.encode()).hexdigest()


def fingerprint(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(values).encode()).hexdigest()


def key_text(keys: Mapping[str, Any]) -> str:
    """Human-readable, prefix-searchable key: values in definition order joined by '|'."""
    return "|".join(str(v) for v in keys.values())
