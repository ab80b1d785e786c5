"""Golden-file helpers: parse a fixture, compare its canonical JSON with the stored one.

Regenerate after a reviewed change with ``BILLBRIDGE_REGEN_GOLDEN=1 .venv/bin/pytest
tests/feeds_edi -k golden`` and review the diff of ``tests/feeds_edi/golden/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from connectors.feeds.model import FeedResult

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
REGEN = os.environ.get("BILLBRIDGE_REGEN_GOLDEN") == "1"


def canonical_json(result: FeedResult) -> str:
    data: dict[str, Any] = result.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_golden(result: FeedResult, name: str) -> None:
    path = GOLDEN / f"{name}.json"
    actual = canonical_json(result)
    if REGEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not REGEN:
            raise AssertionError(f"golden file {path.name} was missing; written, review it")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{name}: output differs from {path}; if the change is intended, regenerate with "
        "BILLBRIDGE_REGEN_GOLDEN=1"
    )
