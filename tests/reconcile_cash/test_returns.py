"""Returns in the same bank files hold the credit they take back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from canonical import BankTransaction, Money
from reconcile.cash import Category, Status, apply_cash
from reconcile.cash.csv_io import write_results
from reconcile.cash.inputs import bank_lines, lines_from
from reconcile.cash.runs import load_run, save_run
from tests.reconcile_cash.builders import cust, inv

HOOLI = [cust("C400", "Hooli AG", "CH9300762011623852957")]
ITEMS = [inv("INV-4001", "C400", "800.00", ccy="EUR")]


def txn(source_id: str, amount: str, day: int, **kw: object) -> BankTransaction:
    return BankTransaction(
        source_system="camt",
        source_id=source_id,
        account_id="OPS",
        booking_date=date(2024, 3, day),
        amount=Money(amount, "EUR"),
        **kw,  # type: ignore[arg-type]
    )


CREDIT = txn(
    "ACC:credit",
    "800.00",
    15,
    bank_reference="ASR-2",
    counterparty_name="Hooli AG",
    counterparty_account="CH9300762011623852957",
    references=("INV-4001",),
)


def test_a_return_quoting_the_credit_holds_it_and_is_reported(tmp_path: Path) -> None:
    # MT940 :61:...RC800,00 with :86: RUECKGABE ASR-2 AC04 (no counterparty account)
    ret = txn(
        "ACC:return",
        "-800.00",
        19,
        reversal=True,
        bank_reference="BR-0004",
        remittance_text="RUECKGABE ASR-2 AC04",
    )
    lines = bank_lines([CREDIT, ret])
    assert [ln.line_id for ln in lines.not_receipts] == ["ACC:return"]
    (line,) = lines.receipts
    assert line.returned_by == "ACC:return"
    result = apply_cash(lines.receipts, ITEMS, HOOLI)
    r = result.lines[0]
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    (exc,) = r.exceptions
    assert exc.category == Category.RETURNED and "ACC:return" in exc.reason
    assert result.to_exception_candidates()[0]["details"]["cause"] == "returned"
    save_run(result, tmp_path)
    assert load_run(tmp_path).lines[0].line.returned_by == "ACC:return"
    write_results(result, tmp_path, lines.not_receipts)
    assert "ACC:return,-800.00,EUR,NOT_A_RECEIPT" in (tmp_path / "unapplied.csv").read_text()


def test_a_reversal_of_the_same_amount_and_payer_within_days_holds_the_credit() -> None:
    ret = txn("ACC:r", "-800.00", 18, reversal=True, counterparty_name="HOOLI AG")
    (line,) = lines_from([CREDIT, ret])
    assert line.returned_by == "ACC:r"


def test_debits_that_do_not_reverse_the_credit_hold_nothing() -> None:
    others = [
        txn("ACC:fee", "-8.00", 16, remittance_text="FEE ASR-2"),  # another amount
        txn("ACC:late", "-800.00", 25, reversal=True, counterparty_name="Hooli AG"),
        txn("ACC:other", "-800.00", 16, reversal=True, counterparty_name="Globex"),
        txn("ACC:refund", "-800.00", 16, counterparty_name="Hooli AG"),  # not a return
        txn("ACC:before", "-800.00", 14, remittance_text="ASR-2"),  # before the credit
    ]
    (line,) = lines_from([CREDIT, *others])
    assert line.returned_by is None
    r = apply_cash([line], ITEMS, HOOLI).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.AUTO


def test_a_return_that_fits_two_credits_holds_neither() -> None:
    twin = CREDIT.model_copy(update={"source_id": "ACC:twin", "bank_reference": "ASR-3"})
    ret = txn("ACC:r", "-800.00", 18, reversal=True, counterparty_name="Hooli AG")
    assert [ln.returned_by for ln in lines_from([CREDIT, twin, ret])] == [None, None]
