from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from billbridge.cli.main import app
from config import ConfigProblems, load_config, validate_config_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "billbridge.yaml"
    path.write_text(text)
    return path


def messages(path: Path) -> list[str]:
    _cfg, problems = validate_config_file(path)
    return [str(p) for p in problems]


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "reports:\n  smtp:\n    host: mail.example.com\n")
    assert messages(path) == [f"{path}:2:3: reports.smtp.sender: required field is missing"]


def test_wrong_type_names_file_line_column_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, "reports:\n  smtp:\n    host: h\n    sender: a@b.c\n    port: lots\n")
    (msg,) = messages(path)
    assert msg.startswith(f"{path}:5:11: reports.smtp.port: ")
    assert "valid integer" in msg and "'lots'" in msg


def test_unknown_key_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "state:\n  ulr: sqlite:///x.db\n")
    assert messages(path) == [f"{path}:2:3: state.ulr: unknown key 'ulr' (did you mean 'url'?)"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "state:\n  ulr: x\nlogging:\n  level: LOUD\n"
        "connections:\n  a:\n    system: files\n    spec: s.yaml\n",
    )
    found = messages(path)
    assert len(found) == 4
    assert any("state.ulr" in m for m in found)
    assert any("logging.level" in m for m in found)
    assert any("connections.a.path: required field is missing" in m for m in found)
    assert any("connections.a.spec: mapping spec file 's.yaml' not found" in m for m in found)


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "reports:\n  smtp:\n    host: h\n    sender: a@b.c\n    password: hunter2\n"
    )
    (msg,) = messages(path)
    assert msg == (
        f"{path}:5:15: reports.smtp.password: secrets must not be written inline; "
        "use {secret: ENV_VAR_NAME}"
    )


def test_secret_reference_resolves_from_env_then_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        "reports:\n  smtp:\n    host: h\n    sender: a@b.c\n    username: u\n"
        "    password: {secret: BB_TEST_SMTP_PW}\n"
    )
    path = write(tmp_path, text)
    monkeypatch.delenv("BB_TEST_SMTP_PW", raising=False)
    assert "secret 'BB_TEST_SMTP_PW' is not set" in messages(path)[0]

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "BB_TEST_SMTP_PW").write_text("from-file-pw\n")
    monkeypatch.setenv("BILLBRIDGE_SECRETS_DIR", str(secrets))
    cfg = load_config(path)
    assert cfg.reports.smtp is not None
    assert isinstance(cfg.reports.smtp.password, SecretStr)
    assert cfg.reports.smtp.password.get_secret_value() == "from-file-pw"
    assert "from-file-pw" not in repr(cfg)

    monkeypatch.setenv("BB_TEST_SMTP_PW", "from-env-pw")
    cfg = load_config(path)
    assert cfg.reports.smtp is not None and cfg.reports.smtp.password is not None
    assert cfg.reports.smtp.password.get_secret_value() == "from-env-pw"


def test_yaml_syntax_error_has_a_position(tmp_path: Path) -> None:
    path = write(tmp_path, "state:\n  url: [unclosed\n")
    (msg,) = messages(path)
    assert msg.startswith(f"{path}:")
    assert msg.split(":")[1].isdigit()


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "state:\n  url: a\n  url: b\n")
    (msg,) = messages(path)
    assert "duplicate key 'url'" in msg and f"{path}:3:" in msg


def test_load_config_raises_all_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "state:\n  ulr: x\nlogging:\n  level: LOUD\n")
    with pytest.raises(ConfigProblems) as err:
        load_config(path)
    assert len(err.value.problems) == 2


def test_env_overrides_state_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "state:\n  url: sqlite:///a.db\n")
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", "sqlite:///b.db")
    assert load_config(path).state.url == "sqlite:///b.db"


def test_cli_validate_and_schema(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = write(tmp_path, "state:\n  ulr: x\n")
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:3: state.ulr: unknown key 'ulr'" in result.output

    good = tmp_path / "good.yaml"
    good.write_text("state:\n  url: sqlite:///x.db\n")
    result = runner.invoke(app, ["config", "validate", str(good)])
    assert result.exit_code == 0, result.output

    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    assert '"connections"' in result.output and '"state"' in result.output


def test_nested_inline_secret_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "connections:\n  ns:\n    system: netsuite\n    account: 1234567_SB1\n"
        "    auth:\n      mode: tba\n      consumer_key: ck\n"
        "      consumer_secret: plain-text-secret\n      token_id: t\n"
        "      token_secret: {secret: BB_NS_TOKEN_SECRET}\n",
    )
    found = messages(path)
    assert (
        f"{path}:8:24: connections.ns.auth.consumer_secret: secrets must not be written "
        "inline; use {secret: ENV_VAR_NAME}"
    ) in found
    assert any("secret 'BB_NS_TOKEN_SECRET' is not set" in m for m in found)


def test_shipped_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SF_JWT_PRIVATE_KEY",
        "ZUORA_CLIENT_SECRET",
        "NETSUITE_M2M_PRIVATE_KEY",
        "SMTP_PASSWORD",
    ):
        monkeypatch.setenv(name, f"value-of-{name}")
    example = Path(__file__).resolve().parents[2] / "config" / "billbridge.example.yaml"
    _cfg, problems = validate_config_file(example)
    assert [str(p) for p in problems] == []


def test_missing_secret_is_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BB_ZUORA_SECRET_X", raising=False)
    path = write(
        tmp_path,
        "connections:\n  z:\n    system: zuora\n    tenant: us_api_sandbox\n"
        "    client_id: abc\n    client_secret: {secret: BB_ZUORA_SECRET_X}\n",
    )
    assert messages(path) == [
        f"{path}:6:5: connections.z.client_secret: secret 'BB_ZUORA_SECRET_X' is not set "
        "(environment variable or file in the secrets directory)"
    ]


def test_a_reconciliation_naming_what_does_not_exist_is_found_by_validate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "connections:\n  zuora:\n    system: files\n    path: z.csv\n"
        "    spec: exports/legacy_customers\n"
        "reconciliations:\n"
        "  r1:\n    definition: crm_vs_biling\n    sides: {a: zuroa/invoice, b: zuora}\n"
        "  r2:\n    definition: revenue_leakage\n    sides: {invoices: zuora/invoice}\n",
    )
    found = messages(path)
    assert f"{path}:8:17: reconciliations.r1.definition: 'crm_vs_biling' is neither" in found[0]
    assert "(did you mean 'crm_vs_billing'?)" in found[0]
    assert any(
        "r1.sides.a: no connection named 'zuroa' (did you mean 'zuora'?)" in m for m in found
    )
    assert any("r1.sides.b: 'zuora': write it as CONNECTION/ENTITY" in m for m in found)
    # r2 names a suite calculator by its sides: the one it lacks is found too
    assert any("r2" in m and "needs contracts" in m for m in found), found
    assert len(found) == 4


CONNECTIONS = (
    "connections:\n"
    "  salesforce_prod: {system: files, path: a.csv, spec: exports/legacy_customers}\n"
    "  zuora_prod: {system: files, path: z.csv, spec: exports/legacy_customers}\n"
)


def test_jobs_schedules_and_nightly_naming_what_does_not_exist_are_found_by_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # job mapping paths are relative to the working directory
    path = write(
        tmp_path,
        CONNECTIONS + "jobs:\n"
        "  sf_to_zuora:\n"
        "    source: salesforce_prd\n"
        "    target: zuora_prod\n"
        "    target_kind: zuora\n"
        "    mappings:\n"
        "      customer: canonical/customer_to_zuora_acount\n"
        "      contract: mine/missing.yaml\n"
        "schedules:\n"
        "  sf_to_zoura: {cron: '0 1 * * *'}\n"
        "nightly:\n"
        "  sync_jobs: [sf_to_zuora, sf_to_zoura]\n"
        "  reconciliations: [crm_vs_billing]\n",
    )
    assert messages(path) == [
        f"{path}:6:13: jobs.sf_to_zuora.source: no connection named 'salesforce_prd' "
        "(did you mean 'salesforce_prod'?)",
        f"{path}:7:13: jobs.sf_to_zuora.target: connection 'zuora_prod' is a files "
        "connection, but target_kind is 'zuora'",
        f"{path}:10:17: jobs.sf_to_zuora.mappings.customer: no shipped mapping spec named "
        "'canonical/customer_to_zuora_acount' "
        "(did you mean 'canonical/customer_to_zuora_account'?)",
        f"{path}:11:17: jobs.sf_to_zuora.mappings.contract: mapping spec file "
        f"'mine/missing.yaml' not found (looked in the config file's folder {tmp_path}, "
        f"then the working directory {Path.cwd()})",
        f"{path}:13:3: schedules.sf_to_zoura: no job named 'sf_to_zoura' "
        "(did you mean 'sf_to_zuora'?): a schedule is keyed by its job's name",
        f"{path}:15:28: nightly.sync_jobs[1]: no job named 'sf_to_zoura' "
        "(did you mean 'sf_to_zuora'?)",
        f"{path}:16:21: nightly.reconciliations[0]: no reconciliation named 'crm_vs_billing'",
    ]


def test_a_job_mapping_spec_file_that_does_not_load_is_found_by_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: x\nname: y\n")
    good = tmp_path / "good.yaml"
    good.write_text(
        (
            Path(__file__).resolve().parents[2]
            / "mappings/specs/salesforce/account_to_customer.yaml"
        ).read_text()
    )
    path = write(
        tmp_path,
        "connections:\n"
        "  sf: {system: files, path: a.csv, spec: exports/legacy_customers}\n"
        "  zu: {system: zuora, tenant: us_api_sandbox, client_id: c,"
        " client_secret: {secret: BB_TEST_ZU}}\n"
        "jobs:\n"
        "  j:\n    source: sf\n    target: zu\n    target_kind: zuora\n"
        "    mappings: {customer: good.yaml, contract: bad.yaml}\n",
    )
    monkeypatch.setenv("BB_TEST_ZU", "x")
    assert messages(path) == [
        f"{path}:9:47: jobs.j.mappings.contract: mapping spec 'bad.yaml' does not load "
        "(1 problem(s), first: bad.yaml:2:1: name: duplicate key 'name' (first at line 1)); "
        "see billbridge mappings validate bad.yaml"
    ]
