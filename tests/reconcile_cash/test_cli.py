"""The ad-hoc `reconcile cash` command on CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from typer.testing import CliRunner

from reconcile.cash.cli import cash

app = typer.Typer()
app.command()(cash)

BANK = """line_id,date,amount,currency,payer_name,payer_account,reference,memo
B1,2024-03-15,150.00,USD,ACME INC,,INV-000101,
B2,2024-03-15,80.00,USD,Globex Corp,,,thanks
B3,2024-03-16,500.00,USD,Zed Unknown,,,
B4,2024-03-16,20.00,USD,Payer X,GB29NWBK60161331926819,,
"""
INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-000101,C1,Acme Inc,2024-02-01,2024-03-01,100.00,USD
INV-000102,C1,Acme Inc,2024-02-02,2024-03-02,50.00,USD
INV-000201,C2,Globex Corporation,2024-02-01,,80.00,USD
INV-000301,C3,Initech,2024-02-01,,15.00,USD
"""
CUSTOMERS = """customer_id,name,bank_account
C1,Acme Inc,
C2,Globex Corporation,
C3,Initech,GB29 NWBK 6016 1331 9268 19
"""


def write(tmp: Path, **files: str) -> dict[str, Path]:
    paths = {}
    for name, text in files.items():
        paths[name] = tmp / f"{name}.csv"
        paths[name].write_text(text)
    return paths


def read(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def test_writes_applications_and_unapplied_exactly(tmp_path: Path) -> None:
    p = write(tmp_path, bank=BANK, invoices=INVOICES, customers=CUSTOMERS)
    out = tmp_path / "out"
    args = [
        "--bank",
        str(p["bank"]),
        "--invoices",
        str(p["invoices"]),
        "--customers",
        str(p["customers"]),
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert read(out / "applications.csv") == [
        ["line_id", "invoice_number", "applied_amount", "confidence", "rule", "status"],
        ["B1", "INV-000101", "100.00", "0.89", "reference_over", "auto"],
        ["B2", "INV-000201", "80.00", "0.87", "unique_amount", "auto"],
    ]
    assert read(out / "unapplied.csv") == [
        ["line_id", "amount", "currency", "reason", "remainder"],
        ["B1", "150.00", "USD", "ON_ACCOUNT", "50.00"],
        ["B3", "500.00", "USD", "UNAPPLIED", "500.00"],
        ["B4", "20.00", "USD", "UNIDENTIFIED_INVOICE", "20.00"],
    ]


def test_customers_default_to_the_names_on_the_invoices(tmp_path: Path) -> None:
    p = write(tmp_path, bank=BANK, invoices=INVOICES)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["--bank", str(p["bank"]), "--invoices", str(p["invoices"]), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = read(out / "unapplied.csv")
    # without the customers file the bank account of B4 is unknown
    assert ["B4", "20.00", "USD", "UNAPPLIED", "20.00"] in rows


def test_bad_input_names_file_line_and_column_and_exits_2(tmp_path: Path) -> None:
    bad = BANK.replace("B2,2024-03-15,80.00", "B2,2024-03-15,8O.00")
    p = write(tmp_path, bank=bad, invoices=INVOICES)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["--bank", str(p["bank"]), "--invoices", str(p["invoices"]), "--out", str(out)]
    )
    assert res.exit_code == 2
    message = res.output.strip()
    assert f"{p['bank']}, line 3: column 'amount'" in message and "8O.00" in message
    assert not out.exists()  # nothing half-written


def test_missing_column_is_reported_at_the_header(tmp_path: Path) -> None:
    p = write(tmp_path, bank=BANK, invoices=INVOICES.replace("open_amount", "amount_open"))
    res = CliRunner().invoke(
        app, ["--bank", str(p["bank"]), "--invoices", str(p["invoices"]), "--out", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert f"{p['invoices']}, line 1: missing column(s) open_amount" in res.output


def test_short_pay_tolerance_options(tmp_path: Path) -> None:
    bank = (
        "line_id,date,amount,currency,payer_name,payer_account,reference,memo\n"
        "B1,2024-03-15,96.00,USD,,,INV-000101,\n"
    )
    p = write(tmp_path, bank=bank, invoices=INVOICES)
    base = ["--bank", str(p["bank"]), "--invoices", str(p["invoices"])]
    runner = CliRunner()
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert read(tmp_path / "a" / "applications.csv")[1][4] == "reference_short"  # 4% > 3%
    res = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--short-pay-percent", "5"])
    assert res.exit_code == 0, res.output
    assert read(tmp_path / "b" / "applications.csv")[1][4] == "reference_short_tolerance"
    bad = runner.invoke(app, [*base, "--out", str(tmp_path / "c"), "--short-pay-fixed", "x"])
    assert bad.exit_code == 2 and "--short-pay-fixed: 'x' is not a number" in bad.output


def test_run_saves_proposals_and_a_person_accepts_or_rejects_them(tmp_path: Path) -> None:
    from sqlalchemy import select

    from billbridge.state import Store
    from billbridge.state.schema import AuditEventRow
    from reconcile.cash.cli import app as cash_app
    from reconcile.cash.decisions import Decision, decided

    bank = BANK + "B5,2024-03-17,50.00,USD,Acme Inc,,,\n"  # two open 50.00s: a suggestion
    invoices = INVOICES + "INV-000103,C1,Acme Inc,2024-02-03,2024-03-03,50.00,USD\n"
    p = write(tmp_path, bank=bank, invoices=invoices, customers=CUSTOMERS)
    out = tmp_path / "run1"
    url = f"sqlite:///{tmp_path / 'state.db'}"
    runner = CliRunner()
    args = ["--bank", str(p["bank"]), "--invoices", str(p["invoices"])]
    res = runner.invoke(cash_app, [*args, "--customers", str(p["customers"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "cash_run.json").is_file() and "1 suggestion(s) wait" in res.output
    rows = read(out / "proposals.csv")
    assert rows[0][:4] == ["proposal_id", "line_id", "customer_id", "status"]
    suggested = [r for r in rows[1:] if r[3] == "suggested"]
    assert [r[1] for r in suggested] == ["B5"] and len(suggested[0][0]) == 64
    pid = suggested[0][0]
    auto_b1 = next(r[0] for r in rows[1:] if r[1] == "B1")
    res = runner.invoke(
        cash_app,
        ["accept", pid[:10], "--run", str(out), "--actor", "ar.clerk", "--state-url", url],
    )
    assert res.exit_code == 0, res.output
    assert f"accepted {pid[:12]} (suggested" in res.output and "by ar.clerk" in res.output
    res = runner.invoke(
        cash_app,
        ["reject", auto_b1, "--run", str(out), "--actor", "ar.lead", "--note", "dispute",
         "--state-url", url],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    listing = runner.invoke(
        cash_app, ["proposals", "--run", str(out), "--state-url", url], env={"COLUMNS": "200"}
    )
    assert listing.exit_code == 0, listing.output
    assert "accepted by ar.clerk" in listing.output and "rejected by ar.lead" in listing.output
    unknown = runner.invoke(
        cash_app, ["accept", "deadbeef00", "--run", str(out), "--actor", "x", "--state-url", url]
    )
    assert unknown.exit_code == 2 and "no proposal 'deadbeef00'" in unknown.output
    no_actor = runner.invoke(
        cash_app,
        ["accept", pid, "--run", str(out), "--state-url", url],
        env={"BILLBRIDGE_ACTOR": None},
    )
    assert no_actor.exit_code == 2 and "--actor" in no_actor.output
    store = Store(url)
    try:
        assert decided(store, Decision.ACCEPTED) == {pid}
        assert decided(store, Decision.REJECTED) == {auto_b1}
        with store.session() as s:
            notes = [(a.actor, a.note) for a in s.scalars(select(AuditEventRow))]
        assert notes == [("ar.clerk", None), ("ar.lead", "dispute")]
    finally:
        store.close()
    # the next run remembers the rejection: B1's proposal is not made again
    res = runner.invoke(
        cash_app,
        [*args, "--customers", str(p["customers"]), "--out", str(tmp_path / "run2"),
         "--state-url", url],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert auto_b1 not in {r[0] for r in read(tmp_path / "run2" / "proposals.csv")[1:]}
