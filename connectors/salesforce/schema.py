"""What the org really has, from ``describe()`` (cached per connector).

SOQL field lists are built from describe, never assumed: ``CurrencyIsoCode`` only exists in
multi-currency orgs, CPQ objects only where the package is installed, and field-level
security hides fields from the integration user.
"""

from __future__ import annotations

from typing import Any

from billbridge.errors import ConfigError
from connectors.base import FieldInfo
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.soql import CHILD_OBJECTS

#: base64 bodies are never synced; compound fields (address, location) only over REST
#: (Bulk 2.0 refuses them).
_SKIP_TYPES = frozenset({"base64"})
_COMPOUND_TYPES = frozenset({"address", "location"})
#: Parent fields read through a lookup on line objects (mapping specs use ``Product2.*``).
RELATED = {
    "OpportunityLineItem": ("Product2", ("ProductCode", "Name", "Family")),
    "OrderItem": ("Product2", ("ProductCode", "Name", "Family")),
    "PricebookEntry": ("Product2", ("ProductCode", "Name", "Family")),
}
_TYPES = {
    "id": "string",
    "string": "string",
    "textarea": "string",
    "picklist": "string",
    "multipicklist": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "combobox": "string",
    "currency": "number",
    "double": "number",
    "percent": "number",
    "int": "integer",
    "long": "integer",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "reference": "reference",
}


class OrgSchema:
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._objects: set[str] | None = None
        self._described: dict[str, dict[str, Any]] = {}

    def objects(self) -> set[str]:
        if self._objects is None:
            body = self.client.call("describe", lambda sf: sf.describe())
            self._objects = {o["name"] for o in (body or {}).get("sobjects", [])}
        return self._objects

    def has(self, sobject: str) -> bool:
        return sobject in self.objects()

    def describe(self, sobject: str) -> dict[str, Any]:
        if sobject not in self._described:
            if not self.has(sobject):
                raise ConfigError(
                    f"Salesforce object {sobject} is not available in this org (or to this user)"
                )
            body = self.client.call(
                f"describe {sobject}", lambda sf: sf.restful(f"sobjects/{sobject}/describe")
            )
            self._described[sobject] = dict(body or {})
        return self._described[sobject]

    def fields(self, sobject: str, *, compound: bool = True, related: bool = True) -> list[str]:
        skip = _SKIP_TYPES if compound else _SKIP_TYPES | _COMPOUND_TYPES
        names = [f["name"] for f in self.describe(sobject)["fields"] if f.get("type") not in skip]
        if related and sobject in RELATED:
            parent, wanted = RELATED[sobject]
            if f"{parent}Id" in names and self.has(parent):
                present = set(self.fields(parent, related=False))
                names += [f"{parent}.{name}" for name in wanted if name in present]
        return names

    def field_types(self, sobject: str) -> dict[str, str]:
        return {f["name"]: f.get("type", "string") for f in self.describe(sobject)["fields"]}

    def child(self, sobject: str) -> tuple[str, list[str]] | None:
        """(relationship name, fields) of the line object read with ``sobject``."""
        child = CHILD_OBJECTS.get(sobject)
        if child is None or not self.has(child):
            return None
        for rel in self.describe(sobject).get("childRelationships", []):
            if rel.get("childSObject") == child and rel.get("relationshipName"):
                return rel["relationshipName"], self.fields(child)
        return None

    def field_info(self, sobject: str) -> list[FieldInfo]:
        return [
            FieldInfo(
                name=f["name"],
                type=_TYPES.get(f.get("type", ""), f.get("type", "string")),
                label=f.get("label"),
                required=not f.get("nillable", True) and bool(f.get("createable")),
                custom=bool(f.get("custom")),
                updateable=bool(f.get("updateable")),
                reference_to=(f.get("referenceTo") or [None])[0],
            )
            for f in self.describe(sobject)["fields"]
        ]
