"""Every shipped spec applied to a fixture in the vendor's real record shape."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from canonical import Contract, Customer, Money
from mappings import apply_spec, apply_spec_rows, default_spec, default_spec_names
from mappings.validate import validate_spec

FIX = Path(__file__).parent / "fixtures"
PACIFIC = ZoneInfo("America/Los_Angeles")
USD = "USD"


def vendor(name: str) -> Any:
    return json.loads((FIX / "vendor" / name).read_text())


def export_rows(name: str, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    with (FIX / "exports" / name).open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value


def check(record: Any, expected: dict[str, Any]) -> None:
    for path, want in expected.items():
        assert dig(record, path) == want, path


def _sf_account() -> Customer:
    value = apply_spec(
        default_spec("salesforce/account_to_customer"), vendor("salesforce_account.json")
    ).value
    assert isinstance(value, Customer)
    return value


def _sf_contract() -> Contract:
    spec = default_spec("salesforce/opportunity_to_contract")
    value = apply_spec(spec, vendor("salesforce_opportunity.json")).value
    assert isinstance(value, Contract)
    return value


SINGLE = [
    (
        "salesforce/account_to_customer",
        "salesforce_account.json",
        {
            "source_id": "0015g00000XyZ12AAA",
            "name": "Acme Corp",
            "currency": USD,
            "status": "active",
            "bill_to.email": "ap@acme.example",
            "bill_to.address.country": "US",
            "crosswalk": {"zuora": "A00000001", "netsuite": "1234"},
            "tax_ids": (),
            "updated_at": datetime(2024, 5, 1, 10, tzinfo=UTC),
        },
    ),
    (
        "salesforce/opportunity_to_contract",
        "salesforce_opportunity.json",
        {
            "currency": "EUR",
            "status": "activated",
            "term_months": 12,
            "auto_renew": True,
            "billing_period": "annual",
            "lines.0.net_unit_price": Money("99.9", "EUR"),
            "lines.1.sku": "ONB-STD",
            "close_date": date(2024, 4, 28),
        },
    ),
    (
        "salesforce/contract_to_contract",
        "salesforce_contract.json",
        {
            "number": "00000123",
            "status": "activated",
            "billing_period": "quarter",
            "end_date": date(2025, 4, 30),
            "term_months": 12,
            "lines": (),
        },
    ),
    (
        "salesforce/product2_to_product",
        "salesforce_product2.json",
        {
            "sku": "PLAT-ENT",
            "charge_type": "recurring",
            "active": True,
            "unit_of_measure": "Seat",
        },
    ),
    (
        "zuora/account_to_customer",
        "zuora_account.json",
        {
            "source_id": "A00000001",
            "name": "Acme Corp",
            "bill_to.name": "Jane Doe",
            "bill_to.address.country": "US",
            "crosswalk": {"salesforce": "0015g00000XyZ12AAA"},
            "extra": {"billing_entity": "US-01"},
            "tax_ids": (),
            "payment_terms": "Net 30",
        },
    ),
    (
        "zuora/subscription_to_subscription",
        "zuora_subscription.json",
        {
            "source_id": "A-S00000001",
            "version": 2,
            "source_version": "2",
            "term_months": 12,
            "charges.0.charge_number": "C-00000001",
            "charges.0.sku": "PLAT-ENT",
            "charges.0.quantity": Decimal("25.0"),
            "charges.0.unit_price": Money("99.9", USD),
            "charges.0.billing_period": "annual",
            "charges.1.charge_type": "one_time",
            "charges.1.billing_period": "one_time",
            "charges.1.quantity": 1,
            "contract_ref": "0065g00000AbCdEAAV",
        },
    ),
    (
        "zuora/invoice_to_invoice",
        "zuora_invoice.json",
        {
            "number": "INV00000001",
            "total": Money("7222.5", USD),
            "tax_total": Money("222.5", USD),
            "lines.0.line_number": 1,
            "lines.1.line_number": 2,
            "lines.1.charge_number": "C-00000002",
            "updated_at": datetime(2024, 5, 1, 9, 12, 44, tzinfo=PACIFIC),
        },
    ),
    (
        "zuora/payment_to_payment",
        "zuora_payment.json",
        {
            "number": "P-00000001",
            "amount": Money("7222.5", USD),
            "status": "processed",
            "applications.0.invoice_number": "INV00000001",
            "reference": "CHK-10045",
        },
    ),
    (
        "zuora/creditmemo_to_credit_memo",
        "zuora_creditmemo.json",
        {
            "number": "CM00000001",
            "total": Money("450", USD),
            "reason": "Correcting invoice error",
        },
    ),
    (
        "netsuite/customer_to_customer",
        "netsuite_customer.json",
        {
            "source_id": "1234",
            "number": "CUST-1001",
            "currency": USD,
            "status": "active",
            "credit_limit": Money("50000", USD),
            "bill_to.address.country": "US",
            "subsidiary": "Acme US Inc.",
            "extra": {"billing_entity": "US-01"},
        },
    ),
    (
        "netsuite/invoice_to_invoice",
        "netsuite_invoice.json",
        {
            "number": "INV10045",
            "customer_id": "1234",
            "currency": USD,
            "status": "posted",
            "subtotal": Money("7000", USD),
            "balance": Money("7222.5", USD),
            "po_number": "PO-7781",
            "lines.0.sku": "PLAT-ENT",
            "lines.0.line_number": 1,
            "lines.1.amount": Money("4500", USD),
        },
    ),
    (
        "netsuite/creditmemo_to_credit_memo",
        "netsuite_creditmemo.json",
        {
            "currency": "EUR",
            "total": Money("450", "EUR"),
            "applied_to_invoice": "8938",
            "lines.0.sku": "ONB-STD",
        },
    ),
    (
        "netsuite/customerpayment_to_payment",
        "netsuite_customerpayment.json",
        {
            "number": "PYMT-501",
            "reference": "10045",
            "method": "Check",
            "applications.0.invoice_number": "INV10045",
            "applied_amount": Money("7000", USD),
        },
    ),
    (
        "netsuite/suiteql/customer_to_customer",
        "netsuite_suiteql_customer.json",
        {
            "status": "active",
            "credit_limit": Money("50000", USD),
            "updated_at": datetime(2024, 5, 1, 9, 12, 44, tzinfo=PACIFIC),
        },
    ),
    (
        "netsuite/suiteql/creditmemo_to_credit_memo",
        "netsuite_suiteql_creditmemo.json",
        {
            "status": "open",
            "balance": Money("450", "EUR"),
        },
    ),
    (
        "netsuite/suiteql/customerpayment_to_payment",
        "netsuite_suiteql_customerpayment.json",
        {
            "status": "processed",
            "reference": "10045",
            "applications": (),
        },
    ),
    (
        "netsuite/suiteql/journal_line_to_journal_line",
        "netsuite_suiteql_journal_line.json",
        {
            "source_id": "8938-0-1200",
            "amount": Money("7222.5", USD),
            "period": "2024-05",
            "line_number": 0,
        },
    ),
]


@pytest.mark.parametrize(("name", "fixture", "expected"), SINGLE, ids=[s[0] for s in SINGLE])
def test_vendor_spec_maps_vendor_shaped_fixture(name: str, fixture: str, expected: dict) -> None:
    spec = default_spec(name)
    assert validate_spec(spec) == []
    record = apply_spec(spec, vendor(fixture), where=fixture).value
    assert record.source_system == spec.source.system
    check(record, expected)


def test_payment_parts_filter_keeps_only_applied_rows() -> None:
    spec = default_spec("netsuite/customerpayment_to_payment")
    payment = apply_spec(spec, vendor("netsuite_customerpayment.json")).value
    assert [a.invoice_number for a in payment.applications] == ["INV10045"]
    assert payment.unapplied_amount == Money("222.5", USD)


def test_suiteql_invoice_rows_group_into_invoices() -> None:
    spec = default_spec("netsuite/suiteql/invoice_to_invoice")
    results = apply_spec_rows(spec, vendor("netsuite_suiteql_invoice_rows.json"))
    assert [r.error for r in results] == [None, None]
    first, second = (r.value for r in results)
    assert first.subtotal == Money("7000", USD)  # sum of the line rows
    assert [line.line_number for line in first.lines] == [1, 2]
    assert second.status == "paid"
    assert second.lines[0].sku == "SUP-PREM"


def test_contract_to_zuora_order_payload() -> None:
    contract = _sf_contract().model_copy(update={"crosswalk": {"zuora_account": "A00000001"}})
    payload = apply_spec(default_spec("canonical/contract_to_zuora_order"), contract).value
    assert isinstance(payload, dict)
    assert payload["orderDate"] == date(2024, 5, 1)
    assert payload["existingAccountNumber"] == "A00000001"
    action = payload["subscriptions"][0]["orderActions"][0]
    assert action["type"] == "CreateSubscription"
    assert [t["name"] for t in action["triggerDates"]] == [
        "ContractEffective",
        "ServiceActivation",
        "CustomerAcceptance",
    ]
    terms = action["createSubscription"]["terms"]
    assert terms["initialTerm"] == {
        "termType": "TERMED",
        "period": 12,
        "periodType": "Month",
        "startDate": date(2024, 5, 1),
    }
    assert terms["renewalTerms"] == [{"period": 12, "periodType": "Month"}]
    plans = action["createSubscription"]["subscribeToRatePlans"]
    assert plans[0]["productRatePlanId"] == "8ad09be48db5aba7018db604776d4854"
    assert plans[0]["chargeOverrides"][0]["pricing"] == {
        "recurringPerUnit": {"listPrice": Decimal("99.9"), "quantity": Decimal("25.0")}
    }
    # Onboarding (Professional Services) is one-time: flat fee, no quantity
    assert plans[1]["chargeOverrides"][0]["pricing"] == {
        "oneTimeFlatFee": {"listPrice": Decimal("4500.0")}
    }


def test_contract_without_zuora_account_is_a_record_error() -> None:
    from mappings import MappingError

    with pytest.raises(MappingError) as info:
        apply_spec(default_spec("canonical/contract_to_zuora_order"), _sf_contract())
    assert info.value.issues[0].target == "existingAccountNumber"


def test_customer_to_netsuite_customer_payload() -> None:
    payload = apply_spec(
        default_spec("canonical/customer_to_netsuite_customer"), _sf_account()
    ).value
    assert payload["externalId"] == "SF-0015g00000XyZ12AAA"
    assert payload["currency"] == {"id": "1"}
    assert payload["terms"] == {"id": "2"}
    assert payload["subsidiary"] == {"id": "1"}  # declared default: the customer has none
    assert payload["isInactive"] is False
    address = payload["addressBook"]["items"][0]
    assert address["defaultBilling"] is True
    assert address["addressBookAddress"]["country"] == "US"


def test_customer_to_zuora_account_payload() -> None:
    payload = apply_spec(default_spec("canonical/customer_to_zuora_account"), _sf_account()).value
    assert payload["accountNumber"] == "A00000001"
    assert payload["crmId"] == "0015g00000XyZ12AAA"
    assert payload["billToContact"]["lastName"] == "Acme Corp"
    assert payload["paymentTerm"] == "Net 30"


def test_export_salesforce_opportunity_lines() -> None:
    spec = default_spec("exports/salesforce_opportunity_lines")
    rows = export_rows("salesforce_opportunity_lines.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    results = apply_spec_rows(spec, rows)
    first, second = (r.value for r in results)
    assert first.number == "Acme Corp - Platform 2024"
    assert first.lines[1].net_unit_price == Money("4500.00", USD)
    assert first.lines[1].charge_type == "one_time"
    assert first.start_date == date(2024, 5, 1)
    assert first.end_date == date(2025, 4, 30)  # the latest product end, not the first row's
    assert second.number == "00000124"
    assert second.currency == "EUR"
    assert second.billing_period == "month"
    assert second.extra == {"account_name": "Globex GmbH"}


def test_export_zuora_subscription_charges_keeps_last_segment() -> None:
    spec = default_spec("exports/zuora_subscription_charges")
    rows = export_rows("zuora_subscription_charges.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    first, second = (r.value for r in apply_spec_rows(spec, rows))
    assert [(c.charge_number, c.quantity) for c in first.charges] == [
        ("C-00000001", Decimal(25)),
        ("C-00000002", Decimal(1)),
    ]
    assert first.updated_at == datetime(2024, 5, 1, 9, 12, 44, tzinfo=PACIFIC)
    assert second.charges[0].unit_price == Money("49", "EUR")


def test_export_zuora_invoices() -> None:
    spec = default_spec("exports/zuora_invoices")
    rows = export_rows("zuora_invoices.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    first, second = (r.value for r in apply_spec_rows(spec, rows))
    assert first.lines_subtotal() == first.subtotal
    assert [line.line_number for line in first.lines] == [1, 2]
    assert second.currency == "EUR"
    assert second.balance == Money("0.00", "EUR")


def test_export_netsuite_invoices() -> None:
    spec = default_spec("exports/netsuite_invoices")
    rows = export_rows("netsuite_invoices.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    first, second = (r.value for r in apply_spec_rows(spec, rows))
    assert first.subtotal == Money("7000.00", USD)
    assert first.tax_total == Money("222.50", USD)
    assert first.total == Money("7222.50", USD)
    assert first.crosswalk == {"external_id": "ZUORA-INV00000001"}
    assert second.status == "paid"
    assert second.crosswalk == {}


def test_export_netsuite_payments() -> None:
    spec = default_spec("exports/netsuite_payments")
    rows = export_rows("netsuite_payments.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    first, second = (r.value for r in apply_spec_rows(spec, rows))
    assert [a.invoice_number for a in first.applications] == ["INV10045", "INV10047"]
    assert first.unapplied_amount == Money("0.00", USD)
    # the billing system's payment number, which pairs it in billing_vs_erp_payments
    assert first.crosswalk["external_id"] == "ZUORA-P-00000045"
    assert "external_id" not in second.crosswalk
    assert second.applications == ()
    assert second.reference == "prepayment"


def test_export_bank_statement() -> None:
    spec = default_spec("exports/bank_statement")
    rows = export_rows("bank_statement.csv")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    credit, fee = (apply_spec(spec, row).value for row in rows)
    assert credit.source_id == "DE89370400440532013000-BR24052000001"
    assert credit.amount == Money("7222.50", USD)
    assert credit.remittance_text == "ACME CORP INV10045 INV10047"
    assert credit.counterparty_account == "US64SXXX0000000000001"
    assert fee.amount == Money("-150.00", USD)
    assert fee.direction == "debit"


def test_export_legacy_customers() -> None:
    spec = default_spec("exports/legacy_customers")
    rows = export_rows("legacy_customers.csv", encoding="cp1252", delimiter=";")
    assert validate_spec(spec, source_fields=list(rows[0])) == []
    mueller, globex = (apply_spec(spec, row).value for row in rows)
    assert mueller.name == "Müller Maschinenbau GmbH"
    assert mueller.credit_limit == Money("50000.00", "EUR")
    assert mueller.tax_ids[0].value == "DE 136695976"
    assert mueller.bill_to.address.country == "DE"
    assert globex.status == "on_hold"
    assert globex.credit_limit is None
    assert globex.parent_id == "10001"


def test_every_default_spec_is_covered_here() -> None:
    covered = {name for name, _, _ in SINGLE} | {
        "netsuite/suiteql/invoice_to_invoice",
        "canonical/contract_to_zuora_order",
        "canonical/customer_to_netsuite_customer",
        "canonical/customer_to_zuora_account",
        "exports/salesforce_opportunity_lines",
        "exports/zuora_subscription_charges",
        "exports/zuora_invoices",
        "exports/netsuite_invoices",
        "exports/netsuite_payments",
        "exports/bank_statement",
        "exports/legacy_customers",
    }
    assert set(default_spec_names()) == covered
