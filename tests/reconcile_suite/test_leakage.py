"""Leakage and hygiene checks on data with planted problems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical import (
    Address,
    BillingPeriod,
    Contact,
    Contract,
    ContractLine,
    Customer,
    Invoice,
    InvoiceLine,
    Money,
    TaxId,
)
from reconcile.suite.leakage import LeakagePolicy, leakage


def invoice(
    number: str,
    total: str,
    issued: date,
    *,
    customer: str = "C1",
    system: str = "netsuite",
    po: str | None = None,
    contract_line: str | None = "CL-1",
    service: date | None = None,
) -> Invoice:
    m = Money(total, "USD")
    line = InvoiceLine(
        line_number=1,
        amount=m,
        contract_line_id=contract_line,
        service_start=service or issued.replace(day=1),
        service_end=None,
    )
    return Invoice(
        source_system=system,
        source_id=f"{system}-{number}",
        number=number,
        customer_id=customer,
        issue_date=issued,
        currency="USD",
        subtotal=m,
        tax_total=Money("0", "USD"),
        total=m,
        po_number=po,
        lines=(line,),
    )


CONTRACT = Contract(
    source_system="salesforce",
    source_id="K-1",
    customer_id="C1",
    currency="USD",
    start_date=date(2024, 1, 1),
    end_date=date(2024, 12, 31),
    lines=(
        ContractLine(
            line_id="CL-1", sku="PLAT", quantity=Decimal(1), net_unit_price=Money("1000.00", "USD")
        ),
        ContractLine(
            line_id="CL-Q",
            sku="SUPPORT",
            quantity=Decimal(2),
            net_unit_price=Money("150.00", "USD"),
            billing_period=BillingPeriod.QUARTER,
        ),
    ),
)

INVOICES = [
    invoice("INV-1", "1000.00", date(2024, 1, 2)),
    invoice("INV-2", "1000.00", date(2024, 2, 1)),
    # March for CL-1 is missing (planted EXPECTED_CHARGE_NOT_BILLED)
    invoice("INV-4", "1000.00", date(2024, 4, 1)),
    invoice("Q-1", "300.00", date(2024, 1, 5), contract_line="CL-Q"),
    invoice("Q-2", "300.00", date(2024, 4, 3), contract_line="CL-Q"),
    # planted: exact duplicate (same number again) and a fuzzy one (same PO, +0.3%, 2 days)
    invoice("INV-2", "1000.00", date(2024, 2, 1)),
    invoice("X-77", "500.00", date(2024, 3, 10), po="PO-9", contract_line=None, customer="C2"),
    invoice("X-78", "501.50", date(2024, 3, 12), po="po-9 ", contract_line=None, customer="C2"),
    # not duplicates: same amount a month apart; same amount, other PO
    invoice("X-90", "500.00", date(2024, 4, 20), po="PO-10", contract_line=None, customer="C2"),
    invoice("X-91", "500.00", date(2024, 4, 21), po="PO-11", contract_line=None, customer="C2"),
    # the NetSuite invoice INV-1 synced to Zuora is not a duplicate
    invoice("INV-1", "1000.00", date(2024, 1, 2), system="zuora"),
]


def cust(system: str, cid: str, **kw: object) -> Customer:
    return Customer(source_system=system, source_id=cid, name="Acme", **kw)  # type: ignore[arg-type]


ADDR = Contact(address=Address(line1="1 Main St", city="Springfield", country="US"))
A_SIDE = [
    cust(
        "salesforce",
        "A1",
        crosswalk={"netsuite": "N1"},
        currency="USD",
        payment_terms="Net 30",
        bill_to=ADDR,
        tax_ids=(TaxId(scheme="eu_vat", value="DE136695976"),),
    ),
    cust(
        "salesforce",
        "A2",
        currency="EUR",
        tax_ids=(TaxId(scheme="us_ein", value="04-2103594"),),
    ),
    cust("salesforce", "A3", tax_ids=(TaxId(scheme="eu_vat", value="DE136695977"),)),  # bad
]
B_SIDE = [
    cust(
        "netsuite",
        "N1",
        currency="USD",
        payment_terms="NET 30 ",
        bill_to=Contact(address=Address(line1="1 main st,", city="SPRINGFIELD", country="US")),
        tax_ids=(TaxId(scheme="eu_vat", value="DE 136 695 976"),),
    ),
    # joined the other way round: the NetSuite record knows the Salesforce id
    cust(
        "netsuite",
        "N2",
        crosswalk={"salesforce": "A2"},
        currency="USD",
        tax_ids=(TaxId(scheme="us_ein", value="00-0000000"),),
    ),
]


def test_planted_leakage_is_found_and_nothing_else() -> None:
    report = leakage(
        invoices=INVOICES,
        contracts=[CONTRACT],
        as_of=date(2024, 4, 30),
        customers_a=A_SIDE,
        customers_b=B_SIDE,
    )
    got = {(f.category, tuple(sorted(f.keys.items()))) for f in report.findings}
    assert got == {
        ("DUPLICATE", (("invoice_a", "netsuite:INV-2"), ("invoice_b", "netsuite:INV-2"))),
        ("DUPLICATE", (("invoice_a", "netsuite:X-77"), ("invoice_b", "netsuite:X-78"))),
        ("EXPECTED_CHARGE_NOT_BILLED", (("contract_line", "CL-1"), ("period", "2024-03"))),
        *{
            ("INVOICE_WITHOUT_CONTRACT", (("invoice_number", n), ("system", "netsuite")))
            for n in ("X-77", "X-78", "X-90", "X-91")
        },
        ("INVALID_TAX_ID", (("customer", "salesforce:A3"), ("scheme", "eu_vat"))),
        ("INVALID_TAX_ID", (("customer", "netsuite:N2"), ("scheme", "us_ein"))),
        *{
            (
                "CUSTOMER_MASTER_DRIFT",
                (("customer_a", "salesforce:A2"), ("customer_b", "netsuite:N2"), ("field", f)),
            )
            for f in ("currency", "tax_id")
        },
    }
    fuzzy = next(f for f in report.findings if f.keys.get("invoice_a") == "netsuite:X-77")
    assert fuzzy.details["match"] == "fuzzy"
    assert all(c["severity"] for c in report.to_exception_candidates())


def test_duplicate_window_and_amount_tolerance_are_policy() -> None:
    pair = [
        invoice("A", "100.00", date(2024, 1, 1), po="P"),
        invoice("B", "100.40", date(2024, 1, 8), po="P"),
    ]  # 7 days, 0.4% apart

    def dups(policy: LeakagePolicy | None) -> int:
        found = leakage(invoices=pair, contracts=[], as_of=date(2024, 1, 1), policy=policy)
        return sum(f.category == "DUPLICATE" for f in found.findings)

    assert dups(None) == 0  # default window is 5 days
    assert dups(LeakagePolicy(duplicate_window_days=10)) == 1
    assert dups(LeakagePolicy(duplicate_window_days=10, duplicate_amount_pct=Decimal("0.003"))) == 0


def test_cancelled_and_draft_contracts_expect_nothing_after_cancellation() -> None:
    from canonical import ContractStatus
    from reconcile.suite.leakage import expected_charges_not_billed

    cancelled = CONTRACT.model_copy(update={"cancellation_date": date(2024, 2, 15)})
    missing = expected_charges_not_billed([cancelled], INVOICES, date(2024, 6, 30))
    # CL-1 billed Jan, Feb; cancelled mid-February: no March-June expectations
    assert [(f.keys["contract_line"], f.keys["period"]) for f in missing] == []
    draft = CONTRACT.model_copy(update={"status": ContractStatus.DRAFT})
    assert expected_charges_not_billed([draft], [], date(2024, 6, 30)) == []
    active = expected_charges_not_billed([CONTRACT], INVOICES, date(2024, 6, 30))
    assert [(f.keys["contract_line"], f.keys["period"]) for f in active] == [
        ("CL-1", "2024-03"),
        ("CL-1", "2024-05"),
        ("CL-1", "2024-06"),
    ]


def test_a_cancelled_contract_still_owes_the_periods_before_its_cancellation() -> None:
    from canonical import ContractStatus
    from reconcile.suite.leakage import expected_charges_not_billed

    cancelled = CONTRACT.model_copy(
        update={"status": ContractStatus.CANCELLED, "cancellation_date": date(2024, 3, 31)}
    )
    missing = expected_charges_not_billed([cancelled], INVOICES, date(2024, 6, 30))
    # billed Jan and Feb; March was owed before the cancellation and never billed
    assert [(f.keys["contract_line"], f.keys["period"]) for f in missing] == [("CL-1", "2024-03")]
    undated = CONTRACT.model_copy(update={"status": ContractStatus.CANCELLED})
    assert expected_charges_not_billed([undated], [], date(2024, 6, 30)) == []


def test_invoice_lines_link_to_contract_lines_through_the_charges_they_bill() -> None:
    """A Zuora invoice export names the charge (C-…), not the CRM line: the subscription's
    charge does. Linked that way, billed periods are not reported as unbilled and the
    invoices are not 'without contract'."""
    from canonical import Subscription, SubscriptionCharge

    def by_charge(inv: Invoice, charge: str) -> Invoice:
        line = inv.lines[0].model_copy(update={"contract_line_id": None, "charge_number": charge})
        return inv.model_copy(update={"lines": (line,)})

    billed = [by_charge(i, "C-1") for i in INVOICES[:3]]  # CL-1: Jan, Feb, Apr
    sub = Subscription(
        source_system="zuora", source_id="S1", subscription_number="A-S1", customer_id="Z1",
        currency="USD", term_start=date(2024, 1, 1),
        charges=(SubscriptionCharge(charge_number="C-1", sku="PLAT", quantity=Decimal(1),
                                    unit_price=Money("1000.00", "USD"), contract_line_id="CL-1"),),
    )  # fmt: skip
    only_cl1 = CONTRACT.model_copy(update={"lines": CONTRACT.lines[:1]})
    unlinked = leakage(invoices=billed, contracts=[only_cl1], as_of=date(2024, 4, 30))
    assert sum(f.category == "INVOICE_WITHOUT_CONTRACT" for f in unlinked.findings) == 3
    linked = leakage(
        invoices=billed, contracts=[only_cl1], as_of=date(2024, 4, 30), subscriptions=[sub]
    )
    assert [(f.category, f.keys.get("period")) for f in linked.findings] == [
        ("EXPECTED_CHARGE_NOT_BILLED", "2024-03")
    ]


def test_a_fuzzy_duplicate_covers_the_same_service_months_not_only_the_first() -> None:
    from reconcile.suite.leakage import duplicate_invoices

    quarter = invoice("INV-10", "1000.00", date(2024, 1, 2), po="PO-1")
    quarter = quarter.model_copy(
        update={"lines": (quarter.lines[0].model_copy(update={"service_end": date(2024, 3, 31)}),)}
    )
    january = invoice("INV-12", "1000.00", date(2024, 1, 3))
    january = january.model_copy(
        update={"lines": (january.lines[0].model_copy(update={"service_end": date(2024, 1, 31)}),)}
    )
    assert duplicate_invoices([quarter, january], LeakagePolicy(duplicate_window_days=5)) == []


def test_an_up_front_invoice_bills_every_month_of_its_service_period() -> None:
    from reconcile.suite.leakage import expected_charges_not_billed

    year = invoice("INV-Y", "12000.00", date(2024, 1, 2))
    year = year.model_copy(
        update={"lines": (year.lines[0].model_copy(update={"service_end": date(2024, 12, 31)}),)}
    )
    only_cl1 = CONTRACT.model_copy(update={"lines": CONTRACT.lines[:1]})
    assert expected_charges_not_billed([only_cl1], [year], date(2024, 12, 31)) == []


def test_charges_link_to_contract_lines_by_booking_and_sku() -> None:
    from canonical import Subscription, SubscriptionCharge
    from reconcile.suite.leakage import link_to_contracts

    sub = Subscription(
        source_system="zuora", source_id="S1", subscription_number="A-S1", customer_id="Z1",
        currency="USD", term_start=date(2024, 1, 1), contract_ref="K-1",
        charges=(SubscriptionCharge(charge_number="C-9", sku="PLAT", quantity=Decimal(1),
                                    unit_price=Money("1000.00", "USD")),),
    )  # fmt: skip
    inv = invoice("INV-1", "1000.00", date(2024, 1, 2), contract_line=None)
    inv = inv.model_copy(
        update={"lines": (inv.lines[0].model_copy(update={"charge_number": "C-9"}),)}
    )
    (linked,) = link_to_contracts([inv], [sub], [CONTRACT])
    assert linked.lines[0].contract_line_id == "CL-1"


def _anniversary(billing: BillingPeriod, start: date, end: date) -> Contract:
    line = ContractLine(
        line_id="CL-A",
        sku="PLAT",
        quantity=Decimal(1),
        net_unit_price=Money("100.00", "USD"),
        billing_period=billing,
    )
    return Contract(
        source_system="salesforce",
        source_id="K-A",
        customer_id="C1",
        currency="USD",
        start_date=start,
        end_date=end,
        lines=(line,),
    )


def _billing(number: str, start: date, end: date, status: str = "posted") -> Invoice:
    m = Money("100.00", "USD")
    line = InvoiceLine(
        line_number=1, amount=m, contract_line_id="CL-A", service_start=start, service_end=end
    )
    return Invoice(
        source_system="zuora", source_id=number, number=number, customer_id="C1",
        issue_date=start, currency="USD", subtotal=m, tax_total=Money("0", "USD"), total=m,
        status=status, lines=(line,),
    )  # fmt: skip


def test_anniversary_billing_periods_follow_the_contract_lines_schedule() -> None:
    """Billed on the 15th: the invoice for Jan 15..Feb 14 touches February but bills only
    the period starting Jan 15; the period Feb 15..Mar 14 with no invoice is unbilled
    (was: every month an invoice touched counted as billed, so nothing was reported)."""
    from reconcile.suite.leakage import expected_charges_not_billed

    monthly = _anniversary(BillingPeriod.MONTH, date(2024, 1, 15), date(2024, 12, 14))
    invoices = [
        _billing("I-1", date(2024, 1, 15), date(2024, 2, 14)),
        _billing("I-3", date(2024, 3, 15), date(2024, 4, 14)),
        _billing("I-4", date(2024, 4, 15), date(2024, 5, 14)),
    ]
    # periods starting Jan 15, Feb 15, Mar 15, Apr 15 are due by Apr 20; Feb 15 is not billed
    found = expected_charges_not_billed([monthly], invoices, date(2024, 4, 20))
    assert [(f.keys["contract_line"], f.keys["period"]) for f in found] == [("CL-A", "2024-02")]

    quarterly = _anniversary(BillingPeriod.QUARTER, date(2024, 1, 15), date(2025, 1, 14))
    invoices = [
        _billing("Q-1", date(2024, 1, 15), date(2024, 4, 14)),
        _billing("Q-3", date(2024, 7, 15), date(2024, 10, 14)),
    ]
    # due by Aug 1: Jan 15, Apr 15, Jul 15; the Apr 15..Jul 14 quarter has no invoice
    found = expected_charges_not_billed([quarterly], invoices, date(2024, 8, 1))
    assert [f.keys["period"] for f in found] == ["2024-04"]

    # an annual up-front invoice bills every monthly period it serves; a draft bills none
    year = _billing("Y-1", date(2024, 1, 15), date(2025, 1, 14))
    assert expected_charges_not_billed([monthly], [year], date(2024, 12, 31)) == []
    draft = _billing("D-2", date(2024, 2, 15), date(2024, 3, 14), status="draft")
    found = expected_charges_not_billed([monthly], [draft], date(2024, 2, 20))
    assert [(f.keys["period"], f.details.get("draft_invoice")) for f in found] == [
        ("2024-01", None),
        ("2024-02", "D-2"),
    ]


def test_billing_from_a_month_end_falls_due_on_each_months_last_day() -> None:
    from reconcile.suite.leakage import expected_charges_not_billed

    monthly = _anniversary(BillingPeriod.MONTH, date(2024, 1, 31), date(2024, 12, 30))
    invoices = [
        _billing("I-1", date(2024, 1, 31), date(2024, 2, 28)),  # to the day before Feb 29
        _billing("I-2", date(2024, 2, 29), date(2024, 3, 30)),
        # the period from Mar 31 is missing
        _billing("I-4", date(2024, 4, 30), date(2024, 5, 30)),
    ]
    found = expected_charges_not_billed([monthly], invoices, date(2024, 5, 1))
    assert [f.keys["period"] for f in found] == ["2024-03"]


def _billing_customer(address: Address, terms: str = "Net 30") -> tuple[Customer, Customer]:
    """A CRM customer with ``address`` and its billing account at 123 Main St, Suite 200."""
    zuora = Address(line1="123 Main St", line2="Suite 200", city="San Francisco",
                    region="CA", postal_code="94105", country="US")  # fmt: skip
    return (
        cust("salesforce", "A1", crosswalk={"zuora": "Z1"}, payment_terms=terms,
             bill_to=Contact(address=address)),
        cust("zuora", "Z1", payment_terms="Net 30", bill_to=Contact(address=zuora)),
    )  # fmt: skip


def test_address_and_terms_formatting_is_not_drift() -> None:
    """Salesforce keeps the street in one multi-line field (its spec maps it to line1),
    Zuora splits it into address1/address2; 'St.' is 'St', 'Street' is 'St', 'Ste.' is
    'Suite', 'Net30' is 'Net 30'. Was: each reported as CUSTOMER_MASTER_DRIFT."""
    from reconcile.suite.leakage import customer_drift

    same = {"city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}
    for street in [
        {"line1": "123 Main St\nSuite 200"},
        {"line1": "123 Main St.", "line2": "Ste. 200"},
        {"line1": "123 Main Street,", "line2": "Suite 200"},
        {"line1": "123 MAIN  ST", "line2": "STE 200"},
    ]:
        a, b = _billing_customer(Address(**street, **same))  # type: ignore[arg-type]
        assert customer_drift([a], [b]) == [], street
    a, b = _billing_customer(Address(line1="123 Main St", line2="Suite 200", **same), "Net30")
    assert customer_drift([a], [b]) == []

    def drifted(address: Address, terms: str = "Net 30") -> list[str]:
        a, b = _billing_customer(address, terms)
        return [f.keys["field"] for f in customer_drift([a], [b])]

    # real changes are still drift: moved, another suite, another zip, other terms
    assert drifted(Address(line1="500 Howard St", line2="Suite 200", **same)) == ["bill_to"]
    assert drifted(Address(line1="123 Main St", line2="Suite 300", **same)) == ["bill_to"]
    moved_zip = {**same, "postal_code": "94107"}
    assert drifted(Address(line1="123 Main St", line2="Suite 200", **moved_zip)) == ["bill_to"]
    assert drifted(Address(line1="123 Main St", line2="Suite 200", **same), "Net 45") == [
        "payment_terms"
    ]
