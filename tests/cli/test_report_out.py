"""`report render --out` that cannot be used is one line naming it, exit 2 (was
"unexpected FileNotFoundError" / "unexpected FileExistsError", exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from billbridge.state import Store


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store(url).close()
    cfg = tmp_path / "billbridge.yaml"
    cfg.write_text(f"state:\n  url: {url}\n")
    return cfg


def test_an_existing_file_as_out_is_refused(tmp_path: Path, cfg: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    res = CliRunner().invoke(app, ["report", "render", "--config", str(cfg), "--out", str(afile)])
    assert res.exit_code == 2
    assert res.output == f"error: --out {afile}: exists and is not a directory\n"
    assert afile.read_text() == "keep me"


def test_an_out_folder_that_cannot_be_created_is_refused(tmp_path: Path, cfg: Path) -> None:
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "sub"
    res = CliRunner().invoke(app, ["report", "render", "--config", str(cfg), "--out", str(out)])
    assert res.exit_code == 2
    assert res.output == f"error: --out {out}: a part of the path is a file, not a folder\n"


def test_an_unwritable_out_folder_is_refused(tmp_path: Path, cfg: Path) -> None:
    res = CliRunner().invoke(app, ["report", "render", "--config", str(cfg), "--out", "/proc/nope"])
    assert res.exit_code == 2
    assert res.output.startswith("error: --out /proc/nope: cannot write: ")
    assert res.output.count("\n") == 1
