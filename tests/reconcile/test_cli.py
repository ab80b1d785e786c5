"""`reconcile files`, `reconcile run` and `exceptions ...` through Typer's CliRunner."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from billbridge.state import Store
from reconcile import cli as recon_cli
from reconcile import exceptions_cli
from reconcile.exceptions import ExceptionStore, WorkflowError

runner = CliRunner()
HEADER = "number,total,issued,status\n"


def _write(path: Path, body: str) -> Path:
    path.write_text(HEADER + body)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    left = _write(
        tmp_path / "left.csv",
        "A,10.00,2024-01-01,posted\nB,20.00,2024-01-01,posted\nC,30.00,2024-01-01,posted\n",
    )
    right = _write(
        tmp_path / "right.csv",
        "A,10.004,2024-01-01,posted\nB,21.00,2024-01-01,posted\nD,5.00,2024-01-01,posted\n",
    )
    return left, right


def test_files_agree_exit_0(tmp_path: Path) -> None:
    left = _write(tmp_path / "l.csv", "A,10.00,2024-01-01,posted\n")
    right = _write(tmp_path / "r.csv", "A,10.0,2024-01-01,posted\n")
    out = tmp_path / "out"
    res = runner.invoke(
        recon_cli.app, ["files", str(left), str(right), "--key", "number", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["row_summary"]["common_rows"] == 1 and summary["row_summary"]["unequal_rows"] == 0
    )
    assert list(csv.reader((out / "exceptions.csv").open()))[1:] == []


def test_files_with_exceptions_exit_1_and_outputs(files: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = files
    out = tmp_path / "out"
    res = runner.invoke(
        recon_cli.app,
        [
            "files",
            str(left),
            str(right),
            "--key",
            "number",
            "--compare",
            "total:abs=0.005",
            "--compare",
            "status",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1, res.output
    rows = list(csv.DictReader((out / "exceptions.csv").open()))
    assert {(r["key_number"], r["category"]) for r in rows} == {
        ("B", "AMOUNT_MISMATCH"),
        ("C", "MISSING_IN_B"),
        ("D", "MISSING_IN_A"),
    }
    b = next(r for r in rows if r["key_number"] == "B")
    assert (b["total_a"], b["total_b"], json.loads(b["delta"])) == ("20", "21", {"total": "-1"})
    sheet = openpyxl.load_workbook(out / "exceptions.xlsx").active
    xrows = list(sheet.iter_rows(values_only=True))
    assert xrows[0][:3] == ("exception_id", "recon_type", "category") and len(xrows) == 4
    summary = json.loads((out / "summary.json").read_text())
    stats = {s["column"]: s for s in summary["mismatch_stats"]["stats"]}
    assert stats["total"]["unequal_cnt"] == 1 and stats["total"]["abs_tol"] == "0.005"
    assert summary["row_summary"]["matched_within_tolerance"] == 1


def test_files_parquet_and_xlsx_with_renamed_columns(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {"id": ["1", "2"], "amt": pa.array([1.5, 2.25]), "day": ["2024-01-01", "2024-01-03"]}
        ),
        tmp_path / "l.parquet",
    )
    import xlsxwriter

    book = xlsxwriter.Workbook(str(tmp_path / "r.xlsx"))
    ws = book.add_worksheet()
    ws.write_row(0, 0, ["invoice", "amount", "day"])
    ws.write_row(1, 0, ["1", 1.5, "2024-01-02"])
    ws.write_row(2, 0, ["2", 2.5, "2024-01-03"])
    book.close()
    res = runner.invoke(
        recon_cli.app,
        [
            "files",
            str(tmp_path / "l.parquet"),
            str(tmp_path / "r.xlsx"),
            "--key",
            "id=invoice",
            "--compare",
            "amt=amount:amount",
            "--compare",
            "day:days=1",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 1, res.output
    rows = list(csv.DictReader((tmp_path / "o" / "exceptions.csv").open()))
    assert [(r["key_id"], r["category"], r["amt_a"], r["amt_b"]) for r in rows] == [
        ("2", "AMOUNT_MISMATCH", "2.25", "2.5")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "nope"], "no column 'nope'"),
        (["--key", "number", "--compare", "total:abs=x"], "needs a number"),
        (["--key", "number", "--compare", "total:bogus"], "unknown option"),
    ],
)
def test_files_errors_exit_2(files: tuple[Path, Path], args: list[str], message: str) -> None:
    left, right = files
    res = runner.invoke(recon_cli.app, ["files", str(left), str(right), *args])
    assert res.exit_code == 2
    assert message in res.output


def test_files_missing_file_and_bad_value_exit_2(files: tuple[Path, Path], tmp_path: Path) -> None:
    left, _ = files
    res = runner.invoke(
        recon_cli.app, ["files", str(left), str(tmp_path / "x.csv"), "--key", "number"]
    )
    assert res.exit_code == 2 and "not found" in res.output
    bad = _write(tmp_path / "bad.csv", "A,10.00,2024-01-01,posted\nB,1O.00,2024-01-01,posted\n")
    res = runner.invoke(
        recon_cli.app,
        ["files", str(left), str(bad), "--key", "number", "--compare", "total:abs=0.01"],
    )
    assert res.exit_code == 2 and "line 3" in res.output and "'total'" in res.output


CONFIG = """
reconciliations:
  - name: inv
    a: {label: left, path: left.csv}
    b: {label: right, path: right.csv}
    keys: [{name: number}]
    compare: [{name: total, kind: amount, abs: 0.005}]
    amount_field: total
"""


def test_run_records_exceptions_and_exceptions_cli_works_them(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "recon.yaml").write_text(CONFIG)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    monkeypatch.setattr(recon_cli, "now", lambda: t0)
    monkeypatch.setattr(exceptions_cli, "now", lambda: t0)
    monkeypatch.setenv("BILLBRIDGE_STATE_URL", url)
    res = runner.invoke(
        recon_cli.app, ["run", "inv", "--definitions", str(tmp_path / "recon.yaml")]
    )
    assert res.exit_code == 1, res.output
    assert "NEW 3" in res.output
    res = runner.invoke(
        recon_cli.app, ["run", "--all", "--definitions", str(tmp_path / "recon.yaml")]
    )
    assert "STILL_OPEN 3" in res.output
    res = runner.invoke(
        recon_cli.app, ["run", "nope", "--definitions", str(tmp_path / "recon.yaml")]
    )
    assert res.exit_code == 2 and "no reconciliation named 'nope'" in res.output

    res = runner.invoke(exceptions_cli.app, ["list", "--json"])
    listed = {r["keys"]["number"]: r for r in json.loads(res.output)}
    assert set(listed) == {"B", "C", "D"} and listed["B"]["times_seen"] == 2
    b_id = listed["B"]["id"]
    assert (
        runner.invoke(
            exceptions_cli.app, ["ack", b_id[:10], "--actor", "ana", "--note", "seen"]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            exceptions_cli.app,
            ["assign", b_id, listed["C"]["id"], "--owner", "bob", "--actor", "ana"],
        ).exit_code
        == 0
    )
    res = runner.invoke(
        exceptions_cli.app,
        ["resolve", b_id, "--reason", "write_off", "--actor", "bob", "--note", "under threshold"],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        exceptions_cli.app,
        [
            "suppress",
            "--category",
            "MISSING_IN_A",
            "--recon",
            "inv",
            "--reason",
            "in transit",
            "--owner",
            "ana",
            "--expires",
            "7d",
            "--actor",
            "ana",
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(exceptions_cli.app, ["show", b_id])
    assert "under threshold" in res.output and "RESOLVED" in res.output
    res = runner.invoke(exceptions_cli.app, ["list", "--json", "--status", "SUPPRESSED"])
    assert [r["keys"]["number"] for r in json.loads(res.output)] == ["D"]
    res = runner.invoke(exceptions_cli.app, ["list", "--owner", "bob"])
    assert res.exit_code == 0 and "ASSIGNED" in res.output

    res = runner.invoke(exceptions_cli.app, ["resolve", b_id, "--reason", "FIXED_IN_SOURCE"])
    assert isinstance(res.exception, WorkflowError)  # already resolved: the main app prints it
    store = Store(url)
    history = ExceptionStore(store).history(b_id)
    store.close()
    assert [(h.event, h.actor) for h in history] == [
        ("NEW", "system"),
        ("ACKNOWLEDGED", "ana"),
        ("ASSIGNED", "ana"),
        ("RESOLVED", "bob"),
    ]


FIXTURES = Path(__file__).with_name("fixtures")
SPECS = Path(__file__).resolve().parents[2] / "mappings" / "specs" / "exports"
MAPPED_CONFIG = """
name: billing_vs_erp_invoices
a: {{label: zuora, path: {fixtures}/zuora_invoices.csv, mapping: {specs}/zuora_invoices.yaml}}
b:
  label: netsuite
  path: {fixtures}/netsuite_invoices.csv
  mapping: {specs}/netsuite_invoices.yaml
keys: [{{name: invoice_number, normalize: [trim, casefold]}}]
compare:
  - {{name: issue_date, kind: date}}
  - {{name: total, kind: amount}}
  - {{name: status, kind: status}}
amount_field: total
categories: {{MISSING_IN_B: NOT_SYNCED}}
"""


def test_run_through_mapping_specs_and_builtin_side_builders(tmp_path: Path) -> None:
    (tmp_path / "recon.yaml").write_text(MAPPED_CONFIG.format(fixtures=FIXTURES, specs=SPECS))
    out = tmp_path / "out"
    res = runner.invoke(
        recon_cli.app,
        [
            "run",
            "--all",
            "--definitions",
            str(tmp_path / "recon.yaml"),
            "--state-url",
            f"sqlite:///{tmp_path / 's.db'}",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1, res.output
    rows = list(csv.DictReader((out / "billing_vs_erp_invoices-exceptions.csv").open()))
    found = {(r["key_invoice_number"], r["category"], r["diff_columns"]) for r in rows}
    assert found == {("inv00000001", "AMOUNT_MISMATCH", "total"), ("inv00000002", "NOT_SYNCED", "")}


def test_config_runs_honour_state_url_and_exit_0_when_nothing_is_left_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--state-url wins over the config file's store; a run whose exceptions are all won't
    fix or suppressed has nothing open (exit 0, not 1)."""
    from reconcile.exceptions import Reason, Status
    from tests.reconcile.test_three_way import _invoice_files

    spec = Path(__file__).resolve().parents[2] / "mappings/specs/exports/zuora_invoices.yaml"
    found = _invoice_files(tmp_path)
    conns = "".join(
        f"  {s}:\n    system: files\n    path: {found[s]}\n    spec: {spec}\n" for s in "ab"
    )
    config = tmp_path / "billbridge.yaml"
    config.write_text(
        f"state:\n  url: sqlite:///{tmp_path / 'config.db'}\nconnections:\n{conns}"
        "reconciliations:\n  billing_vs_erp_invoices:\n    definition: billing_vs_erp_invoices\n"
        "    sides: {a: a/invoice, b: b/invoice}\n"
    )
    monkeypatch.delenv("BILLBRIDGE_STATE_URL", raising=False)
    flag = f"sqlite:///{tmp_path / 'flag.db'}"
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    monkeypatch.setattr(recon_cli, "now", lambda: t0)
    args = ["run", "--all", "--config", str(config), "--state-url", flag]
    first = runner.invoke(recon_cli.app, args)
    assert first.exit_code == 1, first.output
    assert (tmp_path / "flag.db").exists() and not (tmp_path / "config.db").exists()
    store = Store(flag)
    try:
        xs = ExceptionStore(store)
        for view in xs.list("billing_vs_erp_invoices", now=t0):
            xs.transition(view.id, Status.WONT_FIX, actor="ar", reason=Reason.KNOWN_DIFFERENCE,
                          note="accepted", now=t0)  # fmt: skip
    finally:
        store.close()
    again = runner.invoke(recon_cli.app, args)
    assert again.exit_code == 0, again.output
