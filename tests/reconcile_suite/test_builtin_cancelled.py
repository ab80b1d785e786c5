"""A lost or cancelled deal with nothing provisioned is no booking, and a void billing invoice
that never reached the ERP is not unsynced; both are still compared when the other side
has them."""

from __future__ import annotations

from canonical.enums import ContractStatus, InvoiceStatus, SubscriptionStatus
from reconcile.builtin import reconcile_records
from tests.reconcile.test_builtin import (
    _charge,
    _contract,
    _found,
    _invoice,
    _sub,
)


def _charges() -> tuple:
    return (_charge("SKU-A", "10", "50.00"), _charge("SKU-B", "1", "1200.00"))


def test_a_lost_deal_without_subscription_is_no_exception() -> None:
    contracts = [_contract(1), _contract(2, ContractStatus.CANCELLED)]
    subs = [_sub(1, "C-1", _charges())]
    assert _found(reconcile_records("crm_vs_billing", contracts, subs)) == {}


def test_a_cancelled_deal_still_billed_is_flagged() -> None:
    contracts = [_contract(1, ContractStatus.CANCELLED)]
    subs = [_sub(1, "C-1", _charges(), status=SubscriptionStatus.ACTIVE)]
    found = _found(reconcile_records("crm_vs_billing", contracts, subs))
    assert set(found.values()) == {"STATUS_MISMATCH"}
    assert len(found) == 2


def test_a_void_invoice_missing_from_the_erp_is_not_unsynced() -> None:
    billing = [_invoice("INV-1"), _invoice("INV-2", status=InvoiceStatus.VOID), _invoice("INV-3")]
    erp = [_invoice("INV-1", "netsuite", ns="NS-1")]
    found = _found(reconcile_records("billing_vs_erp_invoices", billing, erp))
    assert list(found) == [("INV-3",)]


def test_a_void_invoice_posted_in_the_erp_is_still_compared() -> None:
    billing = [_invoice("INV-1", status=InvoiceStatus.VOID)]
    erp = [_invoice("INV-1", "netsuite", ns="NS-1")]
    assert _found(reconcile_records("billing_vs_erp_invoices", billing, erp)) == {
        ("INV-1",): "STATUS_MISMATCH"
    }
