"""Built-in definitions on canonical records with planted discrepancies: all found, nothing else."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from canonical import (
    Contract,
    ContractLine,
    Invoice,
    Payment,
    PaymentApplication,
    Subscription,
    SubscriptionCharge,
)
from canonical.enums import (
    BillingPeriod,
    ChargeType,
    ContractStatus,
    InvoiceStatus,
    SubscriptionStatus,
)
from canonical.money import Money
from reconcile.builtin import (
    BUILTIN_NAMES,
    acv,
    builtin_definition,
    mrr,
    reconcile_records,
    sides_from_records,
)

START, END = date(2024, 1, 1), date(2024, 12, 31)


def _found(result) -> dict[tuple[str, ...], str]:
    return {tuple(e.keys.values()): e.category for e in result.exceptions}


def _contract(i: int, status: ContractStatus = ContractStatus.ACTIVATED) -> Contract:
    return Contract(
        source_system="salesforce",
        source_id=f"C-{i}",
        customer_id=f"ACC-{i}",
        currency="USD",
        start_date=START,
        end_date=END,
        status=status,
        opportunity_id=f"OPP-{i}",
        lines=(
            ContractLine(
                line_id=f"L{i}a",
                sku="SKU-A",
                quantity=Decimal(10),
                net_unit_price=Money("50.00", "USD"),
            ),
            ContractLine(
                line_id=f"L{i}b",
                sku="SKU-B",
                quantity=Decimal(1),
                net_unit_price=Money("1200.00", "USD"),
                billing_period=BillingPeriod.ANNUAL,
            ),
        ),
    )


def _charge(
    sku: str, qty: str, price: str, ccy: str = "USD", n: str = "1", **kw
) -> SubscriptionCharge:
    period = BillingPeriod.ANNUAL if sku == "SKU-B" else BillingPeriod.MONTH
    return SubscriptionCharge(
        charge_number=f"C-{sku}-{n}",
        sku=sku,
        quantity=Decimal(qty),
        unit_price=Money(price, ccy),
        billing_period=period,
        **kw,
    )


def _sub(
    i: int,
    ref: str,
    charges: tuple,
    ccy: str = "USD",
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> Subscription:
    return Subscription(
        source_system="zuora",
        source_id=f"S{i}",
        subscription_number=f"A-S{i}",
        customer_id=f"ZA-{i}",
        currency=ccy,
        term_start=START,
        term_end=END,
        contract_ref=ref,
        status=status,
        charges=charges,
    )


def test_mrr_and_acv() -> None:
    assert mrr(Decimal(10), Decimal("50.00"), BillingPeriod.MONTH, ChargeType.RECURRING) == 500
    assert acv(Decimal(1), Decimal("1200"), BillingPeriod.ANNUAL, ChargeType.RECURRING) == 1200
    assert mrr(Decimal(3), Decimal("100"), BillingPeriod.QUARTER, ChargeType.RECURRING) == 100
    assert acv(Decimal(1), Decimal("99"), BillingPeriod.MONTH, ChargeType.ONE_TIME) == 0


def test_crm_vs_billing_planted_discrepancies() -> None:
    contracts = [_contract(i) for i in range(11)] + [_contract(11, ContractStatus.DRAFT)]
    normal = (_charge("SKU-A", "10", "50.00"), _charge("SKU-B", "1", "1200.00"))
    subs = {i: _sub(i, f"C-{i}", normal) for i in range(11)}
    subs[1] = _sub(1, "OPP-1", normal)  # opportunity id: resolved, no break
    del subs[2]  # WON_NOT_PROVISIONED x2
    subs[3] = _sub(3, "C-3", (_charge("SKU-A", "12", "50.00"), normal[1]))
    subs[4] = _sub(
        4,
        "C-4",
        (normal[0], _charge("SKU-B", "1", "1200.00", start_date=START + timedelta(days=2))),
    )
    subs[5] = _sub(
        5, "C-5", (_charge("SKU-A", "10", "50.00", start_date=START + timedelta(days=1)), normal[1])
    )  # 1 day: within the window
    subs[6] = _sub(6, "C-6", normal, status=SubscriptionStatus.CANCELLED)
    subs[7] = _sub(
        7, "C-7", (_charge("SKU-A", "6", "50.00"), _charge("SKU-A", "4", "50.00", n="2"), normal[1])
    )  # split charge: many-to-one match
    subs[9] = _sub(
        9,
        "C-9",
        (_charge("SKU-A", "10", "50.00", "EUR"), _charge("SKU-B", "1", "1200.00", "EUR")),
        ccy="EUR",
    )
    subs[10] = _sub(10, "C-10", (_charge("SKU-A", "10", "50.005"), normal[1]))  # within tolerance
    extra = _sub(99, "C-99", (_charge("SKU-A", "1", "10.00"),))
    result = reconcile_records("crm_vs_billing", contracts, [*subs.values(), extra])
    assert _found(result) == {
        ("C-2", "SKU-A"): "WON_NOT_PROVISIONED",
        ("C-2", "SKU-B"): "WON_NOT_PROVISIONED",
        ("C-99", "SKU-A"): "SUBSCRIPTION_WITHOUT_BOOKING",
        ("C-3", "SKU-A"): "AMOUNT_MISMATCH",
        ("C-4", "SKU-B"): "DATE_MISMATCH",
        ("C-6", "SKU-A"): "STATUS_MISMATCH",
        ("C-6", "SKU-B"): "STATUS_MISMATCH",
        ("C-9", "SKU-A"): "FIELD_MISMATCH",
        ("C-9", "SKU-B"): "FIELD_MISMATCH",
    }
    qty = next(e for e in result.exceptions if e.keys["booking_ref"] == "C-3")
    assert qty.details["diff_columns"] == ["quantity", "mrr", "acv"]
    assert qty.details["delta"] == {"quantity": "-2", "mrr": "-100", "acv": "-1200"}
    assert str(qty.amount) == "1200.00" and qty.currency == "USD"
    leak = next(e for e in result.exceptions if e.category == "WON_NOT_PROVISIONED")
    assert leak.details["context"]["customer_id"] == "ACC-2"
    rs = result.summary["row_summary"]
    assert rs["many_to_one_matched"] == 1 and rs["matched_within_tolerance"] == 2


def _invoice(
    num: str,
    system: str = "zuora",
    *,
    customer: str = "ACC-1",
    tax: str = "10.00",
    total: str | None = None,
    issued: date = START,
    status: InvoiceStatus = InvoiceStatus.POSTED,
    ns: str | None = None,
) -> Invoice:
    sub = Decimal("100.00")
    tot = total or str(sub + Decimal(tax))
    crosswalk = {"zuora": num} if system == "netsuite" else {}
    return Invoice(
        source_system=system,
        source_id=ns or num,
        number=ns or num,
        customer_id=customer,
        issue_date=issued,
        currency="USD",
        status=status,
        subtotal=Money(sub, "USD"),
        tax_total=Money(tax, "USD"),
        total=Money(tot, "USD"),
        crosswalk=crosswalk,
    )


def test_billing_vs_erp_invoices_planted_discrepancies() -> None:
    billing = [_invoice(f"INV-{i}") for i in range(10)]
    erp = {i: _invoice(f"INV-{i}", "netsuite", customer="NS-1", ns=f"NS-{i}") for i in range(10)}
    del erp[2]  # NOT_SYNCED
    dup = _invoice("INV-3", "netsuite", customer="NS-1", ns="NS-3b")  # DUPLICATE_SYNC
    erp[4] = _invoice(
        "INV-4", "netsuite", customer="NS-1", ns="NS-4", tax="10.01", total="110.00"
    )  # tax within 0.01
    erp[5] = _invoice("INV-5", "netsuite", customer="NS-1", ns="NS-5", tax="10.02")
    erp[6] = _invoice("INV-6", "netsuite", customer="NS-1", ns="NS-6", status=InvoiceStatus.VOID)
    erp[7] = _invoice("INV-7", "netsuite", customer="NS-2", ns="NS-7")  # customer mapping
    erp[8] = _invoice("INV-8", "netsuite", customer="NS-1", ns="NS-8", issued=date(2024, 1, 2))
    only = _invoice("INV-99", "netsuite", customer="NS-1", ns="NS-99")
    result = reconcile_records(
        "billing_vs_erp_invoices",
        billing,
        [*erp.values(), dup, only],
        customer_map={"NS-1": "ACC-1", "NS-2": "ACC-2"},
    )
    assert _found(result) == {
        ("INV-2",): "NOT_SYNCED",
        ("INV-3",): "DUPLICATE_SYNC",
        ("INV-5",): "AMOUNT_MISMATCH",
        ("INV-6",): "STATUS_MISMATCH",
        ("INV-7",): "FIELD_MISMATCH",
        ("INV-8",): "DATE_MISMATCH",
        ("INV-99",): "NOT_IN_BILLING",
    }
    five = next(e for e in result.exceptions if e.keys["invoice_number"] == "INV-5")
    assert five.details["diff_columns"] == ["tax", "total"]
    assert five.details["context"] == {"erp_number": "NS-5"}
    assert result.counts["MATCHED_WITHIN_TOLERANCE"] == 1


def _payment(
    num: str,
    system: str = "zuora",
    *,
    amount: str = "110.00",
    applied: str = "110.00",
    received: date = START,
    ns: str | None = None,
) -> Payment:
    return Payment(
        source_system=system,
        source_id=ns or num,
        number=ns or num,
        customer_id="ACC-1",
        received_date=received,
        currency="USD",
        amount=Money(amount, "USD"),
        applications=(PaymentApplication(invoice_number="INV-1", amount=Money(applied, "USD")),),
        crosswalk={"zuora": num} if system == "netsuite" else {},
    )


def test_billing_vs_erp_payments_planted_discrepancies() -> None:
    billing = [_payment(f"P-{i}") for i in range(8)]
    erp = {i: _payment(f"P-{i}", "netsuite", ns=f"NSP-{i}") for i in range(8)}
    del erp[1]  # NOT_SYNCED
    erp[2] = _payment("P-2", "netsuite", ns="NSP-2", amount="100.00", applied="100.00")
    erp[3] = _payment("P-3", "netsuite", ns="NSP-3", applied="109.99")  # within 0.01
    erp[4] = _payment("P-4", "netsuite", ns="NSP-4", received=START + timedelta(days=1))
    erp[5] = _payment("P-5", "netsuite", ns="NSP-5", received=START + timedelta(days=3))
    dup = _payment("P-6", "netsuite", ns="NSP-6b")
    result = reconcile_records("billing_vs_erp_payments", billing, [*erp.values(), dup])
    assert _found(result) == {
        ("P-1",): "NOT_SYNCED",
        ("P-2",): "AMOUNT_MISMATCH",
        ("P-5",): "DATE_MISMATCH",
        ("P-6",): "DUPLICATE_SYNC",
    }


def test_every_builtin_has_documented_sides() -> None:
    for name in BUILTIN_NAMES:
        d = builtin_definition(name)
        a, b = sides_from_records(name, [], [])
        assert a == [] and b == [] and d.description


def test_paid_erp_invoice_is_the_same_posted_document_but_void_is_not() -> None:
    billing = [_invoice("INV-1"), _invoice("INV-2"), _invoice("INV-3")]
    erp = [
        _invoice("INV-1", "netsuite", customer="NS-1", ns="NS-1", status=InvoiceStatus.PAID),
        _invoice(
            "INV-2", "netsuite", customer="NS-1", ns="NS-2", status=InvoiceStatus.PARTIALLY_PAID
        ),
        _invoice("INV-3", "netsuite", customer="NS-1", ns="NS-3", status=InvoiceStatus.VOID),
    ]
    result = reconcile_records(
        "billing_vs_erp_invoices", billing, erp, customer_map={"NS-1": "ACC-1"}
    )
    assert _found(result) == {("INV-3",): "STATUS_MISMATCH"}


def test_identifiers_are_exact_and_reported_as_written() -> None:
    # 15-character Salesforce ids differ only by case: they must not pair up
    contracts = [_contract(1)]
    lower = _sub(1, "c-1", (_charge("SKU-A", "10", "50.00"),))
    result = reconcile_records("crm_vs_billing", contracts, [lower])
    keys = {(e.keys["booking_ref"], e.keys["sku"]): e.category for e in result.exceptions}
    assert keys[("c-1", "SKU-A")] == "SUBSCRIPTION_WITHOUT_BOOKING"
    assert ("C-1", "SKU-A") in keys


def test_each_unbooked_subscription_is_its_own_exception() -> None:
    subs = [
        _sub(7, "", (_charge("SKU-A", "1", "10.00"),)),
        _sub(8, "", (_charge("SKU-A", "1", "10.00"),)),
    ]
    result = reconcile_records("crm_vs_billing", [], subs)
    assert _found(result) == {
        ("A-S7", "SKU-A"): "SUBSCRIPTION_WITHOUT_BOOKING",
        ("A-S8", "SKU-A"): "SUBSCRIPTION_WITHOUT_BOOKING",
    }


def test_a_one_time_services_line_is_not_a_billing_period_mismatch() -> None:
    """A CRM export gives a services line the opportunity's "Monthly"; billing has it as a
    one-time charge, which has no billing period of its own."""
    base = _contract(1)
    services = ContractLine(
        line_id="L1s",
        sku="ONBOARD",
        quantity=Decimal(1),
        net_unit_price=Money("5000.00", "USD"),
        charge_type=ChargeType.ONE_TIME,
        billing_period=BillingPeriod.MONTH,
    )
    contract = base.model_copy(update={"lines": (*base.lines, services)})
    charges = (
        _charge("SKU-A", "10", "50.00"),
        _charge("SKU-B", "1", "1200.00"),
        SubscriptionCharge(
            charge_number="C-ONB",
            sku="ONBOARD",
            quantity=Decimal(1),
            unit_price=Money("5000.00", "USD"),
            charge_type=ChargeType.ONE_TIME,
            billing_period=BillingPeriod.ONE_TIME,
        ),
    )
    result = reconcile_records("crm_vs_billing", [contract], [_sub(1, "C-1", charges)])
    assert _found(result) == {}


def test_a_charge_split_into_back_to_back_segments_is_one_charge() -> None:
    """An amendment splits a charge into date segments (Zuora: each ends where the next
    starts): the same 10 seats over the whole term, not 20."""
    mid = date(2024, 7, 1)
    segmented = (
        _charge("SKU-A", "10", "50.00", n="1", start_date=START, end_date=mid),
        _charge("SKU-A", "10", "50.00", n="2", start_date=mid, end_date=END),
        _charge("SKU-B", "1", "1200.00"),
    )
    result = reconcile_records("crm_vs_billing", [_contract(1)], [_sub(1, "C-1", segmented)])
    assert _found(result) == {}
    # two charges over the same dates are a split charge: summed, as before
    split = (
        _charge("SKU-A", "6", "50.00", n="1"),
        _charge("SKU-A", "4", "50.00", n="2"),
        _charge("SKU-B", "1", "1200.00"),
    )
    assert (
        _found(reconcile_records("crm_vs_billing", [_contract(1)], [_sub(1, "C-1", split)])) == {}
    )
