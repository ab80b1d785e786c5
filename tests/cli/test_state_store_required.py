"""Commands that read the exception store refuse a store that does not exist (F9), and
`exceptions`/`report` find it through --config like `reconcile run`, --state-url first."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli import report_cmd
from billbridge.state import Store
from billbridge.state.db import StateStoreUnavailable
from reconcile import exceptions_cli
from reconcile.engine import ExceptionCandidate
from reconcile.exceptions import ExceptionStore, exception_id

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BILLBRIDGE_STATE_URL", "BILLBRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(exceptions_cli, "now", lambda: T0)


def _seed(path: Path, invoice: str) -> str:
    url = f"sqlite:///{path}"
    store = Store(url)
    keys = {"invoice_number": invoice}
    cand = ExceptionCandidate(
        exception_id=exception_id("inv", keys, "NOT_SYNCED"),
        recon="inv",
        category="NOT_SYNCED",
        keys=keys,
        fingerprint="f",
        details={"reason": "never reached the ERP"},
        severity="LOW",
        amount=Decimal("10.00"),
        currency="USD",
    )
    ExceptionStore(store).record_run("inv", "r1", [cand], T0)
    store.close()
    return url


def _config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(f"state:\n  url: {url}\nreports:\n  out_dir: {tmp_path / 'eml'}\n")
    return cfg


def _listed(*args: str, env: dict[str, str] | None = None) -> list[str]:
    res = runner.invoke(exceptions_cli.app, ["list", "--json", *args], env=env)
    assert res.exit_code == 0, res.output
    return [row["keys"]["invoice_number"] for row in json.loads(res.output)]


@pytest.mark.parametrize(
    "args",
    [
        ["exceptions", "list"],
        ["exceptions", "show", "abcdef0123"],
        ["exceptions", "ack", "abcdef0123", "--actor", "ana"],
        ["report", "render", "--out", "OUT"],
        ["report", "send"],
    ],
)
def test_a_mistyped_sqlite_url_is_refused_and_nothing_is_created(
    tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "typo" / "dir" / "state.db"
    app = exceptions_cli.app if args[0] == "exceptions" else report_cmd.app
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in args[1:]]
    cfg = tmp_path / "empty.yaml"
    cfg.write_text(f"reports:\n  out_dir: {tmp_path / 'eml'}\n")
    res = runner.invoke(app, [*argv, "--state-url", f"sqlite:///{missing}", "--config", str(cfg)])
    assert res.exit_code == 2, res.output
    assert f"error: no state store at {missing}" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists()
    assert not (tmp_path / "out").exists() and not (tmp_path / "eml").exists()


def test_the_store_refuses_a_missing_file_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(StateStoreUnavailable, match="no state store at"):
        Store(f"sqlite:///{tmp_path / 'new' / 'state.db'}", create=False)
    assert not (tmp_path / "new").exists()
    created = Store(f"sqlite:///{tmp_path / 'new' / 'state.db'}")  # reconcile run creates it
    created.close()
    Store(f"sqlite:///{tmp_path / 'new' / 'state.db'}", create=False).close()


def test_exceptions_read_the_configs_state_url_and_the_flag_or_env_win(tmp_path: Path) -> None:
    from_config = _seed(tmp_path / "config.db", "FROM-CONFIG")
    from_flag = _seed(tmp_path / "flag.db", "FROM-FLAG")
    cfg = _config(tmp_path, from_config)
    assert _listed("--config", str(cfg)) == ["FROM-CONFIG"]
    assert _listed("--config", str(cfg), "--state-url", from_flag) == ["FROM-FLAG"]
    assert _listed("--config", str(cfg), env={"BILLBRIDGE_STATE_URL": from_flag}) == ["FROM-FLAG"]
    assert _listed(env={"BILLBRIDGE_CONFIG": str(cfg)}) == ["FROM-CONFIG"]
    view = json.loads(
        runner.invoke(exceptions_cli.app, ["list", "--json", "--config", str(cfg)]).output
    )[0]
    res = runner.invoke(exceptions_cli.app, ["show", view["id"][:10], "--config", str(cfg)])
    assert res.exit_code == 0 and "FROM-CONFIG" in res.output
    res = runner.invoke(
        exceptions_cli.app, ["ack", view["id"][:10], "--config", str(cfg), "--actor", "ana"]
    )
    assert res.exit_code == 0 and "ACKNOWLEDGED" in res.output


def test_report_state_url_and_env_win_over_the_config(tmp_path: Path) -> None:
    from_config = _seed(tmp_path / "config.db", "FROM-CONFIG")
    from_flag = _seed(tmp_path / "flag.db", "FROM-FLAG")
    cfg = _config(tmp_path, from_config)
    out = tmp_path / "out"
    res = runner.invoke(report_cmd.app, ["render", "--out", str(out), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "FROM-CONFIG" in (out / "report.html").read_text()
    res = runner.invoke(
        report_cmd.app,
        ["render", "--out", str(out), "--config", str(cfg), "--state-url", from_flag],
    )
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert "FROM-FLAG" in html and "FROM-CONFIG" not in html
    res = runner.invoke(
        report_cmd.app,
        ["render", "--out", str(out), "--config", str(cfg)],
        env={"BILLBRIDGE_STATE_URL": from_flag},
    )
    assert res.exit_code == 0, res.output
    assert "FROM-FLAG" in (out / "report.html").read_text()


def test_a_pattern_suppression_may_still_start_a_store(tmp_path: Path) -> None:
    """Set up before the first run: the one write that needs no exception to exist."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    res = runner.invoke(
        exceptions_cli.app,
        ["suppress", "--category", "NOT_SYNCED", "--reason", "migration", "--owner", "ana",
         "--expires", "7d", "--actor", "ana", "--state-url", url],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "state.db").is_file()
