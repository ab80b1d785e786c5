"""`billbridge demo --out` that is a file is refused up front, one line, exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app


def test_demo_refuses_a_file_as_out(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    res = CliRunner().invoke(
        app, ["demo", "--out", str(afile), "--state-url", f"sqlite:///{tmp_path / 's.db'}"]
    )
    assert res.exit_code == 2
    assert res.output == f"error: --out {afile}: exists and is not a directory\n"
    assert not (tmp_path / "s.db").exists()  # refused before the demo ran
