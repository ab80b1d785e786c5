"""Incremental reads from Zuora: ZOQL finds what changed, v1 GETs return the real shapes.

ZOQL has no ORDER BY, so the (small) key rows of the window are sorted here by
(UpdatedDate, key); details are then fetched lazily in that order, which makes a
``limit``-capped read checkpointable on the keyset. Credit memos are not ZOQL-queryable:
they are paged newest first from ``/v1/creditmemos`` until the window's lower bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from billbridge.errors import ConfigError
from connectors.base import Cursor, RawRecord
from connectors.zuora.client import ZuoraClient
from connectors.zuora.errors import ZuoraRejected
from connectors.zuora.timeutil import tenant_datetime, zoql_literal

Fetch = Callable[[ZuoraClient, str], dict[str, Any]]


def fetch_account(client: ZuoraClient, key: str) -> dict[str, Any]:
    return client.get(f"/v1/accounts/{key}")


def fetch_subscription(client: ZuoraClient, key: str) -> dict[str, Any]:
    body = client.get(f"/v1/subscriptions/{key}")
    if not body.get("currency"):
        # Older API versions carry the currency on charges only.
        charges = [c for p in body.get("ratePlans") or [] for c in p.get("ratePlanCharges") or []]
        currencies = {c.get("currency") for c in charges} - {None}
        if len(currencies) == 1:
            body["currency"] = currencies.pop()
    return body


def fetch_invoice(client: ZuoraClient, key: str) -> dict[str, Any]:
    body = client.get(f"/v1/invoices/{key}")
    body["invoiceItems"] = list(client.pages(f"/v1/invoices/{body['id']}/items", "invoiceItems"))
    return body


def fetch_payment(client: ZuoraClient, key: str) -> dict[str, Any]:
    return client.get(f"/v1/payments/{key}")


def fetch_credit_memo(client: ZuoraClient, key: str) -> dict[str, Any]:
    return client.get(f"/v1/creditmemos/{key}")


@dataclass(frozen=True)
class EntitySpec:
    zuora_object: str
    #: ZOQL field holding the stable business key (None: not ZOQL-queryable)
    key_field: str | None
    fetch: Fetch


SPECS: dict[str, EntitySpec] = {
    "customer": EntitySpec("Account", "AccountNumber", fetch_account),
    "subscription": EntitySpec("Subscription", "Name", fetch_subscription),
    "invoice": EntitySpec("Invoice", "InvoiceNumber", fetch_invoice),
    "payment": EntitySpec("Payment", "PaymentNumber", fetch_payment),
    "credit_memo": EntitySpec("CreditMemo", None, fetch_credit_memo),
}


def spec_for(entity: str) -> EntitySpec:
    try:
        return SPECS[entity]
    except KeyError:
        raise ConfigError(
            f"Zuora connector does not read {entity!r}; known: {', '.join(sorted(SPECS))}"
        ) from None


class ZuoraReader:
    def __init__(
        self,
        client: ZuoraClient,
        *,
        lookback: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.zone = client.settings.zone
        self.lookback = lookback
        self.clock = clock
        #: Keyset of the last record handed out (set while iterating).
        self.last: tuple[datetime, str] | None = None

    def read(self, entity: str, since: Cursor | None, limit: int | None) -> Iterator[RawRecord]:
        spec = spec_for(entity)
        upper = self.clock()
        keys = (
            self._zoql_keys(spec, since, upper)
            if spec.key_field
            else self._listed_keys(since, upper)
        )
        for count, (stamp, key) in enumerate(keys):
            if limit is not None and count >= limit:
                return
            data = spec.fetch(self.client, key)
            data.setdefault(
                "updatedDate", stamp.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
            )
            data.pop("success", None)
            self.last = (stamp, key)
            yield RawRecord(entity=entity, data=data, where=f"zuora {spec.zuora_object} {key}")

    def final_cursor(self, since: Cursor | None) -> Cursor | None:
        if self.last is None:
            return since
        return Cursor(watermark=self.last[0], last_id=self.last[1])

    def _bounds(self, since: Cursor | None) -> tuple[datetime | None, Cursor | None]:
        if since is None or since.watermark is None:
            return None, None
        # Run start: step back by the lookback and forget the tie-break (rows commit late).
        if self.lookback:
            return since.watermark - self.lookback, None
        return since.watermark, since

    def _zoql_keys(
        self, spec: EntitySpec, since: Cursor | None, upper: datetime
    ) -> Iterator[tuple[datetime, str]]:
        lower, tie = self._bounds(since)
        key_field = spec.key_field
        assert key_field is not None
        where = [f"UpdatedDate <= '{zoql_literal(upper, self.zone)}'"]
        if lower is not None:
            where.append(f"UpdatedDate >= '{zoql_literal(lower, self.zone)}'")
        query = (
            f"select Id, {spec.key_field}, UpdatedDate from {spec.zuora_object} "
            f"where {' and '.join(where)}"
        )
        newest: dict[str, datetime] = {}
        for row in self.client.zoql(query):
            key = str(row[key_field])
            stamp = tenant_datetime(row["UpdatedDate"], self.zone)
            assert stamp is not None
            # Subscriptions have one row per version; keep the newest stamp per number.
            if key not in newest or stamp > newest[key]:
                newest[key] = stamp
        yield from _after(sorted((s, k) for k, s in newest.items()), tie)

    def _listed_keys(self, since: Cursor | None, upper: datetime) -> Iterator[tuple[datetime, str]]:
        lower, tie = self._bounds(since)
        rows: list[tuple[datetime, str]] = []
        for memo in self.client.pages("/v1/creditmemos", "creditmemos", sort="-updatedDate"):
            stamp = tenant_datetime(memo.get("updatedDate"), self.zone)
            assert stamp is not None
            if lower is not None and stamp < lower:
                break  # newest first: everything further is older than the window
            if stamp <= upper:
                rows.append((stamp, str(memo["number"])))
        yield from _after(sorted(rows), tie)

    def lookup(self, entity: str, keys: list[str]) -> dict[str, RawRecord]:
        spec = spec_for(entity)
        found: dict[str, RawRecord] = {}
        for key in keys:
            try:
                data = spec.fetch(self.client, key)
            except ZuoraRejected as exc:
                if exc.not_found:
                    continue
                raise
            data.pop("success", None)
            found[key] = RawRecord(entity=entity, data=data, where=f"zuora lookup {key}")
        return found


def _after(rows: list[tuple[datetime, str]], tie: Cursor | None) -> Iterator[tuple[datetime, str]]:
    """Rows strictly after the stored keyset (only used when there is no lookback)."""
    for stamp, key in rows:
        if (
            tie is not None
            and tie.watermark is not None
            and (stamp, key)
            <= (
                tie.watermark,
                tie.last_id or "",
            )
        ):
            continue
        yield stamp, key
