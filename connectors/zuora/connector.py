"""The Zuora connector: reads, lookups, writes, check and describe behind ``Connector``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests
import structlog
from lxml import etree

from billbridge.errors import BillbridgeError, ConfigError
from billbridge.logs import scrub_text
from canonical import Record, WriteIntent, WriteResult
from connectors.base import CheckReport, Connector, Cursor, FieldInfo, RawRecord, ReadStream
from connectors.zuora import to_canonical
from connectors.zuora.client import ZuoraClient, track_id
from connectors.zuora.reader import ZuoraReader, spec_for
from connectors.zuora.settings import ZuoraSettings
from connectors.zuora.writer import ZuoraWriter
from mappings import MappingError, MappingSpec, apply_spec, find_default_spec
from mappings.model import Rule, Rules

log = structlog.get_logger(__name__)

_FIELD_TYPES = {
    "text": "string",
    "picklist": "string",
    "decimal": "number",
    "integer": "integer",
    "long": "integer",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "zoql_id": "reference",
}


class ZuoraConnector(Connector):
    system: ClassVar[str] = "zuora"
    entities: ClassVar[dict[str, str]] = {
        "customer": "Account",
        "subscription": "Subscription",
        "invoice": "Invoice",
        "payment": "Payment",
        "credit_memo": "CreditMemo",
    }

    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        correlation_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.client = ZuoraClient(
            settings, session=session, sleep=sleep, clock=clock, correlation_id=correlation_id
        )
        self._now = now
        self._writer = ZuoraWriter(self.client)

    def set_correlation_id(self, run_id: str) -> None:
        """Send ``run_id`` as ``Zuora-Track-Id`` (Zuora echoes it; audit lines carry it)."""
        self.client.correlation_id = track_id(run_id)

    # -- reading ------------------------------------------------------------------------

    def _reader(self) -> ZuoraReader:
        return ZuoraReader(
            self.client, lookback=timedelta(seconds=self.settings.lookback_seconds), clock=self._now
        )

    def read_raw(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> Iterator[RawRecord]:
        return self._reader().read(entity, since, limit)

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        reader = self._reader()
        convert = self._converter(entity)

        def records() -> Iterator[Record]:
            for raw in reader.read(entity, since, limit):
                try:
                    yield convert(raw.data)
                except (MappingError, ValueError) as exc:
                    stream.errors.append(exc)  # record-level: reported, the rest goes on

        stream = ReadStream(records(), lambda: reader.final_cursor(since))
        return stream

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        convert = self._converter(entity)
        found = self._reader().lookup(entity, list(external_ids))
        return {key: convert(raw.data) for key, raw in found.items()}

    def _converter(self, entity: str) -> Callable[[Mapping[str, Any]], Record]:
        """The shipped mapping spec for (object, entity), else our built-in conversion."""
        obj = spec_for(entity).zuora_object  # unknown entities fail here, before any call
        try:
            spec = find_default_spec(self.system, object=obj, entity=entity)
        except ConfigError:
            fallback = to_canonical.CONVERTERS[entity]
            return lambda raw: fallback(raw, self.settings.zone)
        spec = in_tenant_zone(spec, self.settings.tenant_timezone)

        def mapped(raw: Mapping[str, Any]) -> Record:
            value = apply_spec(spec, raw, where=f"Zuora {obj} {_key_of(raw)}").value
            assert isinstance(value, Record)
            return _to_utc(value)

        return mapped

    # -- writing ------------------------------------------------------------------------

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        return self._writer.write(intents)

    def find_applied(self, intents: Sequence[WriteIntent]) -> dict[str, str]:
        """Read before retry: idempotency key -> subscription number, for the intents that
        Zuora already holds (a create by our subscription number or external id, any other
        order action by the key stamped on it). Absent keys were not applied."""
        found: dict[str, str] = {}
        for intent in intents:
            number = self._writer.find_applied(intent)
            if number is not None:
                found[intent.idempotency_key] = number
        return found

    # -- check / describe ---------------------------------------------------------------

    def check(self) -> CheckReport:
        report: dict[str, Any] = {"system": self.system, "permissions": {}, "messages": []}
        try:
            self.client.tokens.get()
            report["authenticated"] = True
        except BillbridgeError as exc:
            return CheckReport(
                ok=False, authenticated=False, system=self.system, messages=[scrub_text(str(exc))]
            )
        probes = {
            "zoql:Account": lambda: list(
                self.client.zoql("select Id from Account where Id = 'bb-check'")
            ),
            "orders:read": lambda: self.client.get("/v1/orders", pageSize=1),
        }
        for name, probe in probes.items():
            try:
                probe()
                report["permissions"][name] = True
            except BillbridgeError as exc:  # refused (403 with reasons), forbidden, unavailable
                report["permissions"][name] = False
                report["messages"].append(scrub_text(str(exc)))
        limit = self.client.limits.get("RateLimit-Limit")
        remaining = self.client.limits.get("RateLimit-Remaining")
        if limit and remaining and limit.isdigit() and remaining.isdigit():
            report["api_budget_limit"] = int(limit)
            report["api_budget_used"] = int(limit) - int(remaining)
        report["ok"] = all(report["permissions"].values())
        return CheckReport(**report)

    def describe(self, entity: str) -> list[FieldInfo]:
        obj = spec_for(entity).zuora_object
        text = self.client.get_text(f"/v1/describe/{obj}")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(text.encode(), parser=parser)
        fields: dict[str, FieldInfo] = {}
        for node in root.iter("field"):
            name = node.findtext("name")
            if not name or name in fields:
                continue
            fields[name] = FieldInfo(
                name=name,
                type=_FIELD_TYPES.get((node.findtext("type") or "").lower(), "string"),
                label=node.findtext("label"),
                required=node.findtext("required") == "true",
                custom=node.findtext("custom") == "true",
                updateable=node.findtext("updateable") == "true",
            )
        return list(fields.values())


def _zoned(rules: Rules, zone: str) -> Rules:
    def one(rule: Rule) -> Rule:
        if rule.parse != "datetime":
            return rule  # business dates (parse: date) never go through a zone
        return rule.model_copy(update={"timezone": zone})

    return [one(r) for r in rules] if isinstance(rules, list) else one(rules)


def in_tenant_zone(spec: MappingSpec, zone: str) -> MappingSpec:
    """``spec`` with every datetime rule read in the tenant zone from settings.

    Zuora v1 datetimes carry no offset; only the settings know the tenant's zone (the
    read cursor uses it too), so a shipped spec's ``timezone`` serves previews only."""
    fields = {name: _zoned(rules, zone) for name, rules in spec.fields.items()}
    lines = [
        section.model_copy(
            update={"fields": {n: _zoned(r, zone) for n, r in section.fields.items()}}
        )
        for section in spec.lines
    ]
    return spec.model_copy(update={"fields": fields, "lines": lines})


def _to_utc(record: Record) -> Record:
    """Vendor timestamps leave the adapter in UTC (connectors.md §4.3)."""
    moments = {
        name: value.astimezone(UTC)
        for name, value in record
        if isinstance(value, datetime) and value.tzinfo is not None
    }
    return record.model_copy(update=moments) if moments else record


def _key_of(raw: Mapping[str, Any]) -> str:
    info = raw.get("basicInfo") or {}
    return str(
        raw.get("subscriptionNumber")
        or raw.get("invoiceNumber")
        or raw.get("number")
        or info.get("accountNumber")
        or raw.get("id")
    )


def connect(settings: ZuoraSettings, **kwargs: Any) -> ZuoraConnector:
    """Build a connector; nothing is fetched until the first call."""
    return ZuoraConnector(settings, **kwargs)
