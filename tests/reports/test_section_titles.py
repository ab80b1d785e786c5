"""Report section titles write CRM, ERP, AR, GL as AR staff do ("Ar subledger gl" read
wrong)."""

from __future__ import annotations

import pytest

from reconcile.reports import section_title


@pytest.mark.parametrize(
    ("recon", "title"),
    [
        ("crm_vs_billing", "CRM vs billing"),
        ("billing_vs_erp_invoices", "Billing vs ERP invoices"),
        ("ar_subledger_gl", "AR subledger GL"),
        ("ar_aging", "AR aging"),
        ("revenue_leakage", "Revenue leakage"),
        ("sync:invoices", "Sync job invoices: writes not made"),
    ],
)
def test_section_title(recon: str, title: str) -> None:
    assert section_title(recon) == title
