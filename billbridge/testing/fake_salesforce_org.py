"""The fake org's schema (fields per object, id prefixes, child relationships) and its TLS
certificate (simple-salesforce only speaks https, so the loopback fake serves TLS)."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "Contract": "800",
    "Order": "801",
    "OrderItem": "802",
    "Product2": "01t",
    "PricebookEntry": "01u",
}
#: child relationship -> (child object, parent id field, parent object)
CHILDREN = {
    "OpportunityLineItems": ("OpportunityLineItem", "OpportunityId", "Opportunity"),
    "OrderItems": ("OrderItem", "OrderId", "Order"),
}
BASE_FIELDS = {
    "Account": {
        "Name": "string",
        "ParentId": "reference",
        "BillingStreet": "textarea",
        "BillingCity": "string",
        "BillingPostalCode": "string",
        "BillingCountryCode": "picklist",
        "BillingAddress": "address",
        "Phone": "phone",
    },
    "Opportunity": {
        "Name": "string",
        "AccountId": "reference",
        "StageName": "picklist",
        "IsWon": "boolean",
        "IsClosed": "boolean",
        "CloseDate": "date",
        "Amount": "currency",
        "Pricebook2Id": "reference",
    },
    "OpportunityLineItem": {
        "OpportunityId": "reference",
        "Product2Id": "reference",
        "ProductCode": "string",
        "Quantity": "double",
        "UnitPrice": "currency",
        "ListPrice": "currency",
        "TotalPrice": "currency",
        "Discount": "percent",
        "ServiceDate": "date",
    },
    "Product2": {
        "Name": "string",
        "ProductCode": "string",
        "Family": "picklist",
        "IsActive": "boolean",
    },
    "PricebookEntry": {
        "Product2Id": "reference",
        "Pricebook2Id": "reference",
        "ProductCode": "string",
        "UnitPrice": "currency",
        "IsActive": "boolean",
    },
}


def describe_fields(
    fields: dict[str, str], *, multi_currency: bool, extra: dict[str, str]
) -> list[dict[str, Any]]:
    """Field entries shaped like ``GET sobjects/{Obj}/describe``."""
    all_fields = {
        "Id": "id",
        "IsDeleted": "boolean",
        "SystemModstamp": "datetime",
        **fields,
        **extra,
    }
    if multi_currency:
        all_fields["CurrencyIsoCode"] = "picklist"
    return [
        {
            "name": name,
            "label": name,
            "type": kind,
            "custom": name.endswith("__c"),
            "nillable": name not in {"Id", "IsDeleted", "SystemModstamp"},
            "createable": name != "Id",
            "updateable": name not in {"Id", "IsDeleted", "SystemModstamp"},
            "externalId": name.endswith("_Id__c"),
            "length": 255 if kind == "string" else 0,
            "referenceTo": ["Account"] if kind == "reference" else [],
        }
        for name, kind in all_fields.items()
    ]


@functools.cache
def loopback_certificate() -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM), made once per process."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
