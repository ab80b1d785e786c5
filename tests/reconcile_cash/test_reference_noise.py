"""Numbers in bank text that are not invoice references: amounts, dates, check, PO and
BAI type codes must never move cash automatically, above all not to another customer."""

from __future__ import annotations

from datetime import date

from reconcile.cash import CashPolicy, Rule, Status, apply_cash
from reconcile.cash.normalize import reference_tokens

from .builders import CUSTOMERS, cust, inv, pay
from .test_cascade import applied, categories

#: C1's account, as the bank writes it
ACME_ACCOUNT = "DE89 3704 0044 0532 0130 00"
HOOLI = [*CUSTOMERS, cust("H", "Hooli Inc")]
#: QuickBooks-style all-digit invoice numbers
HOOLI_ITEMS = [
    inv("1498", "H", "2000.00"),
    inv("1500", "H", "750.00"),
    inv("1502", "H", "1500.00"),
    inv("2025", "H", "99.00"),
    inv("1503", "H", "1234.56"),
]


def test_amounts_dates_and_labelled_numbers_are_not_references() -> None:
    for text in (
        "ACH CCD HOOLI INC PMT AMT 1500.00",
        "AMT 1,124.81",
        "HOOLI AP RUN 01/31/2025",
        "VALUE 2025-02-03",
        "PO 1500",
        "PO#1500",
        "CHECK NO 1500",
        "CO ID 1234567890",
    ):
        assert not reference_tokens(text).digits, text
    labelled = reference_tokens("Invoice #125, #126 and INV1500").labelled
    assert labelled >= {"125", "126", "1500"}
    assert not reference_tokens("payment 1500").labelled


def test_an_amount_date_or_po_in_the_memo_leaves_the_unique_amount_to_decide() -> None:
    lines = [
        pay("Q1", "1500.00", name="HOOLI INC", text="ACH CCD HOOLI INC PMT AMT 1500.00"),
        pay("Q2", "2000.00", name="HOOLI INC", text="HOOLI AP RUN 01/31/2025"),
        pay("Q3", "1234.56", name="HOOLI INC", text="PO 1500"),
    ]
    res = apply_cash(lines, HOOLI_ITEMS, HOOLI)
    got = {r.line.line_id: (applied(r), r.proposal.rule) for r in res.lines if r.proposal}
    assert got == {
        "Q1": ({"1502": "1500.00"}, Rule.UNIQUE_AMOUNT),
        "Q2": ({"1498": "2000.00"}, Rule.UNIQUE_AMOUNT),
        "Q3": ({"1503": "1234.56"}, Rule.UNIQUE_AMOUNT),
    }


def test_a_bai_type_code_that_does_not_fit_is_not_trusted_for_a_known_payer() -> None:
    items = [inv("INV-000165", "C2", "400.00"), inv("INV-000412", "C2", "2480.00")]
    text = "165 PREAUTHORIZED ACH CREDIT CO ID 1234567890"
    r = apply_cash([pay("B1", "2480.00", name="Globex", text=text)], items, CUSTOMERS).lines[0]
    assert applied(r) == {"INV-000412": "2480.00"}
    assert r.proposal is not None and r.proposal.rule == Rule.UNIQUE_AMOUNT


def test_an_amount_without_its_point_is_not_another_customers_invoice() -> None:
    items = [inv("101222", "C1", "1124.81"), inv("112481", "C2", "356.52")]
    text = "WIRE IN 964152421692165 AMT 1124.81 VALUE 2025-02-03"
    line = pay("W1", "1124.81", account=ACME_ACCOUNT, text=text)
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"101222": "1124.81"} and r.customer_id == "C1"


def test_a_check_number_equal_to_another_customers_invoice_does_not_take_the_cash() -> None:
    items = [inv("107996", "C2", "500.00"), inv("A-1", "C1", "1976.86")]
    line = pay("K1", "1976.86", account=ACME_ACCOUNT, text="107996")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"A-1": "1976.86"} and r.customer_id == "C1"


def test_a_bare_number_of_an_unknown_payer_is_at_most_a_suggestion() -> None:
    items = [*HOOLI_ITEMS, inv("PP-1", "C4", "9000.00")]
    r = apply_cash([pay("L1", "9000.00", name="BACHMAN CAPITAL", text="1500")], items, HOOLI)
    r0 = r.lines[0]
    assert r0.proposal is None or r0.proposal.status == Status.SUGGESTED
    # written as an invoice number it is trusted: the overpayment goes on account
    labelled = apply_cash([pay("L1", "800.00", text="INV 1500")], HOOLI_ITEMS, HOOLI).lines[0]
    assert labelled.proposal is not None and labelled.proposal.status == Status.AUTO
    assert labelled.proposal.rule == Rule.REFERENCE_OVER and applied(labelled) == {"1500": "750.00"}


def test_a_reference_to_another_customers_invoice_waits_for_a_person() -> None:
    items = [inv("INV-000301", "C1", "1200.00"), inv("INV-000302", "C2", "1200.00")]
    line = pay("X1", "1200.00", account=ACME_ACCOUNT, text="INV-000302")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert not r.proposal.flags.party_match and r.proposal.confidence < 0.6
    assert categories(r) == ["AMBIGUOUS"]
    assert r.exceptions[0].details == {"payer_customer_id": "C1"}


def test_a_weak_reference_of_a_known_payer_that_does_not_fit_is_not_automatic() -> None:
    # "ref 777" is only digits: 40% short of the invoice, so a suggestion at most
    items = [inv("INV-000777", "C2", "100.00")]
    line = pay("L1", "60.00", name="Globex", text="ref 777")
    r = apply_cash([line], items, CUSTOMERS, policy=CashPolicy()).lines[0]
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED


def test_a_combination_unique_only_among_the_oldest_items_is_a_suggestion() -> None:
    # 24 open items; 1+2 and 21+22 both pay 300.00, but only the oldest 20 are searched
    items = [
        inv(
            f"HX-{i:04d}",
            "C3",
            "100.00" if i in (1, 21) else "200.00" if i in (2, 22) else f"{1000 + i}.00",
            issued=date(2024, 1, i),
        )
        for i in range(1, 25)
    ]
    r = apply_cash([pay("L1", "300.00", name="Initech")], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.rule == Rule.SUBSET_SUM
    assert r.proposal.status == Status.SUGGESTED and categories(r) == ["AMBIGUOUS"]
    assert applied(r) == {"HX-0001": "100.00", "HX-0002": "200.00"}
    few = [it for it in items if it.invoice_number <= "HX-0020"]
    again = apply_cash([pay("L1", "300.00", name="Initech")], few, CUSTOMERS).lines[0]
    assert again.proposal is not None and again.proposal.status == Status.AUTO


def test_names_with_letters_nfkd_keeps_and_german_transliteration_are_identified() -> None:
    customers = [
        cust("N1", "Ørsted Wind Power A/S"),
        cust("N2", "Łódź Logistics Sp. z o.o."),
        cust("N3", "Færch Plast A/S"),
        cust("N4", "Müller GmbH"),
        cust("N5", "Großmann AG"),
    ]
    items = [inv(f"I-{i}", f"N{i}", f"{100 * i}.00") for i in range(1, 6)]
    payers = [
        "ORSTED WIND POWER A/S",
        "LODZ LOGISTICS SP. Z O.O.",
        "FAERCH PLAST A/S",
        "MUELLER GMBH",
        "GROSSMANN AG",
    ]
    lines = [pay(f"L{i}", f"{100 * i}.00", name=n) for i, n in enumerate(payers, start=1)]
    res = apply_cash(lines, items, customers)
    assert {r.line.line_id: r.customer_id for r in res.lines} == {
        f"L{i}": f"N{i}" for i in range(1, 6)
    }
    plain = apply_cash([pay("L4", "400.00", name="MULLER GMBH")], items, customers).lines[0]
    assert plain.customer_id == "N4"
    # a typo on top of the transliteration still goes through the blocked fuzzy tier
    typo = apply_cash([pay("L4", "400.00", name="MUELLLER GMBH")], items, customers).lines[0]
    assert typo.customer_id == "N4"


def test_a_shared_bank_account_is_settled_by_the_payer_name() -> None:
    customers = [
        cust("E", "Acme East Inc", "GB29NWBK60161331926819"),
        cust("W", "Acme West Inc", "GB29 NWBK 6016 1331 9268 19"),
    ]
    items = [inv("E-1", "E", "10.00"), inv("W-1", "W", "20.00")]
    line = pay("L1", "20.00", name="ACME WEST INC", account="GB29NWBK60161331926819")
    r = apply_cash([line], items, customers).lines[0]
    assert r.customer_id == "W" and applied(r) == {"W-1": "20.00"}
    # the name does not settle it: only W has an open amount that fits, offered as a
    # suggestion (never automatic) beside the AMBIGUOUS exception naming both
    other = pay("L1", "20.00", name="ACME TREASURY", account="GB29NWBK60161331926819")
    r2 = apply_cash([other], items, customers).lines[0]
    assert categories(r2) == ["AMBIGUOUS"] and r2.exceptions[0].details["candidates"] == "E,W"
    assert r2.proposal is not None and r2.proposal.status == Status.SUGGESTED
    assert r2.customer_id == "W" and applied(r2) == {"W-1": "20.00"}
    neither = pay("L1", "30.00", name="ACME TREASURY", account="GB29NWBK60161331926819")
    r3 = apply_cash([neither], items, customers).lines[0]
    assert r3.customer_id is None and r3.proposal is None and categories(r3) == ["AMBIGUOUS"]


def test_a_suggestion_nobody_accepted_does_not_make_a_later_line_automatic() -> None:
    items = [
        inv("SO-5001", "C4", "1800.00", issued=date(2024, 1, 1)),
        inv("SO-5002", "C4", "1800.00", issued=date(2024, 1, 2)),
        inv("SO-5003", "C4", "250.00", issued=date(2024, 1, 3)),
    ]
    # D1 fits 5001 or 5002: a suggestion of the oldest, which holds 5001; D2 fits 5001+5003
    # or 5002+5003, so it is no more certain than D1
    lines = [
        pay("D1", "1800.00", name="Umbrella", day=date(2024, 3, 1)),
        pay("D2", "2050.00", name="Umbrella", day=date(2024, 3, 2)),
    ]
    res = apply_cash(lines, items, CUSTOMERS)
    statuses = {r.line.line_id: r.proposal.status for r in res.lines if r.proposal}
    assert statuses == {"D1": Status.SUGGESTED, "D2": Status.SUGGESTED}
    # and neither proposes money another proposal already holds
    d2 = next(r for r in res.lines if r.line.line_id == "D2")
    assert "SO-5001" not in applied(d2)
    alone = apply_cash(lines[1:], items[1:], CUSTOMERS).lines[0]
    assert alone.proposal is not None and alone.proposal.status == Status.AUTO


def test_a_reference_to_an_invoice_in_another_currency_is_reported_not_passed_over() -> None:
    items = [
        inv("INV-000901", "C1", "5000.00", ccy="USD"),
        inv("INV-000902", "C1", "4600.00", ccy="EUR"),
    ]
    line = pay("M1", "4600.00", ccy="EUR", name="Acme Industries", text="INV-000901")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    # the amount fits the EUR invoice, but the remittance names the USD one: a person decides
    assert r.proposal is not None and r.proposal.status == Status.SUGGESTED
    assert applied(r) == {"INV-000902": "4600.00"}
    assert categories(r) == ["CURRENCY_MISMATCH"]
    assert r.exceptions[0].invoice_numbers == ("INV-000901",)
    nothing = apply_cash([pay("M2", "10.00", ccy="EUR", text="INV-000901")], items, CUSTOMERS)
    assert categories(nothing.lines[0]) == ["UNAPPLIED", "CURRENCY_MISMATCH"]


def test_amounts_the_remittance_states_per_invoice_are_applied_as_stated() -> None:
    items = [
        inv("INV-000201", "C2", "500.00", issued=date(2024, 1, 1)),
        inv("INV-000202", "C2", "600.00", issued=date(2024, 1, 2)),
        inv("INV-000203", "C2", "1000.00", issued=date(2024, 1, 3)),
        inv("INV-000204", "C2", "1000.00", issued=date(2024, 1, 4)),
    ]
    rmr = "RMR*IV*INV-000201*PO*400.00\\RMR*IV*INV-000202*PO*600.00"
    lines = [
        pay("R1", "1000.00", name="Globex", text=rmr),
        pay(
            "R2",
            "1,990.00".replace(",", ""),
            name="Globex",
            text="INV-000203 990.00; INV-000204 1,000.00",
        ),
    ]
    res = apply_cash(lines, items, CUSTOMERS)
    r1, r2 = res.lines
    assert applied(r1) == {"INV-000201": "400.00", "INV-000202": "600.00"}
    assert r1.proposal is not None and r1.proposal.rule == Rule.REFERENCE_REMITTANCE
    # 100.00 short on 201 is beyond tolerance: it stays open, reported
    assert categories(r1) == ["SHORT_PAY"] and r1.exceptions[0].invoice_numbers == ("INV-000201",)
    # 10.00 short on 203 is within tolerance: that invoice's deduction, not 204's
    assert r2.proposal is not None and r2.proposal.status == Status.AUTO
    deductions = {a.invoice_number: a.deduction for a in r2.proposal.applications}
    assert applied(r2) == {"INV-000203": "990.00", "INV-000204": "1000.00"}
    assert deductions["INV-000204"] is None
    assert deductions["INV-000203"] is not None and str(deductions["INV-000203"].amount) == "10.00"


def test_structured_remittance_amounts_count_as_stated() -> None:
    from decimal import Decimal

    from reconcile.cash import CashLine

    items = [inv("90001", "C2", "100.00"), inv("90002", "C2", "200.00")]
    base = pay("L1", "250.00", name="Globex", docs=("90001", "90002"))
    paid = (("90001", Decimal("50.00")), ("90002", Decimal("200.00")))
    line = CashLine(**{**{f: getattr(base, f) for f in base.__slots__}, "doc_amounts": paid})
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert applied(r) == {"90001": "50.00", "90002": "200.00"}
    assert categories(r) == ["SHORT_PAY"]


def test_a_short_pay_within_tolerance_is_deducted_from_the_largest_invoice() -> None:
    items = [inv("INV-001201", "C2", "10000.00"), inv("INV-001202", "C2", "100.00")]
    line = pay("T1", "9950.00", name="Globex", text="INV-001201 INV-001202")
    r = apply_cash([line], items, CUSTOMERS).lines[0]
    assert r.proposal is not None and r.proposal.rule == Rule.REFERENCE_SHORT_TOLERANCE
    cuts = {a.invoice_number: (str(a.amount.amount), a.deduction) for a in r.proposal.applications}
    # 150.00 short: off the 10,000 invoice, not a whole small invoice written off
    assert cuts["INV-001202"] == ("100.00", None)
    assert cuts["INV-001201"][0] == "9850.00"
    assert cuts["INV-001201"][1] is not None and str(cuts["INV-001201"][1].amount) == "150.00"
