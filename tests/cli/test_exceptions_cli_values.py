"""Mistyped option values of `billbridge exceptions` are one-line errors (F17): an unknown
status or run state lists the valid ones instead of matching nothing, and an amount bound
that is not an amount is a WorkflowError, not "unexpected InvalidOperation"."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli import main
from billbridge.state import Store
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, WorkflowError, exception_id

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
runner = CliRunner()
STATUSES = "OPEN, ACKNOWLEDGED, ASSIGNED, IN_REVIEW, ESCALATED, RESOLVED, WONT_FIX, SUPPRESSED"
STATES = "NEW, STILL_OPEN, CHANGED, RESOLVED_BY_DATA, REOPENED"


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


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The installed command as a user runs it: exit code and stderr."""
    argv = sys.argv
    sys.argv = ["billbridge", "exceptions", *args]
    try:
        with pytest.raises(SystemExit) as done:
            main.run()
    finally:
        sys.argv = argv
    return int(done.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "OPNE"], f"--status 'OPNE' is not one of {STATUSES}"),
        (
            ["--status", "open", "--status", "Resolvd"],
            f"--status 'Resolvd' is not one of {STATUSES}",
        ),
        (["--state", "NEWW"], f"--state 'NEWW' is not one of {STATES}"),
    ],
)
def test_an_unknown_status_or_run_state_lists_the_valid_ones(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    res = runner.invoke(exceptions_cli.app, ["list", *args])
    assert isinstance(res.exception, WorkflowError) and str(res.exception) == message
    code, err = _cli(capsys, "list", *args)
    assert code != 0 and err == f"error: {message}\n"


def test_statuses_and_states_are_read_in_any_case(url: str) -> None:
    for args in (
        ["--status", "open"],
        ["--state", "new"],
        ["--state", "Still-Open", "--state", "NEW"],
    ):
        res = runner.invoke(exceptions_cli.app, ["list", "--json", *args])
        assert res.exit_code == 0, res.output
        assert "INV-1" in res.output


@pytest.mark.parametrize(
    ("option", "value"),
    [("--min-amount", "abc"), ("--max-amount", "1,000"), ("--min-amount", "NaN")],
)
def test_an_amount_bound_that_is_not_an_amount_is_one_line(
    url: str, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    args = ["suppress", "--category", "NOT_SYNCED", option, value, "--reason", "r",
            "--owner", "ana", "--expires", "7d", "--actor", "ana"]  # fmt: skip
    message = f"{option} {value!r} is not an amount (e.g. 1000 or 0.50)"
    res = runner.invoke(exceptions_cli.app, args)
    assert isinstance(res.exception, WorkflowError) and str(res.exception) == message
    code, err = _cli(capsys, *args)
    assert code != 0 and err == f"error: {message}\n"
    store = Store(url)
    assert ExceptionStore(store).suppressions() == []
    store.close()


def test_the_store_api_refuses_a_bad_amount_too(url: str) -> None:
    store = Store(url)
    with pytest.raises(WorkflowError, match="'abc' is not an amount"):
        ExceptionStore(store).suppress(
            reason="r",
            owner="ana",
            expires_at=datetime(2027, 1, 1, tzinfo=UTC),
            actor="ana",
            now=T0,
            pattern={"category": "NOT_SYNCED", "min_amount": "abc"},
        )
    store.close()
