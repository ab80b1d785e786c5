"""Any unique prefix of an exception id works (was: 6+ characters, said only in a
docstring: `exceptions show 0a888` said "no exception (or no unique one)" although one id
starts with it); a prefix matching none or several says which."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.state import Store
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, WorkflowError

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
IDS = ["0a888cef2b57" + "0" * 52, "5f8257a7c141" + "0" * 52, "5fd8e6b8a8fb" + "0" * 52]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("BILLBRIDGE_CONFIG", raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", url)
    store = Store(url)
    cands = [
        ExceptionCandidate(
            exception_id=eid,
            recon="inv",
            category="NOT_SYNCED",
            keys={"invoice_number": f"INV-{n}"},
            fingerprint="f",
            details={},
            severity="LOW",
        )
        for n, eid in enumerate(IDS)
    ]
    ExceptionStore(store).record_run("inv", "r1", cands, T0)
    store.close()
    return url


def test_a_short_unique_prefix_finds_the_exception(url: str) -> None:
    res = CliRunner().invoke(exceptions_cli.app, ["show", "0a888"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(IDS[0])
    res = CliRunner().invoke(exceptions_cli.app, ["ack", "0a"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "5f",
            "id prefix '5f' matches several exceptions (5f8257a7c141, 5fd8e6b8a8fb): "
            "give more characters",
        ),
        ("ff", "no exception with an id starting with 'ff'"),
        ("0a888_", "no exception with an id starting with '0a888_'"),
        # an unset $ID in a script: never a prefix of every id (with one exception it
        # picked that one)
        ("", "an exception id is blank: give the id or a prefix of it"),
        (" ", "an exception id is blank: give the id or a prefix of it"),
    ],
)
def test_a_prefix_matching_none_or_several_says_so(url: str, given: str, message: str) -> None:
    res = CliRunner().invoke(exceptions_cli.app, ["show", given])
    assert isinstance(res.exception, WorkflowError)
    assert str(res.exception) == message


def test_help_says_any_unique_prefix() -> None:
    for command in ("show", "ack", "suppress"):
        res = CliRunner().invoke(exceptions_cli.app, [command, "--help"])
        assert "any unique prefix" in " ".join(res.output.split()), command
