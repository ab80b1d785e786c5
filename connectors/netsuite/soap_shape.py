"""SOAP records (zeep objects) reshaped like REST record JSON, so one set of mappings reads
both transports: ``RecordRef`` -> ``{id, refName, externalId}``, ``itemList.item[]`` ->
``item.items[]`` (same for ``applyList``/``lineList``), doubles -> Decimal, datetimes ->
ISO-8601 text with their offset."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

#: SOAP field names that REST spells differently
_RENAMES = {"subTotal": "subtotal"}
#: Business dates SOAP sends as midnight datetimes; REST (and our model) keep them as dates.
#: The calendar day is taken in the value's own offset, never converted through a timezone.
_DATE_FIELDS = {
    "tranDate",
    "dueDate",
    "startDate",
    "endDate",
    "applyDate",
    "shipDate",
    "revRecStartDate",
    "revRecEndDate",
    "discountDate",
}
#: SOAP enums that REST returns as ``{id, refName}`` references
_AS_REFERENCE = {"status"}
_LISTS = {
    "itemList": ("item", "item"),
    "applyList": ("apply", "apply"),
    "lineList": ("line", "line"),
}


def to_rest_shape(record: Any) -> dict[str, Any]:
    from zeep.helpers import serialize_object

    data = serialize_object(record, target_cls=dict)
    shaped = _value(data)
    assert isinstance(shaped, dict)
    return shaped


def _value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return _record(value)
    return value


def _record(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = set(data)
    if keys >= {"internalId", "externalId"} and keys <= {
        "internalId",
        "externalId",
        "name",
        "type",
    }:
        return {
            "id": data.get("internalId"),
            "refName": data.get("name"),
            "externalId": data.get("externalId"),
        }
    for key, value in data.items():
        if value is None:
            continue
        if key in _LISTS and isinstance(value, dict):
            target, inner = _LISTS[key]
            out[target] = {"items": [_value(v) for v in value.get(inner) or []]}
        elif key == "internalId":
            out["id"] = value
        elif key in _DATE_FIELDS and isinstance(value, datetime):
            out[key] = value.date().isoformat()
        elif key in _AS_REFERENCE and isinstance(value, str):
            out[key] = {"id": None, "refName": value}
        elif key == "customFieldList":
            continue  # custom fields keep their SOAP shape out of the canonical path
        else:
            out[_RENAMES.get(key, key)] = _value(value)
    return out
