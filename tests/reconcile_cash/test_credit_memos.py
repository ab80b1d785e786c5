"""Credit memos (negative open amounts) in the open items. They were dropped with the
ledger's ``open_minor > 0``: a payment of 900.00 naming INV-3001 (1,000.00) and CM-3002
(-100.00) became a SHORT_PAY of INV-3001 with no word of the memo. A payment that names
invoices and memos of one customer for exactly their net now applies each invoice in full
and consumes each memo (``reference_credit``); amounts alone never use a memo."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from billbridge.cli.main import app
from canonical import Money
from reconcile.cash import CashLine, OpenItem, Rule, Status, apply_cash
from reconcile.cash.allocate import Remaining
from reconcile.cash.intents import applications_to_intents
from reconcile.cash.ledger import Item

from .builders import CUSTOMERS, cust, inv, pay
from .test_cascade import applied, categories

INVOICES = """invoice_number,customer_id,customer_name,issue_date,due_date,open_amount,currency
INV-3001,C1,Acme Corp,2024-01-02,2024-02-01,1000.00,USD
CM-3002,C1,Acme Corp,2024-01-10,2024-01-10,-100.00,USD
INV-3003,C1,Acme Corp,2024-01-11,2024-02-10,0.00,USD
INV-3004,C2,Globex,2024-01-11,2024-02-10,400.00,USD
"""
BANK = """line_id,date,amount,currency,payer_name,payer_account,reference,memo
P1,2024-01-16,900.00,USD,ACME CORP,,INV-3001 CM-3002,
P2,2024-01-17,400.00,USD,GLOBEX,,INV-3004,
"""
ACME = [cust("C1", "Acme Corp"), cust("C2", "Globex")]


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_a_payment_naming_an_invoice_and_its_credit_memo_nets_them_end_to_end(
    tmp_path: Path,
) -> None:
    (tmp_path / "bank.csv").write_text(BANK, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    out = tmp_path / "out"
    args = ["reconcile", "cash", "--bank", str(tmp_path / "bank.csv")]
    args += ["--invoices", str(tmp_path / "invoices.csv"), "--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "2 auto" in res.output and "1 credit memo(s) open, 1 netted" in res.output
    assert _rows(out / "applications.csv")[1:] == [
        ["P1", "INV-3001", "1000.00", "0.99", "reference_credit", "auto"],
        ["P1", "CM-3002", "-100.00", "0.99", "reference_credit", "auto"],
        ["P2", "INV-3004", "400.00", "0.99", "reference", "auto"],
    ]
    proposals = _rows(out / "proposals.csv")[1:]
    assert [(r[1], r[6], r[7]) for r in proposals] == [
        ("P1", "INV-3001 CM-3002", "900.00"),
        ("P2", "INV-3004", "400.00"),
    ]
    assert _rows(out / "unapplied.csv")[1:] == []
    # the saved run reads back with the negative application (the id still matches)
    listed = CliRunner().invoke(
        app,
        ["reconcile", "cash", "proposals", "--run", str(out), "--state-url",
         f"sqlite:///{tmp_path / 'state.db'}"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert listed.exit_code == 0, listed.output
    assert "CM-3002 -100.00" in listed.output


def test_the_memo_is_consumed_once_and_named_in_the_payment_memo() -> None:
    items = [
        inv("INV-3001", "C1", "1000.00"),
        inv("INV-3005", "C1", "500.00"),
        inv("CM-3002", "C1", "-100.00"),
    ]
    lines = [
        pay("P1", "900.00", name="Acme Corp", text="INV-3001 CM-3002"),
        pay("P2", "400.00", name="Acme Corp", text="INV-3005 CM-3002"),
    ]
    first, second = apply_cash(lines, items, ACME).lines
    assert first.proposal is not None and first.proposal.rule == Rule.REFERENCE_CREDIT
    assert applied(first) == {"INV-3001": "1000.00", "CM-3002": "-100.00"}
    assert first.remainder.is_zero() and first.exceptions == ()
    # the memo is used up: the second line is judged on its invoice alone (short 100)
    assert second.proposal is not None and "CM-3002" not in applied(second)
    assert applied(second) == {"INV-3005": "400.00"} and categories(second) == ["SHORT_PAY"]
    (intent,) = applications_to_intents([first], target_system="zuora")
    apps = intent.payload["applications"]
    assert [(a["invoice_number"], a["amount"]["amount"]) for a in apps] == [
        ("INV-3001", "1000.00"),
        ("CM-3002", "-100.00"),
    ]
    assert "credit memo CM-3002 100.00 USD netted" in intent.payload["extra"]["memo"]


@pytest.mark.parametrize(
    ("amount", "text", "expected", "rule"),
    [
        # the memo not named: unchanged, the invoice's reference rules decide
        ("1000.00", "INV-3001", {"INV-3001": "1000.00"}, Rule.REFERENCE),
        # named, but the payment ignores it: paid in full, the memo stays open
        ("1000.00", "INV-3001 CM-3002", {"INV-3001": "1000.00"}, Rule.REFERENCE),
        # named, not the net: judged without it (short beyond tolerance)
        ("950.00", "INV-3001 CM-3002", {"INV-3001": "950.00"}, Rule.REFERENCE_SHORT),
    ],
)
def test_a_memo_is_netted_only_for_exactly_the_net(
    amount: str, text: str, expected: dict[str, str], rule: Rule
) -> None:
    items = [inv("INV-3001", "C1", "1000.00"), inv("CM-3002", "C1", "-100.00")]
    (line,) = apply_cash([pay("P1", amount, name="Acme Corp", text=text)], items, ACME).lines
    assert line.proposal is not None and line.proposal.rule == rule
    assert applied(line) == expected


def test_amounts_alone_never_use_a_memo() -> None:
    """An unreferenced 900.00 is no unique amount or combination (a memo takes no part)."""
    items = [inv("INV-3001", "C1", "1000.00"), inv("CM-3002", "C1", "-100.00")]
    (line,) = apply_cash([pay("P1", "900.00", name="Acme Corp")], items, ACME).lines
    assert line.proposal is None and categories(line) == ["UNIDENTIFIED_INVOICE"]


def test_another_customers_memo_is_not_netted() -> None:
    items = [inv("INV-3001", "C1", "1000.00"), inv("CM-3002", "C2", "-100.00")]
    (line,) = apply_cash(
        [pay("P1", "900.00", name="Acme Corp", text="INV-3001 CM-3002")], items, ACME
    ).lines
    assert line.proposal is not None and "CM-3002" not in applied(line)


def test_remaining_consumes_a_memo_at_most_once() -> None:
    memo = Item("CM-1", "C1", "USD", -10_000, date(2024, 1, 1), None)
    left = Remaining()
    with pytest.raises(AssertionError):
        left.consume(memo, 5_000)  # a positive application to a memo
    left.consume(memo, -10_000)
    assert left.of(memo) == 0
    with pytest.raises(AssertionError):
        left.consume(memo, -1)


@st.composite
def _batches(draw: st.DrawFn) -> tuple[list[CashLine], list[OpenItem]]:
    n_items = draw(st.integers(1, 10))
    items = []
    for i in range(n_items):
        credit = draw(st.booleans())
        minor = draw(st.integers(1, 30_000))
        items.append(
            OpenItem(
                f"{'CM' if credit else 'INV'}-{1000 + i}",
                draw(st.sampled_from(["C1", "C2"])),
                Money.from_minor(-minor if credit else minor, "USD"),
                date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 60))),
            )
        )
    lines = []
    for j in range(draw(st.integers(1, 6))):
        named = draw(
            st.lists(st.sampled_from(items), max_size=3, unique_by=lambda i: i.invoice_number)
        )
        net = sum((i.open_amount.amount for i in named), Decimal(0))
        amount = (
            net
            if net > 0 and draw(st.booleans())
            else Money.from_minor(draw(st.integers(1, 40_000)), "USD").amount
        )
        lines.append(
            CashLine(
                f"L{j}",
                date(2024, 3, 1) + timedelta(days=draw(st.integers(0, 3))),
                Money(amount, "USD"),
                draw(st.sampled_from(["Acme Industries", "GLOBEX CORP", None])),
                None,
                " ".join(i.invoice_number for i in named),
            )
        )
    return lines, items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_batches(), st.randoms(use_true_random=False))
def test_memos_never_over_apply_and_only_net(
    batch: tuple[list[CashLine], list[OpenItem]], rnd: random.Random
) -> None:
    lines, items = batch
    result = apply_cash(lines, items, CUSTOMERS)
    open_amounts = {i.invoice_number: i.open_amount.amount for i in items}
    used: dict[str, Decimal] = {}
    for r in result.lines:
        if r.proposal is None:
            continue
        assert r.proposal.applied <= r.line.amount.amount
        for a in r.proposal.applications:
            if open_amounts[a.invoice_number] < 0:  # a memo: consumed whole, by netting
                assert r.proposal.rule == Rule.REFERENCE_CREDIT
                assert a.amount.amount == open_amounts[a.invoice_number]
            else:
                assert a.amount.amount >= 0
            taken = a.amount.amount + (a.deduction.amount if a.deduction else 0)
            used[a.invoice_number] = used.get(a.invoice_number, Decimal(0)) + taken
        if r.proposal.rule == Rule.REFERENCE_CREDIT:
            assert r.remainder.is_zero()
    for number, total in used.items():
        bound = open_amounts[number]
        assert (0 <= total <= bound) if bound > 0 else (bound <= total <= 0)
    shuffled_lines, shuffled_items = list(lines), list(items)
    rnd.shuffle(shuffled_lines)
    rnd.shuffle(shuffled_items)
    again = apply_cash(shuffled_lines, shuffled_items, CUSTOMERS)
    key = sorted((r.line.line_id, r.proposal and r.proposal.proposal_id) for r in result.lines)
    assert key == sorted(
        (r.line.line_id, r.proposal and r.proposal.proposal_id) for r in again.lines
    )


def test_a_suggested_netting_holds_the_memo() -> None:
    """Digit-only references (no invoice label) are weak: a suggestion, which still holds
    the memo so no later line consumes it."""
    items = [inv("1500", "C1", "1000.00"), inv("CM-3002", "C1", "-100.00")]
    lines = [
        pay("P1", "900.00", name="Acme Corp", text="1500 CM-3002"),
        pay("P2", "900.00", name="Acme Corp", text="1500 CM-3002", day=date(2024, 3, 16)),
    ]
    first, second = apply_cash(lines, items, ACME).lines
    assert first.proposal is not None and first.proposal.rule == Rule.REFERENCE_CREDIT
    assert first.proposal.status == Status.SUGGESTED
    assert second.proposal is None or "CM-3002" not in applied(second)
