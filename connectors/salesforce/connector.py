"""The Salesforce connector: keyset reads, external-id lookups and upserts, check, describe."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests
import structlog
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from billbridge.errors import BillbridgeError, ConfigError, FatalError
from billbridge.logs import scrub_text
from canonical import Record, WriteIntent, WriteResult
from canonical.currencies import normalize_currency
from connectors.base import (
    CheckReport,
    Connector,
    Cursor,
    FieldInfo,
    RawRecord,
    ReadStream,
    parse_datetime,
)
from connectors.salesforce import soql, to_canonical
from connectors.salesforce.client import SalesforceClient, classify, error_code
from connectors.salesforce.reader import SalesforceReader
from connectors.salesforce.schema import OrgSchema
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.writer import SalesforceWriter
from mappings import MappingError, apply_spec, find_default_spec

#: Standard objects we read; CPQ objects only when describe shows the package.
STANDARD_OBJECTS = (
    "Account",
    "Contact",
    "Opportunity",
    "OpportunityLineItem",
    "Contract",
    "Order",
    "OrderItem",
    "Product2",
    "PricebookEntry",
)
CPQ_OBJECTS = ("SBQQ__Quote__c", "SBQQ__QuoteLine__c", "SBQQ__Subscription__c")
LOOKUP_CHUNK = 200
#: Set by the connector on each OpportunityLineItem before mapping (no Salesforce field
#: name starts with "_"): UnitPrice after Discount, see ``to_canonical.net_unit_price``.
NET_UNIT_PRICE = "_NetUnitPrice"
#: The org's own currency, for records without a CurrencyIsoCode (single-currency orgs).
ORG_CURRENCY_QUERY = "SELECT DefaultCurrencyIsoCode FROM Organization"
#: Used when settings.currency is unset and the integration user cannot read Organization.
FALLBACK_CURRENCY = "USD"
#: Organization always exists; these on it mean the user may not see it (or the field).
HIDDEN_CODES = frozenset({"INVALID_TYPE", "INVALID_FIELD"})

log = structlog.get_logger(__name__)


class SalesforceConnector(Connector):
    system: ClassVar[str] = "salesforce"
    entities: ClassVar[Mapping[str, str]] = {
        "customer": "Account",
        "contract": "Opportunity",
        "product": "Product2",
        "price": "PricebookEntry",
    }

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.client = SalesforceClient(settings, session=session, sleep=sleep, clock=clock)
        self.schema = OrgSchema(self.client)
        self._now = now
        self._writer = SalesforceWriter(self.client, self.sobject)
        self._org_currency: str | None = None
        self._ctx = to_canonical.Context(self.org_currency, settings.crosswalk_fields)

    def sobject(self, entity: str) -> str:
        """Canonical entity or sObject name -> an sObject this org has (standard billing
        objects, CPQ, and custom objects such as the Zuora 360 package's)."""
        name = self.entities.get(entity, entity)
        known = name in STANDARD_OBJECTS or name in CPQ_OBJECTS or name.endswith("__c")
        if not known:
            raise ConfigError(f"Salesforce connector does not handle {entity!r}")
        if not self.schema.has(name):
            raise ConfigError(f"Salesforce object {name} is not available in this org")
        return name

    def org_currency(self) -> str:
        """The currency of records without a CurrencyIsoCode: ``settings.currency`` when
        configured, else the org's DefaultCurrencyIsoCode (read once per connection)."""
        if self.settings.currency is not None:
            return self.settings.currency
        if self._org_currency is None:
            self._org_currency = self._read_org_currency()
        return self._org_currency

    def _read_org_currency(self) -> str:
        problems: list[str] = []

        def fetch(sf: Any) -> dict[str, Any] | None:
            try:
                return dict(sf.query(ORG_CURRENCY_QUERY))
            except SalesforceExpiredSession:
                raise
            except SalesforceError as exc:
                error = classify("org currency", exc)
                if isinstance(error, FatalError) or error_code(exc)[0] in HIDDEN_CODES:
                    problems.append(str(error))
                    return None
                raise

        body = self.client.call("org currency", fetch)
        records = (body or {}).get("records") or []
        value = records[0].get("DefaultCurrencyIsoCode") if records else None
        if value:
            try:
                return normalize_currency(str(value))
            except ValueError:
                problems.append(f"Organization.DefaultCurrencyIsoCode {value!r} is not ISO 4217")
        log.warning(
            "salesforce.org_currency_unreadable",
            reason=problems[0] if problems else "Organization query returned no currency",
            fallback=FALLBACK_CURRENCY,
            message=(
                f"cannot read the Salesforce org's default currency; records without "
                f"CurrencyIsoCode are taken as {FALLBACK_CURRENCY}: set the Salesforce "
                "connection's `currency` setting to the org's currency"
            ),
        )
        return FALLBACK_CURRENCY

    def available_objects(self) -> list[str]:
        objects = self.schema.objects()
        return [o for o in (*STANDARD_OBJECTS, *CPQ_OBJECTS) if o in objects]

    # -- reading ------------------------------------------------------------------------

    def _reader(self) -> SalesforceReader:
        return SalesforceReader(self.client, self.schema, now=self._now)

    def read_raw(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> Iterator[RawRecord]:
        return self._reader().read(self.sobject(entity), since, limit)

    def read(
        self, entity: str, since: Cursor | None = None, *, limit: int | None = None
    ) -> ReadStream:
        sobject = self.sobject(entity)
        convert = self._converter(entity, sobject)
        reader = self._reader()

        def records() -> Iterator[Record]:
            for raw in reader.read(sobject, since, limit):
                try:
                    record = convert(raw.data)
                    if raw.deleted and not record.extra.get("is_deleted"):
                        # queryAll tombstone: say so on the canonical record too
                        record = record.model_copy(
                            update={"extra": {**record.extra, "is_deleted": True}}
                        )
                    yield record
                except (MappingError, ValueError) as exc:
                    stream.errors.append(exc)  # record-level: reported, the rest goes on

        stream = ReadStream(records(), lambda: reader.final_cursor(since))
        return stream

    def deleted_ids(
        self, entity: str, start: datetime, end: datetime
    ) -> list[tuple[str, datetime]]:
        """(Id, deletedDate) of records deleted in [start, end] from Salesforce's delete log
        (15 days at most, possibly purged sooner: capture daily). Bounds go out in UTC."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("deleted_ids needs timezone-aware bounds")
        sobject = self.sobject(entity)

        def fetch(sf: Any) -> dict[str, Any]:
            handle = getattr(sf, sobject)
            return dict(handle.deleted(start.astimezone(UTC), end.astimezone(UTC)))

        body = self.client.call(f"deleted {sobject}", fetch)
        out = []
        for item in body.get("deletedRecords") or []:
            when = parse_datetime(item.get("deletedDate"))
            assert when is not None
            out.append((str(item["id"]), when))
        return out

    def _converter(self, entity: str, sobject: str) -> Callable[[Mapping[str, Any]], Record]:
        """The shipped mapping spec for (sObject, entity), else our built-in conversion."""
        try:
            spec = find_default_spec(self.system, object=sobject, entity=entity)
        except ConfigError:
            fallback = to_canonical.CONVERTERS.get(entity)
            if fallback is None:
                raise ConfigError(
                    f"no canonical mapping for Salesforce {sobject} -> {entity}; use read_raw"
                ) from None
            return lambda raw: fallback(raw, self._ctx)

        def mapped(raw: Mapping[str, Any]) -> Record:
            if raw.get("CurrencyIsoCode") is None:
                # single-currency org: the field does not exist, the org has one currency
                raw = {**raw, "CurrencyIsoCode": self.org_currency()}
            if sobject == "Opportunity":
                raw = self._with_net_prices(raw)
            value = apply_spec(spec, raw, where=f"Salesforce {sobject} {raw.get('Id')}").value
            assert isinstance(value, Record)
            return value

        return mapped

    def _with_net_prices(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of an Opportunity whose line items carry ``NET_UNIT_PRICE``: the spec
        language has no arithmetic, and UnitPrice is the price before the line Discount."""
        block = raw.get("OpportunityLineItems")
        if not isinstance(block, Mapping) or not block.get("records"):
            return dict(raw)
        currency = str(raw.get("CurrencyIsoCode") or self.org_currency())
        records = [
            {**item, NET_UNIT_PRICE: to_canonical.net_unit_price(item, currency)}
            for item in block["records"]
        ]
        return {**raw, "OpportunityLineItems": {**block, "records": records}}

    def lookup(self, entity: str, external_ids: Sequence[str]) -> dict[str, Record]:
        sobject = self.sobject(entity)
        field = self.settings.external_id_field(sobject)
        convert = self._converter(entity, sobject)
        fields = self.schema.fields(sobject)
        if field not in fields:
            raise ConfigError(f"{sobject} has no external id field {field} (or it is hidden)")
        child = self.schema.child(sobject)
        found: dict[str, Record] = {}
        ids = list(dict.fromkeys(external_ids))
        for start in range(0, len(ids), LOOKUP_CHUNK):
            query = soql.by_values(fields, sobject, child, field, ids[start : start + LOOKUP_CHUNK])
            for row in self._query_list(query):
                found[str(row[field])] = convert(row)
        return found

    def _query_list(self, query: str) -> list[dict[str, Any]]:
        def run(sf: Any) -> list[dict[str, Any]]:
            return list(sf.query_all_iter(query))

        return self.client.call("lookup", run)

    # -- writing ------------------------------------------------------------------------

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        return self._writer.write(intents)

    def write_sync_status(
        self, entity: str, updates: Mapping[str, tuple[str, str | None]]
    ) -> dict[str, WriteResult]:
        """Write sync outcomes onto source records: ``{record Id: (status, message)}``."""
        return self._writer.write_sync_status(self.sobject(entity), updates)

    # -- check / describe ---------------------------------------------------------------

    def check(self) -> CheckReport:
        try:
            self.client.tokens.get()
        except BillbridgeError as exc:
            return CheckReport(ok=False, system=self.system, messages=[scrub_text(str(exc))])
        messages: list[str] = []
        permissions: dict[str, bool] = {}
        try:
            objects = self.schema.objects()
            for name in STANDARD_OBJECTS:
                permissions[f"{name}:read"] = name in objects
            limits = self.client.call("limits", lambda sf: sf.limits())
        except BillbridgeError as exc:
            return CheckReport(
                ok=False, system=self.system, authenticated=True, messages=[scrub_text(str(exc))]
            )
        daily = limits.get("DailyApiRequests") or {}
        limit, remaining = daily.get("Max"), daily.get("Remaining")
        used = int(limit) - int(remaining) if limit is not None and remaining is not None else None
        missing = [k for k, v in permissions.items() if not v]
        if missing:
            messages.append(f"not visible to the integration user: {', '.join(missing)}")
        budget_ok = used is None or not limit or used < self.settings.stop_at_overall_share * limit
        if not budget_ok:
            messages.append(f"daily API use {used}/{limit} is past the configured ceiling")
        return CheckReport(
            ok=not missing and budget_ok,
            system=self.system,
            authenticated=True,
            permissions=permissions,
            api_budget_used=used,
            api_budget_limit=int(limit) if limit is not None else None,
            messages=messages,
        )

    def describe(self, entity: str) -> list[FieldInfo]:
        return self.schema.field_info(self.sobject(entity))


def connect(settings: SalesforceSettings, **kwargs: Any) -> SalesforceConnector:
    """Build a connector; nothing is fetched until the first call."""
    return SalesforceConnector(settings, **kwargs)
