"""``check()`` (auth, permission probes, concurrency headroom) and ``describe()`` from the
REST metadata catalog (JSON Schema; custom fields carry ``x-ns-custom-field``) or from the
SOAP schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from billbridge.errors import BillbridgeError, FatalError
from connectors.base import CheckReport, FieldInfo
from connectors.common.throttle import limiter
from connectors.netsuite.rest import account_key

if TYPE_CHECKING:
    from connectors.netsuite.connector import NetSuiteConnector
    from connectors.netsuite.soap import SoapTransport
    from connectors.netsuite.sources import Source

_FORMATS = {"date": "date", "date-time": "datetime"}


def check(connector: NetSuiteConnector, sources: Sequence[Source]) -> CheckReport:
    settings = connector.settings
    report = CheckReport(ok=False, system="netsuite")
    sem = limiter(account_key(settings), settings.concurrency)
    free = int(getattr(sem, "_value", settings.concurrency))
    report.api_budget_limit = settings.concurrency
    report.api_budget_used = settings.concurrency - free
    report.messages.append(
        f"concurrency slots free in this process: {free}/"
        f"{settings.concurrency} (pool shared by REST and SOAP)"
    )
    try:
        if settings.transport == "soap":
            assert connector.soap is not None
            connector.soap.call("getServerTime")
            report.authenticated = True
            report.messages.append(
                "SOAP: authenticated with getServerTime; record "
                "permissions are not probed over SOAP"
            )
        else:
            for source in sources:
                report.permissions[source.record_type] = _probe(connector, source)
                report.authenticated = True
    except FatalError as exc:
        report.messages.append(str(exc))
        return report
    except BillbridgeError as exc:
        report.messages.append(f"check failed: {exc}")
        return report
    denied = [name for name, ok in report.permissions.items() if not ok]
    if denied:
        report.messages.append("role lacks permission for: " + ", ".join(denied))
    report.ok = report.authenticated and not denied
    return report


def _probe(connector: NetSuiteConnector, source: Source) -> bool:
    """One-row SuiteQL probe of the record's table; INSUFFICIENT_PERMISSION -> False."""
    query = f"SELECT {source.query.col('id')} FROM {source.query.table} {source.query.alias}"
    try:
        connector.suiteql_page(query, limit=5, offset=0)
    except FatalError as exc:
        if "INSUFFICIENT_PERMISSION" in str(exc):
            return False
        raise
    return True


def describe_rest(schema: dict[str, Any]) -> list[FieldInfo]:
    required = set(schema.get("required") or [])
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        fields.append(
            FieldInfo(
                name=name,
                type=_type(prop),
                label=prop.get("title"),
                required=name in required,
                custom=bool(prop.get("x-ns-custom-field")),
                updateable=not prop.get("readOnly", False),
                reference_to=_reference(prop),
            )
        )
    return fields


def _type(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "object" and _reference(prop) is not None:
        return "reference"
    if kind == "string" and prop.get("format") in _FORMATS:
        return _FORMATS[prop["format"]]
    return str(kind or "object")


def _reference(prop: dict[str, Any]) -> str | None:
    props = prop.get("properties") or {}
    if "id" in props and "refName" in props:
        return str(prop.get("title") or "record")
    ref = prop.get("$ref") or ""
    return ref.rsplit("/", 1)[-1] if ref else None


def describe_soap(soap: SoapTransport, record_type: str) -> list[FieldInfo]:
    zeep_type = soap.record_type(record_type)
    fields = []
    for name, element in zeep_type.elements:
        type_name = getattr(element.type, "name", None) or "object"
        fields.append(
            FieldInfo(
                name=name,
                type="reference" if type_name == "RecordRef" else type_name,
                custom=name == "customFieldList",
                reference_to="record" if type_name == "RecordRef" else None,
            )
        )
    return fields
