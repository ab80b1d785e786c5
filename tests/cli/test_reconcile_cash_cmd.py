from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from billbridge.cli.main import app


def _write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_reconcile_cash_through_the_main_command(tmp_path: Path) -> None:
    bank = _write(
        tmp_path / "bank.csv",
        "line_id,date,amount,currency,payer_name,payer_account,reference,memo",
        "L1,2026-11-20,150.00,USD,Acme Industries Inc,,INV-1001,",
        "L2,2026-11-20,99.00,USD,Nobody We Know,,,wire",
    )
    invoices = _write(
        tmp_path / "inv.csv",
        "invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency",
        "INV-1001,C1,Acme Industries Inc.,2026-10-01,2026-10-31,150.00,USD",
    )
    customers = _write(
        tmp_path / "cust.csv", "customer_id,name,bank_account", "C1,Acme Industries Inc.,"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "reconcile",
            "cash",
            "--bank",
            str(bank),
            "--invoices",
            str(invoices),
            "--customers",
            str(customers),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code in (0, 1), result.output
    with (out / "applications.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "line_id",
        "invoice_number",
        "applied_amount",
        "confidence",
        "rule",
        "status",
    ]
    assert [
        (r["line_id"], r["invoice_number"], r["applied_amount"], r["status"]) for r in rows
    ] == [("L1", "INV-1001", "150.00", "auto")]
    unapplied = (out / "unapplied.csv").read_text()
    assert "L2" in unapplied and "L1" not in unapplied
