from __future__ import annotations

import pytest

from billbridge.errors import ConfigError
from mappings import default_spec, find_default_spec


def test_find_by_system_and_object_prefers_api_specs_over_exports() -> None:
    assert find_default_spec("netsuite", object="invoice", entity="invoice").name == (
        "netsuite/invoice_to_invoice"
    )
    assert find_default_spec("netsuite", object="suiteql:invoice").name == (
        "netsuite/suiteql/invoice_to_invoice"
    )
    assert find_default_spec("netsuite", entity="invoice", file_export=True).name == (
        "exports/netsuite_invoices"
    )


def test_find_outbound_payload_spec() -> None:
    assert find_default_spec("canonical", payload="zuora/order").name == (
        "canonical/contract_to_zuora_order"
    )


def test_ambiguous_or_missing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="found netsuite/"):
        find_default_spec("netsuite", entity="customer")  # REST and SuiteQL both match
    with pytest.raises(ConfigError, match="found none"):
        find_default_spec("salesforce", entity="invoice")


def test_unknown_default_spec_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'salesforce/account_to_customer'"):
        default_spec("salesforce/acount_to_customer")


def test_version_is_stable_under_reordering_whitespace_and_comments() -> None:
    from mappings import spec_from_text

    one = spec_from_text(
        "name: v\nsource: {system: s}\ntarget: {entity: customer}\nkey: Id\n"
        "fields:\n  name: Name\n  number: No\n"
    )
    two = spec_from_text(
        "# a comment\nkey: Id\nfields:\n    number:    No   # trailing\n    name: Name\n"
        "target:\n  entity: customer\nsource:\n  system: s\nname: v\n"
    )
    three = spec_from_text(
        "name: v\nsource: {system: s}\ntarget: {entity: customer}\nkey: Id\n"
        "fields:\n  name: Name\n  number: Number\n"
    )
    assert one.version == two.version
    assert one.version != three.version
    assert len(one.version) == 64
