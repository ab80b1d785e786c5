"""Each tier of the cash-application cascade and each outcome."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import Money
from reconcile.cash import (
    CashLine,
    CashPolicy,
    LineResult,
    PartyRule,
    Rule,
    Status,
    apply_cash,
)

from .builders import CUSTOMERS, cust, inv, pay


def one(result_lines: tuple[LineResult, ...], line_id: str) -> LineResult:
    return next(r for r in result_lines if r.line.line_id == line_id)


def applied(r: LineResult) -> dict[str, str]:
    assert r.proposal is not None
    return {a.invoice_number: str(a.amount.amount) for a in r.proposal.applications}


def categories(r: LineResult) -> list[str]:
    return [e.category.value for e in r.exceptions]


# -- tier 1: references -------------------------------------------------------------------
def test_reference_forms_normalise_to_the_invoice() -> None:
    items = [inv("INV-000123", "C1", "100.00"), inv("INV-000124", "C1", "50.00")]
    for text in ("INV-000123", "inv 123", "Payment for 123 thanks", "INV#000123."):
        res = apply_cash([pay("L1", "100.00", text=text)], items, CUSTOMERS)
        r = res.lines[0]
        assert applied(r) == {"INV-000123": "100.00"}, text
        assert r.proposal is not None and r.proposal.rule == Rule.REFERENCE
        assert r.proposal.status == Status.AUTO
        assert r.proposal.flags.reference_match and r.proposal.flags.amount_match


def test_remittance_document_numbers_are_references() -> None:
    items = [inv("90001", "C2", "10.00"), inv("90002", "C2", "20.00"), inv("90003", "C2", "5.00")]
    line = pay("L1", "30.00", text="ACH CREDIT", docs=("90001", "90002"))
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"90001": "10.00", "90002": "20.00"}
    assert r.customer_id == "C2" and r.party_rule == PartyRule.REFERENCE
    assert r.exceptions == ()


def test_several_references_are_one_match_group_summing_to_the_payment() -> None:
    items = [inv(f"INV-{n}", "C3", amt) for n, amt in (("7001", "10.00"), ("7002", "15.50"))]
    r = apply_cash([pay("L1", "25.50", text="INV-7001 / INV-7002")], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and len(r.proposal.applications) == 2
    assert r.proposal.applied == Decimal("25.50") and r.remainder.is_zero()


def test_unique_subset_of_referenced_invoices_is_applied_exactly() -> None:
    items = [inv("INV-8001", "C3", "10.00"), inv("INV-8002", "C3", "40.00")]
    r = apply_cash([pay("L1", "40.00", text="INV-8001 INV-8002")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"INV-8002": "40.00"}
    assert r.proposal is not None and r.proposal.rule == Rule.REFERENCE_SUBSET


def test_short_pay_within_tolerance_books_a_deduction() -> None:
    items = [inv("INV-500", "C1", "100.00")]
    r = apply_cash([pay("L1", "98.00", text="INV-500")], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.rule == Rule.REFERENCE_SHORT_TOLERANCE
    app = r.proposal.applications[0]
    assert app.amount == Money("98.00", "USD") and app.deduction == Money("2.00", "USD")
    assert r.proposal.status == Status.AUTO and r.exceptions == ()


def test_fixed_short_pay_tolerance() -> None:
    items = [inv("INV-500", "C1", "1000.00")]
    policy = CashPolicy(short_pay_fixed=Decimal("5"), short_pay_percent=Decimal("0"))
    ok = apply_cash([pay("L1", "995.00", text="INV-500")], items, CUSTOMERS, policy=policy)
    assert ok.lines[0].proposal is not None
    assert ok.lines[0].proposal.rule == Rule.REFERENCE_SHORT_TOLERANCE
    beyond = apply_cash([pay("L1", "994.99", text="INV-500")], items, CUSTOMERS, policy=policy)
    assert categories(beyond.lines[0]) == ["SHORT_PAY"]


def test_short_pay_beyond_tolerance_is_an_exception_and_leaves_the_residual_open() -> None:
    items = [
        inv("INV-501", "C1", "100.00", issued=date(2024, 1, 1)),
        inv("INV-502", "C1", "100.00", issued=date(2024, 2, 1)),
    ]
    r = apply_cash([pay("L1", "150.00", text="INV-501 INV-502")], items, CUSTOMERS).lines[0]
    assert categories(r) == ["SHORT_PAY"]
    assert r.exceptions[0].amount == Money("50.00", "USD")
    # oldest first, the newer invoice keeps 50.00 open; two invoices -> a suggestion
    assert applied(r) == {"INV-501": "100.00", "INV-502": "50.00"}
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED


def test_overpayment_applies_in_full_and_puts_the_rest_on_account() -> None:
    items = [inv("INV-600", "C2", "80.00")]
    r = apply_cash([pay("L1", "100.00", text="INV-600")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"INV-600": "80.00"}
    assert r.proposal is not None and r.proposal.on_account == Money("20.00", "USD")
    assert categories(r) == ["OVERPAY"] and r.remainder == Money("20.00", "USD")


def test_references_to_two_customers_that_both_fit_are_ambiguous() -> None:
    items = [inv("A-4711", "C1", "50.00"), inv("B-4711", "C2", "50.00")]
    r = apply_cash([pay("L1", "50.00", text="4711")], items, CUSTOMERS).lines[0]
    assert categories(r) == ["AMBIGUOUS"] and r.proposal is None


def test_the_identified_payer_settles_references_to_two_customers() -> None:
    items = [inv("A-4711", "C1", "50.00"), inv("B-4711", "C2", "50.00")]
    line = pay("L1", "50.00", text="4711", account="DE89 3704 0044 0532 0130 00")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"A-4711": "50.00"} and r.party_rule == PartyRule.ACCOUNT
    assert r.proposal is not None and r.proposal.flags.party_match


def test_digits_of_someone_elses_invoice_do_not_hijack_an_identified_payer() -> None:
    # "2024" in the memo is the year; INV-2024 belongs to another customer
    items = [inv("INV-2024", "C2", "999.00"), inv("X-1", "C1", "120.00")]
    line = pay("L1", "120.00", text="march 2024 fees", name="ACME INDUSTRIES")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"X-1": "120.00"} and r.proposal is not None
    assert r.proposal.rule == Rule.UNIQUE_AMOUNT


# -- tier 2: customer identification -----------------------------------------------------
def test_customer_by_bank_account_then_name_hash() -> None:
    items = [inv("X-1", "C1", "120.00"), inv("X-2", "C2", "130.00")]
    lines = [
        pay("L1", "120.00", account="de89370400440532013000", name="somebody else"),
        pay("L2", "130.00", name="GLOBEX CORP."),
    ]
    res = apply_cash(lines, items, CUSTOMERS)
    assert (one(res.lines, "L1").customer_id, one(res.lines, "L1").party_rule) == (
        "C1",
        PartyRule.ACCOUNT,
    )
    assert (one(res.lines, "L2").customer_id, one(res.lines, "L2").party_rule) == (
        "C2",
        PartyRule.NAME,
    )


def test_blocked_fuzzy_finds_a_typo_outside_the_block_prefix() -> None:
    items = [inv("X-5", "C5", "77.00")]
    r = apply_cash([pay("L1", "77.00", name="Stark Manufacturng")], items, CUSTOMERS).lines[0]
    assert r.customer_id == "C5" and r.party_rule == PartyRule.FUZZY
    assert r.proposal is not None and r.proposal.confidence < Decimal("0.9")


def test_fuzzy_never_scores_customers_outside_the_blocks() -> None:
    # every blocking key of the payer name differs from the customer's ("Xtark Xanufacturing")
    items = [inv("X-5", "C5", "77.00")]
    r = apply_cash([pay("L1", "77.00", name="Xtark Xanufacturing")], items, CUSTOMERS).lines[0]
    assert r.customer_id is None and categories(r) == ["UNAPPLIED"]


def test_fuzzy_tie_between_two_customers_is_rejected() -> None:
    customers = [cust("K1", "Northwind Traders 1"), cust("K2", "Northwind Traders 2")]
    items = [inv("X-1", "K1", "10.00"), inv("X-2", "K2", "10.00")]
    r = apply_cash([pay("L1", "10.00", name="Northwind Traders")], items, customers).lines[0]
    assert r.customer_id is None and categories(r) == ["AMBIGUOUS"]
    assert r.exceptions[0].details["candidates"] == "K1,K2"


def test_unknown_payer_is_unapplied() -> None:
    r = apply_cash([pay("L1", "10.00", name="Nobody Known")], [], CUSTOMERS).lines[0]
    assert categories(r) == ["UNAPPLIED"] and r.remainder == Money("10.00", "USD")


# -- tiers 3 and 4: amounts -------------------------------------------------------------
def test_unique_amount_within_the_customer_and_window() -> None:
    items = [
        inv("X-1", "C4", "300.00"),
        inv("X-2", "C4", "310.00"),
        inv("X-3", "C4", "310.00", issued=date(2022, 1, 1)),  # outside the look-back window
    ]
    r = apply_cash([pay("L1", "310.00", name="Umbrella Ltd")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"X-2": "310.00"}
    assert r.proposal is not None and r.proposal.rule == Rule.UNIQUE_AMOUNT
    assert r.proposal.flags.amount_match and not r.proposal.flags.reference_match


def test_two_equal_amounts_give_a_suggestion_of_the_oldest_not_an_auto_match() -> None:
    items = [
        inv("X-2", "C4", "50.00", issued=date(2024, 2, 1)),
        inv("X-1", "C4", "50.00", issued=date(2024, 1, 1)),
    ]
    r = apply_cash([pay("L1", "50.00", name="Umbrella")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"X-1": "50.00"}
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert categories(r) == ["AMBIGUOUS"]


def test_unique_subset_sum_is_automatic() -> None:
    items = [inv("S-1", "C3", "10.00"), inv("S-2", "C3", "25.00"), inv("S-3", "C3", "40.00")]
    r = apply_cash([pay("L1", "50.00", name="Initech")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"S-1": "10.00", "S-3": "40.00"}
    assert r.proposal is not None and r.proposal.rule == Rule.SUBSET_SUM
    assert r.proposal.status == Status.AUTO


def test_ambiguous_subset_sum_is_only_a_suggestion_preferring_the_oldest() -> None:
    items = [
        inv("S-1", "C3", "10.00", issued=date(2024, 1, 1)),
        inv("S-2", "C3", "20.00", issued=date(2024, 1, 2)),
        inv("S-3", "C3", "15.00", issued=date(2024, 1, 3)),
        inv("S-4", "C3", "5.00", issued=date(2024, 1, 4)),
    ]
    r = apply_cash([pay("L1", "30.00", name="Initech")], items, CUSTOMERS).lines[0]
    # 10 + 20 and 10 + 15 + 5 both reach 30.00; 10 + 20 holds the older second invoice
    assert applied(r) == {"S-1": "10.00", "S-2": "20.00"}
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert categories(r) == ["AMBIGUOUS"]


def test_single_exact_amount_wins_over_a_combination() -> None:
    items = [inv("S-1", "C3", "10.00"), inv("S-2", "C3", "20.00"), inv("S-3", "C3", "30.00")]
    r = apply_cash([pay("L1", "30.00", name="Initech")], items, CUSTOMERS).lines[0]
    assert applied(r) == {"S-3": "30.00"}
    assert r.proposal is not None and r.proposal.rule == Rule.UNIQUE_AMOUNT


def test_subset_sum_only_looks_at_the_oldest_twenty_items() -> None:
    items = [inv(f"S-{i:02d}", "C3", "1000.00", issued=date(2024, 1, 1 + i)) for i in range(25)]
    items.append(inv("S-99", "C3", "0.01", issued=date(2024, 3, 1)))  # the 26th, newest
    r = apply_cash([pay("L1", "1000.01", name="Initech")], items, CUSTOMERS).lines[0]
    assert r.proposal is None and categories(r) == ["UNIDENTIFIED_INVOICE"]
    wide = CashPolicy(subset_max_items=30)
    r2 = apply_cash([pay("L1", "1000.01", name="Initech")], items, CUSTOMERS, policy=wide)
    assert r2.lines[0].proposal is not None


def test_known_customer_without_a_matching_amount_is_unidentified_invoice() -> None:
    items = [inv("X-1", "C2", "10.00")]
    r = apply_cash([pay("L1", "11.00", name="Globex")], items, CUSTOMERS).lines[0]
    assert categories(r) == ["UNIDENTIFIED_INVOICE"] and r.customer_id == "C2"


def test_currencies_never_mix() -> None:
    items = [inv("INV-900", "C1", "100.00", ccy="EUR")]
    r = apply_cash(
        [pay("L1", "100.00", text="INV-900", name="Acme Industries Inc")], items, CUSTOMERS
    ).lines[0]
    # and the invoice the payment names in another currency is reported, not passed over
    assert r.proposal is None and categories(r) == ["UNIDENTIFIED_INVOICE", "CURRENCY_MISMATCH"]


# -- run-wide rules -----------------------------------------------------------------------
def test_two_payments_never_apply_more_than_an_invoice_is_open() -> None:
    items = [inv("INV-700", "C1", "100.00")]
    lines = [
        pay("L1", "100.00", text="INV-700"),
        pay("L2", "100.00", text="INV-700", name="Acme Industries"),
    ]
    res = apply_cash(lines, items, CUSTOMERS)
    assert applied(one(res.lines, "L1")) == {"INV-700": "100.00"}
    second = one(res.lines, "L2")
    # not "no invoice fits": the invoice it names was paid by L1 (a duplicate payment?)
    assert second.proposal is None and categories(second) == ["ALREADY_APPLIED"]


def test_a_rejected_suggestion_does_not_come_back() -> None:
    items = [inv("X-1", "C4", "50.00", issued=date(2024, 1, 1)), inv("X-2", "C4", "50.00")]
    line = pay("L1", "50.00", name="Umbrella")
    first = apply_cash([line], items, CUSTOMERS).lines[0]
    assert first.proposal is not None
    again = apply_cash([line], items, CUSTOMERS, rejected={first.proposal.proposal_id})
    r = again.lines[0]
    assert r.proposal is None
    assert r.exceptions[0].details == {"cause": "previously_rejected"}


def test_a_rejected_reference_match_falls_back_to_the_amount_tiers() -> None:
    items = [inv("INV-100", "C2", "70.00"), inv("Z-2", "C2", "70.00", issued=date(2024, 1, 5))]
    line = pay("L1", "70.00", text="INV-100", name="Globex")
    first = apply_cash([line], items, CUSTOMERS).lines[0]
    assert first.proposal is not None and applied(first) == {"INV-100": "70.00"}
    again = apply_cash([line], items, CUSTOMERS, rejected={first.proposal.proposal_id}).lines[0]
    assert again.proposal is not None
    assert again.proposal.proposal_id != first.proposal.proposal_id
    assert "INV-100" not in applied(again)


def test_weak_reference_that_does_not_fit_is_only_a_late_suggestion() -> None:
    # digits only, payer unknown, 40% short: could be noise, so not automatic
    items = [inv("INV-000777", "C2", "100.00")]
    r = apply_cash([pay("L1", "60.00", text="ref 777")], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert r.proposal.rule == Rule.REFERENCE_SHORT and categories(r) == ["SHORT_PAY"]
    # the same digits with the full number are trusted
    strong = apply_cash([pay("L1", "60.00", text="INV-777")], items, CUSTOMERS).lines[0]
    assert strong.proposal is not None and strong.proposal.status == Status.AUTO


def test_learned_alias_identifies_the_customer() -> None:
    items = [inv("X-9", "C3", "45.00")]
    line = pay("L1", "45.00", name="IT DEPT PAYABLES 0042")
    assert apply_cash([line], items, CUSTOMERS).lines[0].customer_id is None
    r = apply_cash([line], items, CUSTOMERS, aliases={"It Dept Payables 0042": "C3"}).lines[0]
    assert r.customer_id == "C3" and r.party_rule == PartyRule.ALIAS
    assert applied(r) == {"X-9": "45.00"}


def test_remittance_reason_code_is_the_deduction_reason() -> None:
    items = [inv("INV-500", "C1", "100.00")]
    line = pay("L1", "99.00", text="INV-500")
    coded = CashLine(**{**{f: getattr(line, f) for f in line.__slots__}, "deduction_reason": "01"})
    r = apply_cash([coded], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.deduction_reason == "01"


def test_short_invoice_numbers_match_only_in_full() -> None:
    items = [inv("INV-7", "C1", "70.00"), inv("CM-7", "C2", "70.00")]
    for text in ("INV-7", "paid inv 7"):
        r = apply_cash([pay("L1", "70.00", text=text)], items, CUSTOMERS).lines[0]
        assert applied(r) == {"INV-7": "70.00"}, text
    bare = apply_cash([pay("L1", "70.00", text="7")], items, CUSTOMERS).lines[0]
    assert bare.proposal is None  # a lone short number is noise
