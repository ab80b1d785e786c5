"""INVALID_TAX_ID for the tax-id types the shipped customer specs write (``vat``), not only
the canonical ``eu_vat`` / ``us_ein``."""

from __future__ import annotations

from canonical import Customer, TaxId
from reconcile.suite.leakage import invalid_tax_ids


def _customer(n: int, scheme: str, value: str) -> Customer:
    return Customer(
        source_system="legacy",
        source_id=f"K{n}",
        name=f"Customer {n}",
        currency="EUR",
        tax_ids=(TaxId(scheme=scheme, value=value),),
    )


def test_vat_with_an_eu_prefix_is_checked_as_eu_vat() -> None:
    customers = [
        _customer(1, "vat", "DE123456789"),  # invalid check digit
        _customer(2, "vat", "FR00000000000"),  # invalid
        _customer(3, "vat", "DE136695976"),  # valid
        _customer(4, "VAT", "de 123456789"),  # invalid, written loosely
        _customer(5, "vat", "GB999999973"),  # not an EU prefix: not checked
        _customer(6, "vat", "123456789"),  # no prefix: not checked
        _customer(7, "eu_vat", "DE123456789"),  # as before
        _customer(8, "ein", "00-0000000"),  # invalid EIN prefix
    ]
    found = {f.keys["customer"] for f in invalid_tax_ids(customers)}
    assert found == {"legacy:K1", "legacy:K2", "legacy:K4", "legacy:K7", "legacy:K8"}
