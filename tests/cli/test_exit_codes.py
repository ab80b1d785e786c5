"""Every error that reaches the console entry point exits 2 with one line; 1 is only for
findings (was: 1 for every error, the code `reconcile run` uses for "exceptions found")."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from billbridge.cli import main
from billbridge.state import Store
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id

ID = exception_id("inv", {"invoice_number": "INV-1"}, "NOT_SYNCED")


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["billbridge", *args])
    with pytest.raises(SystemExit) as done:
        main.run()
    return int(done.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["connectors", "check", "zz"], "error: no connection named 'zz'"),
        (["exceptions", "show", "zzzzzzzz"], "error: no exception"),
        (["exceptions", "resolve", ID, "--reason", "NOPE"], "error: unknown reason"),
        (
            ["exceptions", "suppress", ID, "--expires", "banana", "--reason", "r", "--owner", "o"],
            "error: --expires 'banana'",
        ),
        (["serve", "--config", "nope.yaml"], "error: nope.yaml: cannot read"),
    ],
)
def test_input_and_usage_errors_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    cand = ExceptionCandidate(
        exception_id=ID,
        recon="inv",
        category="NOT_SYNCED",
        keys={"invoice_number": "INV-1"},
        fingerprint="f",
        details={},
        severity="LOW",
    )
    ExceptionStore(store).record_run("inv", "r1", [cand], datetime(2026, 12, 1, tzinfo=UTC))
    store.close()
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", url)
    code, err = _run(monkeypatch, capsys, *args)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1, err


def test_an_unexpected_error_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise KeyError("x")

    monkeypatch.setattr(main, "app", boom)
    code, err = _run(monkeypatch, capsys, "demo")
    assert code == 2
    assert err == "error: unexpected KeyError: 'x' (run with --debug for the traceback)\n"


def test_an_os_error_names_the_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise FileNotFoundError(2, "No such file or directory", "in.csv")

    monkeypatch.setattr(main, "app", boom)
    code, err = _run(monkeypatch, capsys, "demo")
    assert code == 2
    assert err == "error: in.csv: No such file or directory\n"
