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


def test_the_same_tax_id_under_another_scheme_spelling_is_not_drift() -> None:
    """Salesforce's spec writes 'vat', the canonical name is 'eu_vat': the same number is
    the same tax id (was: CUSTOMER_MASTER_DRIFT on tax_id)."""
    from reconcile.suite.leakage import customer_drift

    def pair(a: tuple[str, str], b: tuple[str, str]) -> list[str]:
        crm = Customer(
            source_system="salesforce",
            source_id="A1",
            name="Acme",
            crosswalk={"zuora": "Z1"},
            tax_ids=(TaxId(scheme=a[0], value=a[1]),),
        )
        billing = Customer(source_system="zuora", source_id="Z1", name="Acme",
                           tax_ids=(TaxId(scheme=b[0], value=b[1]),))  # fmt: skip
        return [f.keys["field"] for f in customer_drift([crm], [billing])]

    assert pair(("vat", "DE 136 695 976"), ("eu_vat", "DE136695976")) == []
    assert pair(("VAT Number", "de136695976"), ("EU VAT", "DE-136.695.976")) == []
    assert pair(("ein", "04-2103594"), ("us_ein", "042103594")) == []
    # another number, or the digits under another kind of id, still differ
    assert pair(("vat", "DE136695976"), ("eu_vat", "DE136695977")) == ["tax_id"]
    assert pair(("vat", "042103594"), ("us_ein", "04-2103594")) == ["tax_id"]
