"""Relative file paths in the config resolve against the config file's folder first, then
the working directory; a files connection's spec may be a shipped spec name; `config
validate` reports a spec that is in neither place at file:line:column (was: passed, and
the shipped example worked only from the repository root)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billbridge.cli.main import app
from config import load_config, validate_config_file
from connectors.registry import open_connection
from mappings.registry import SPECS_DIR

SPEC = SPECS_DIR / "exports" / "legacy_customers.yaml"
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "billbridge.example.yaml"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not the config's folder."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("BILLBRIDGE_CONFIG", "BILLBRIDGE_STATE_URL"):
        monkeypatch.delenv(name, raising=False)
    return cwd


def _config(folder: Path, spec: str, path: str = "KUNDEN.CSV") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "billbridge.yaml"
    cfg.write_text(
        f"connections:\n  legacy:\n    system: files\n    path: {path}\n    spec: {spec}\n"
    )
    return cfg


def test_validate_reports_a_missing_spec_at_its_line(tmp_path: Path, elsewhere: Path) -> None:
    cfg = _config(tmp_path / "conf", "specs/nope.yaml")
    res = CliRunner().invoke(app, ["config", "validate", str(cfg)])
    assert res.exit_code == 1
    assert (
        f"{cfg}:5:11: connections.legacy.spec: mapping spec file 'specs/nope.yaml' not found "
        f"(looked in the config file's folder {tmp_path / 'conf'}, then the working directory "
        f"{elsewhere})"
    ) in res.output


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, elsewhere: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "specs").mkdir(parents=True)
    shutil.copy(SPEC, conf / "specs" / "legacy.yaml")
    cfg = _config(conf, "specs/legacy.yaml")
    assert validate_config_file(cfg)[1] == []
    connector = open_connection(load_config(cfg), "legacy")
    assert connector.path == conf / "KUNDEN.CSV"  # type: ignore[attr-defined]
    assert connector.spec.file == str(conf / "specs" / "legacy.yaml")  # type: ignore[attr-defined]


def test_a_path_relative_to_the_working_directory_still_works(
    tmp_path: Path, elsewhere: Path
) -> None:
    (elsewhere / "specs").mkdir()
    shutil.copy(SPEC, elsewhere / "specs" / "legacy.yaml")
    (elsewhere / "KUNDEN.CSV").write_text("")
    cfg = _config(tmp_path / "conf", "specs/legacy.yaml")
    assert validate_config_file(cfg)[1] == []
    connector = open_connection(load_config(cfg), "legacy")
    assert connector.path == elsewhere / "KUNDEN.CSV"  # type: ignore[attr-defined]


def test_a_shipped_spec_name_is_accepted(tmp_path: Path, elsewhere: Path) -> None:
    cfg = _config(tmp_path / "conf", "exports/legacy_customers")
    assert validate_config_file(cfg)[1] == []
    connector = open_connection(load_config(cfg), "legacy")
    assert connector.spec.name == "exports/legacy_customers"  # type: ignore[attr-defined]
    cfg = _config(tmp_path / "conf", "exports/legacy_customer")
    (problem,) = validate_config_file(cfg)[1]
    assert "did you mean 'exports/legacy_customers'?" in str(problem)


def test_a_shipped_spec_written_as_a_source_path_works_anywhere(
    tmp_path: Path, elsewhere: Path
) -> None:
    cfg = _config(tmp_path / "conf", "mappings/specs/exports/legacy_customers.yaml")
    assert validate_config_file(cfg)[1] == []


def test_the_shipped_example_validates_outside_the_repository(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SF_JWT_PRIVATE_KEY", "ZUORA_CLIENT_SECRET", "NETSUITE_M2M_PRIVATE_KEY"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("SMTP_PASSWORD", "x")
    copy = elsewhere / "etc" / "billbridge.yaml"
    copy.parent.mkdir()
    shutil.copy(EXAMPLE, copy)
    assert [str(p) for p in validate_config_file(copy)[1]] == []
