from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.uat.builder import build
from uat.runner import UatRun, run_uat
from uat.spec import load_spec

NOW = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_ambient_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads BILLBRIDGE_STATE_URL; tests never write to a store they did not make."""
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> UatRun:
    """One run of the sample migration without a state store (read-only for the tests)."""
    spec, base = load_spec(build(tmp_path_factory.mktemp("uat")))
    return run_uat(spec, base, now=NOW)
