"""`billbridge exceptions suppress` and `resolve` as a person runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from billbridge.state import Store
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, WorkflowError, exception_id

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


def test_a_person_cannot_resolve_as_resolved_by_data(url: str) -> None:
    """Was: accepted, though runs alone set it (the break may well still be there)."""
    result = runner.invoke(app, ["exceptions", "resolve", _eid()[:12], "--reason",
                                 "resolved_by_data"])  # fmt: skip
    assert isinstance(result.exception, WorkflowError)
    assert "RESOLVED_BY_DATA is set by reconciliation runs only; use one of FIXED_IN_SOURCE" in (
        str(result.exception)
    )
    store = Store(url)
    view = ExceptionStore(store).get(_eid())
    store.close()
    assert view is not None and view.status == "OPEN"


def test_an_expired_suppression_ends_when_the_store_is_next_read(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: SUPPRESSED in `exceptions list` and the report until the next run."""
    store = Store(url)
    xs = ExceptionStore(store)
    xs.acknowledge(_eid(), actor="ar", now=T0)
    xs.suppress(reason="r", owner="o", expires_at=T0 + timedelta(days=1), actor="a", now=T0,
                exception_id=_eid())  # fmt: skip
    store.close()
    later = T0 + timedelta(days=2)
    monkeypatch.setattr(exceptions_cli, "now", lambda: later)
    result = runner.invoke(app, ["exceptions", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)] == ["ACKNOWLEDGED"]
    store = Store(url)
    ended = ExceptionStore(store).history(_eid())[-1]
    store.close()
    assert (ended.event, ended.actor, ended.at) == ("SUPPRESSION_ENDED", "system", later)


def test_the_report_ends_expired_suppressions_first(url: str, tmp_path: Path) -> None:
    from billbridge.cli.report_cmd import build_report
    from config.model import BillbridgeConfig

    store = Store(url)
    ExceptionStore(store).suppress(reason="r", owner="o", expires_at=T0 + timedelta(days=1),
                                   actor="a", now=T0, exception_id=_eid())  # fmt: skip
    store.close()
    report = build_report(BillbridgeConfig(), ["inv"], T0 + timedelta(days=2), state_url=url)
    assert [i.status for i in report.sections[0].items] == ["OPEN"]
