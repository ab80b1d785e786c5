"""Helpers for the feed parser tests: fixture paths and golden-file comparison.

Regenerate goldens after a *reviewed* parser change with::

    BILLBRIDGE_REGEN_GOLDEN=1 .venv/bin/pytest tests/feeds -q -p no:cacheprovider

then read the diff (``git diff tests/feeds/fixtures``) before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from connectors.feeds.model import FeedResult

FIXTURES = Path(__file__).parent / "fixtures"
REGEN = os.environ.get("BILLBRIDGE_REGEN_GOLDEN") == "1"


def check_golden(result: FeedResult, golden: Path) -> None:
    actual: dict[str, Any] = result.model_dump(mode="json")
    if REGEN or not golden.exists():
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", "utf-8")
        if not REGEN:
            pytest.fail(f"golden {golden.name} was missing and has been written: review it")
        return
    expected = json.loads(golden.read_text("utf-8"))
    assert actual == expected, f"output differs from {golden.name}; review, then regenerate"
