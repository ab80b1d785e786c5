"""AR sub-ledger vs GL run from the config file: NetSuite invoice and payment exports and a
CSV of GL lines (the shipped SuiteQL journal-line spec), planted breaks each found and
nothing else, recorded in the exception store and kept across runs."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billbridge.errors import ConfigError
from billbridge.state import Store
from config.loader import load_config
from config.model import BillbridgeConfig
from reconcile.configured import recorded_name, run_configured
from reconcile.exceptions import ExceptionStore

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "mappings" / "specs"
NOW = datetime(2026, 3, 15, 9, tzinfo=UTC)  # the run's period: 2026-03
AR = "1200"

INVOICE_COLUMNS = [
    "Internal ID",
    "Document Number",
    "Date",
    "Due Date/Receive By",
    "Customer Internal ID",
    "Customer",
    "Currency",
    "Status",
    "External ID",
    "PO/Check Number",
    "Line ID",
    "Item",
    "Memo",
    "Quantity",
    "Item Rate",
    "Amount",
    "Tax Amount",
    "Amount (Transaction Total)",
    "Amount Remaining",
]
PAYMENT_COLUMNS = [
    "Internal ID",
    "Document Number",
    "Date",
    "Customer Internal ID",
    "Customer",
    "Currency",
    "Amount",
    "Payment Method",
    "Check #",
    "Memo",
    "Status",
    "Applied To Transaction",
    "Applied To Amount",
    "External ID",
]
GL_COLUMNS = [
    "transaction",
    "tranid",
    "line",
    "trandate",
    "period",
    "account",
    "currency",
    "amount",
    "subsidiary",
    "entity",
    "memo",
    "lastmodified",
]


def invoice(iid: str, number: str, day: str, customer: str, total: str, remaining: str,
            status: str = "Open") -> list[str]:  # fmt: skip
    return [iid, number, day, day, customer, f"Customer {customer}", "US Dollar", status, "",
            "", "1", "SEAT", "Seats", "1", total, total, "0", total, remaining]  # fmt: skip


def payment(iid: str, number: str, day: str, customer: str, amount: str,
            applied_to: str = "", applied: str = "") -> list[str]:  # fmt: skip
    return [iid, number, day, customer, f"Customer {customer}", "US Dollar", amount, "ACH",
            "", "", "Deposited", applied_to, applied, ""]  # fmt: skip


INVOICES = [
    invoice("11", "INV-1", "1/10/2026", "C1", "1000.00", "0.00", "Paid In Full"),
    invoice("12", "INV-2", "1/20/2026", "C2", "500.00", "500.00"),
    invoice("13", "INV-3", "2/5/2026", "C1", "300.00", "100.00"),
    invoice("14", "INV-4", "3/10/2026", "C2", "700.00", "700.00"),
    # not yet approved: neither a receivable nor posted
    invoice("15", "INV-5", "3/12/2026", "C3", "90.00", "90.00", "Pending Approval"),
]
PAYMENTS = [
    payment("21", "PAY-1", "2/15/2026", "C1", "1000.00", "INV-1", "1000.00"),
    payment("22", "PAY-2", "3/2/2026", "C1", "200.00", "INV-3", "200.00"),
    payment("23", "PAY-3", "3/5/2026", "C2", "150.00"),  # unapplied cash: a credit in AR
]


def gl_line(tx: str, doc: str, period: str, amount: str, account: str = AR,
            subsidiary: str = "US01", memo: str = "") -> list[str]:  # fmt: skip
    day = f"{period}-20"
    return [tx, doc, "1", day, period, account, "USD", amount, subsidiary, "", memo,
            f"{day} 10:00:00"]  # fmt: skip


def clean_gl() -> list[list[str]]:
    """Each document's AR line (and, to be ignored, its revenue and cash lines)."""
    return [
        gl_line("901", "INV-1", "2026-01", "1000.00"),
        gl_line("901", "INV-1", "2026-01", "-1000.00", account="4000"),
        gl_line("902", "INV-2", "2026-01", "500.00"),
        gl_line("903", "INV-3", "2026-02", "300.00"),
        gl_line("921", "PAY-1", "2026-02", "-1000.00"),
        gl_line("921", "PAY-1", "2026-02", "1000.00", account="1000"),
        gl_line("922", "PAY-2", "2026-03", "-200.00"),
        gl_line("923", "PAY-3", "2026-03", "-150.00"),
        gl_line("904", "INV-4", "2026-03", "700.00"),
    ]


def planted_gl() -> list[list[str]]:
    replaced = {
        "INV-4": None,  # never posted
        "PAY-1": gl_line("921", "PAY-1", "2026-03", "-1000.00"),  # posted a month late
        "INV-2": gl_line("902", "INV-2", "2026-01", "505.00"),  # posted with another amount
    }
    out = []
    for row in clean_gl():
        doc, account = row[1], row[5]
        if account == AR and doc in replaced:
            if (planted := replaced[doc]) is not None:
                out.append(planted)
        else:
            out.append(row)
    out.append(gl_line("905", "", "2026-02", "40.00", memo="reclass"))  # manual JE on AR
    return out


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        out.writerows(rows)
    return path


def make_config(
    tmp: Path,
    *,
    gl: list[list[str]],
    invoices: list[list[str]] = INVOICES,
    options: str = f"{{control_accounts: [{AR}]}}",
    sides: str = "{invoices: nsinv/invoice, payments: nspay/payment, gl: nsgl/journal_line}",
) -> Path:
    data = tmp / "data"
    data.mkdir(parents=True, exist_ok=True)
    files = {
        "nsinv": (write_csv(data / "invoices.csv", INVOICE_COLUMNS, invoices),
                  SPECS / "exports" / "netsuite_invoices.yaml"),
        "nspay": (write_csv(data / "payments.csv", PAYMENT_COLUMNS, PAYMENTS),
                  SPECS / "exports" / "netsuite_payments.yaml"),
        "nsgl": (write_csv(data / "gl.csv", GL_COLUMNS, gl),
                 SPECS / "netsuite" / "suiteql" / "journal_line_to_journal_line.yaml"),
    }  # fmt: skip
    conns = "".join(
        f"  {name}:\n    system: files\n    path: {path}\n    spec: {spec}\n"
        for name, (path, spec) in files.items()
    )
    path = tmp / "billbridge.yaml"
    path.write_text(
        f"state:\n  url: sqlite:///{tmp / 'state.db'}\nconnections:\n{conns}"
        f"reconciliations:\n  argl:\n    definition: ar_subledger_gl\n"
        f"    sides: {sides}\n    options: {options}\n"
    )
    return path


Found = set[tuple[str, tuple[tuple[str, str], ...]]]


def run(config_path: Path, now: datetime = NOW) -> tuple[Found, dict[tuple[str, str], Decimal]]:
    """Run ``argl`` as ``reconcile run`` does; what is open afterwards, and the amounts."""
    config = load_config(config_path)
    store = Store(config.state.url)
    try:
        run_configured(config, "argl", store=store, now=now)
        views = list(ExceptionStore(store).list("ar_subledger_gl", now=now))
    finally:
        store.close()
    found = {(v.category, tuple(sorted(v.keys.items()))) for v in views}
    amounts = {(v.category, "/".join(v.keys.values())): Decimal(str(v.amount)) for v in views}
    return found, amounts


def bal(period: str, subsidiary: str = "") -> tuple[str, tuple[tuple[str, str], ...]]:
    keys = {"account": AR, "subsidiary": subsidiary, "currency": "USD", "period": period}
    return ("AMOUNT_MISMATCH", tuple(sorted(keys.items())))


def doc(category: str, number: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    kind = "payment" if number.startswith("PAY") else "invoice"
    return (category, (("document", number), ("kind", kind)))


def test_clean_books_tie_out_in_every_period(tmp_path: Path) -> None:
    found, _ = run(make_config(tmp_path, gl=clean_gl()))
    assert found == set()


def test_planted_breaks_are_found_and_nothing_else(tmp_path: Path) -> None:
    found, amounts = run(make_config(tmp_path, gl=planted_gl()))
    assert found == {
        ("MANUAL_JE", (("journal_id", "905"), ("line", "1"))),
        doc("UNPOSTED", "INV-4"),
        doc("PERIOD_CUTOFF", "PAY-1"),
        doc("AMOUNT_MISMATCH", "INV-2"),
        bal("2026-01"),  # INV-2's extra 5.00
        bal("2026-02"),  # + the manual 40.00 + PAY-1 not yet credited
        bal("2026-03"),  # 5.00 + 40.00 - INV-4's 700.00
    }
    assert amounts[("AMOUNT_MISMATCH", "INV-2/invoice")] == Decimal("5.00")
    assert amounts[("AMOUNT_MISMATCH", f"{AR}//USD/2026-01")] == Decimal("5.00")
    assert amounts[("AMOUNT_MISMATCH", f"{AR}//USD/2026-02")] == Decimal("1045.00")
    assert amounts[("AMOUNT_MISMATCH", f"{AR}//USD/2026-03")] == Decimal("-655.00")


def test_a_write_off_outside_the_subledger_breaks_the_roll_forward(tmp_path: Path) -> None:
    # 10.00 of INV-2 written off by a journal entry: the aging drops it, the GL credits
    # AR, but no sub-ledger document explains the change
    invoices = [
        invoice("12", "INV-2", "1/20/2026", "C2", "500.00", "490.00") if r[1] == "INV-2" else r
        for r in INVOICES
    ]
    gl = [*clean_gl(), gl_line("906", "", "2026-03", "-10.00", memo="write-off INV-2")]
    found, amounts = run(make_config(tmp_path, gl=gl, invoices=invoices))
    roll = ("ROLLFORWARD_BREAK", bal("2026-03")[1])
    assert found == {roll, ("MANUAL_JE", (("journal_id", "906"), ("line", "1")))}
    assert amounts[("ROLLFORWARD_BREAK", f"{AR}//USD/2026-03")] == Decimal("-10.00")


def test_second_run_shows_the_same_breaks_still_open(tmp_path: Path) -> None:
    path = make_config(tmp_path, gl=planted_gl())
    config = load_config(path)
    store = Store(config.state.url)
    xs = ExceptionStore(store)
    try:
        first = run_configured(config, "argl", store=store, now=NOW)
        again = run_configured(config, "argl", store=store, now=datetime(2026, 3, 16, tzinfo=UTC))
        assert len(first.new) == 7
        assert sorted(again.still_open) == sorted(first.new)
        assert not again.new and not again.changed and not again.resolved_by_data
        assert recorded_name(config, "argl") == first.recon == "ar_subledger_gl"

        # INV-4 gets posted: its UNPOSTED goes, March's difference shrinks (same exception)
        write_csv(tmp_path / "data" / "gl.csv", GL_COLUMNS, [
            *planted_gl(), gl_line("904", "INV-4", "2026-03", "700.00")
        ])  # fmt: skip
        later = datetime(2026, 3, 17, tzinfo=UTC)
        fixed = run_configured(config, "argl", store=store, now=later)
        by_id = {v.id: v for v in xs.list("ar_subledger_gl", now=later)}
    finally:
        store.close()
    (gone,) = fixed.resolved_by_data
    (march,) = fixed.changed
    assert by_id[gone].category == "UNPOSTED"
    assert by_id[march].keys["period"] == "2026-03" and by_id[march].amount == Decimal("45.00")
    assert not fixed.new and len(fixed.still_open) == 5


def test_months_look_back_from_the_opening_balance(tmp_path: Path) -> None:
    # March only, opened from January's and February's activity: February's manual JE
    # and late payment, January's wrong amount are outside the window; their effect on
    # the balance is not
    found, amounts = run(
        make_config(tmp_path, gl=planted_gl(), options=f"{{control_accounts: [{AR}], months: 1}}")
    )
    assert found == {doc("UNPOSTED", "INV-4"), bal("2026-03")}
    assert amounts[("AMOUNT_MISMATCH", f"{AR}//USD/2026-03")] == Decimal("-655.00")


def test_subsidiary_scopes_the_control_account_lines(tmp_path: Path) -> None:
    gl = [*clean_gl(), gl_line("907", "", "2026-03", "75.00", subsidiary="UK01")]
    every, _ = run(make_config(tmp_path / "all", gl=gl))
    assert every == {bal("2026-03"), ("MANUAL_JE", (("journal_id", "907"), ("line", "1")))}
    scoped, _ = run(
        make_config(
            tmp_path / "us",
            gl=gl,
            options=f"{{control_accounts: [{AR}], subsidiary: US01}}",
        )
    )
    assert scoped == set()


def test_rounding_allowance_per_currency(tmp_path: Path) -> None:
    gl = [*clean_gl(), gl_line("908", "", "2026-03", "0.50", memo="fx rounding")]
    options = f"{{control_accounts: [{AR}], rounding: {{USD: '1.00'}}}}"
    found, _ = run(make_config(tmp_path, gl=gl, options=options))
    # the balance is within the allowance; the journal entry itself is still shown
    assert found == {("MANUAL_JE", (("journal_id", "908"), ("line", "1")))}


def test_reconcile_run_cli_runs_it_from_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import reconcile.cli
    from billbridge.cli.main import app

    monkeypatch.setattr(reconcile.cli, "now", lambda: NOW)
    monkeypatch.setenv("BILLBRIDGE_CONFIG", str(make_config(tmp_path, gl=planted_gl())))
    runner = CliRunner()
    first = runner.invoke(app, ["reconcile", "run", "argl"])
    assert first.exit_code == 1, first.output  # exceptions are open
    assert "argl: NEW 7, STILL_OPEN 0" in first.stdout
    again = runner.invoke(app, ["reconcile", "run", "--all"])
    assert "argl: NEW 0, STILL_OPEN 7" in again.stdout


def test_options_are_checked_again_when_run_without_the_loader(tmp_path: Path) -> None:
    # a config built in code skips ``config validate``: the run still names the option
    config = load_config(make_config(tmp_path, gl=clean_gl()))
    raw = config.model_dump()
    raw["reconciliations"]["argl"]["options"] = {"control_accounts": [AR], "month": 3}
    built = BillbridgeConfig.model_validate(raw)
    store = Store(built.state.url)
    try:
        with pytest.raises(ConfigError, match=r"reconciliations\.argl\.options\.month: "):
            run_configured(built, "argl", store=store, now=NOW)
        raw["reconciliations"]["argl"]["options"] = {}
        with pytest.raises(
            ConfigError,
            match=r"reconciliations\.argl\.options\.control_accounts: required option is missing",
        ):
            run_configured(BillbridgeConfig.model_validate(raw), "argl", store=store, now=NOW)
        raw["reconciliations"]["argl"]["options"] = {"control_accounts": [AR]}
        raw["reconciliations"]["argl"]["sides"]["gl"] = "nsinv/invoice"
        with pytest.raises(
            ConfigError,
            match=r"reconciliations\.argl\.sides\.gl: 'nsinv/invoice' reads 'invoice' records",
        ):
            run_configured(BillbridgeConfig.model_validate(raw), "argl", store=store, now=NOW)
    finally:
        store.close()


def test_void_memos_and_documents_after_the_run_month_are_in_neither_balance() -> None:
    from datetime import date

    from canonical import CreditMemo, Invoice, JournalLine, Money
    from reconcile.suite.ar_gl import ArGlPolicy, reconcile_ar_gl_records

    def usd(amount: str) -> Money:
        return Money(amount, "USD")

    def inv(number: str, day: date) -> Invoice:
        return Invoice(source_system="ns", source_id=number, number=number, customer_id="C1",
                       issue_date=day, currency="USD", subtotal=usd("100.00"),
                       tax_total=usd("0"), total=usd("100.00"))  # fmt: skip

    def line(doc: str, day: date) -> JournalLine:
        return JournalLine(source_system="ns", source_id=doc, journal_id=doc, line_number=1,
                           posting_date=day, period=f"{day:%Y-%m}", account=AR,
                           currency="USD", amount=usd("100.00"), source_document=doc)  # fmt: skip

    now, advance = date(2026, 3, 15), date(2026, 4, 1)  # billed in advance, posted in April
    result = reconcile_ar_gl_records(
        invoices=[inv("I-1", now), inv("I-2", advance)],
        credit_memos=[
            CreditMemo(
                source_system="ns",
                source_id="M-1",
                number="M-1",
                customer_id="C1",
                issue_date=now,
                currency="USD",
                total=usd("30.00"),
                status="Voided",
            )
        ],
        gl=[line("I-1", now), line("I-2", advance)],
        as_of=now,
        policy=ArGlPolicy(frozenset({AR})),
        account=AR,
    )
    assert result.findings == ()
    (march,) = result.rows
    assert march.closing == march.subledger_closing == march.gl_closing == Decimal("100.00")


def test_the_ar_email_report_has_a_section_for_it(tmp_path: Path) -> None:
    from billbridge.cli.report_cmd import build_report

    path = make_config(tmp_path, gl=planted_gl())
    run(path)
    report = build_report(load_config(path), now=NOW)
    (section,) = [s for s in report.sections if s.name == "ar_subledger_gl"]
    assert len(section.open_items) == 7


def test_a_gl_without_the_control_accounts_fails_with_the_accounts_it_names(
    tmp_path: Path,
) -> None:
    """Control account written as the number, GL naming it by name: one clear error, not a
    break in every period and every document unposted."""
    name = "11000 Accounts Receivable"
    named = [[*row[:5], name if row[5] == AR else row[5], *row[6:]] for row in clean_gl()]
    expected = (
        "none of the 9 GL lines is on the control accounts '1200'; "
        "the GL names '1000', '11000 Accounts Receivable', '4000'"
    )
    with pytest.raises(ConfigError, match=expected):
        run(make_config(tmp_path, gl=named))


def test_a_gl_of_journal_entries_only_fails_instead_of_reporting_all_unposted(
    tmp_path: Path,
) -> None:
    """GL lines without their source documents (journal entries only): every invoice would
    read as never posted."""
    bare = [[*row[:1], "", *row[2:]] for row in clean_gl()]
    with pytest.raises(ConfigError, match="names its source document"):
        run(make_config(tmp_path, gl=bare))
