"""`billbridge exceptions suppress` and `resolve` as a person runs them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from billbridge.state import Store
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", url)
    store = Store(url)
    keys = {"invoice_number": "INV-1"}
    cand = ExceptionCandidate(
        exception_id=exception_id("inv", keys, "NOT_SYNCED"),
        recon="inv",
        category="NOT_SYNCED",
        keys=keys,
        fingerprint="f",
        details={},
        severity="LOW",
        amount=Decimal("10.00"),
        currency="USD",
    )
    ExceptionStore(store).record_run("inv", "r1", [cand], T0)
    store.close()
    return url


def _eid() -> str:
    return exception_id("inv", {"invoice_number": "INV-1"}, "NOT_SYNCED")


def test_an_expiry_with_an_offset_is_shown_as_the_utc_time_stored(url: str) -> None:
    """Was: "until 2026-12-10 09:00 UTC" for 09:00+02:00, stored as 07:00 UTC."""
    args = ["--reason", "r", "--owner", "o", "--expires", "2026-12-10T09:00+02:00"]
    result = runner.invoke(app, ["exceptions", "suppress", _eid()[:12], *args])
    assert result.exit_code == 0, result.output
    assert "until 2026-12-10 07:00 UTC" in result.stdout
    store = Store(url)
    (sup,) = ExceptionStore(store).suppressions()
    store.close()
    assert sup.expires_at == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
