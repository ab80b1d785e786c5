"""Change detection: compare a source record with the last synced version (pure functions).

A contract yields subscription lifecycle events (new subscription, add/remove product,
quantity, price and term changes, renewal, cancellation), each with its effective date; a
customer yields a new-customer event or one master-data change event listing the fields
(bill-to, currency, payment terms, tax ids, name) that moved.

Some changes have no safe automatic write and are planned as needing manual handling
(:data:`MANUAL_KINDS`): a synced record deleted in the source (deleting a deal in the CRM
is not a customer cancellation, so nothing is cancelled for it), and a deleted record that
comes back, a contract moved to another currency or account, and a cancelled or expired
contract won again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import Any

from canonical import Contract, ContractLine, ContractStatus, Customer, Frozen, Money, Record

#: Fields that change without the record's content changing; ignored by the content hash.
_VOLATILE = {"source_version", "updated_at", "provenance"}


class EventKind(StrEnum):
    NEW_SUBSCRIPTION = "new_subscription"
    ADD_PRODUCT = "add_product"
    REMOVE_PRODUCT = "remove_product"
    QUANTITY_CHANGE = "quantity_change"
    PRICE_CHANGE = "price_change"
    TERM_CHANGE = "term_change"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"
    NEW_CUSTOMER = "new_customer"
    CUSTOMER_CHANGE = "customer_change"
    DELETED = "deleted_in_source"
    RESTORED = "restored_after_deletion"
    CURRENCY_CHANGE = "currency_change"
    ACCOUNT_CHANGE = "account_change"
    REINSTATEMENT = "reinstatement"


#: Changes the target cannot take automatically: the record's version is written nowhere
#: and goes on the AR exception report (``SYNC_MANUAL_ACTION``) instead.
MANUAL_KINDS = frozenset(
    {
        EventKind.DELETED,
        EventKind.RESTORED,
        # Zuora fixes a subscription's currency by its account, and moving it to another
        # account is an OwnerTransfer order action, not UpdateProduct: never sent as a no-op
        EventKind.CURRENCY_CHANGE,
        EventKind.ACCOUNT_CHANGE,
        # a cancelled Zuora subscription is not reactivated by an order action we could
        # send safely: AR decides between a new subscription and reversing the cancel
        EventKind.REINSTATEMENT,
    }
)


class FieldChange(Frozen):
    field: str
    before: str | None
    after: str | None


class LifecycleEvent(Frozen):
    kind: EventKind
    entity: str  # "contract" or "customer"
    source_system: str
    source_id: str
    source_version: str
    effective_date: date | None = None
    line_id: str | None = None
    changes: tuple[FieldChange, ...] = ()


def is_deleted(record: Record) -> bool:
    """A source tombstone (Salesforce ``queryAll`` row with ``IsDeleted``)."""
    return bool(record.extra.get("is_deleted"))


def manual_reasons(events: list[LifecycleEvent]) -> tuple[str, ...]:
    """Why a record's change needs manual handling (empty: it can be written)."""
    return tuple(
        f"{ev.kind.value.replace('_', ' ')}"
        + (": " if ev.changes else "")
        + "; ".join(
            f"{fc.field} {fc.before or '(none)'} -> {fc.after or '(none)'}" for fc in ev.changes
        )
        for ev in events
        if ev.kind in MANUAL_KINDS
    )


def _deletion_events(
    before: Record | None, after: Record, live_before: bool
) -> list[LifecycleEvent] | None:
    """Events of a tombstone or of a record back from one; None when neither applies.

    A record deleted before it was ever synced (or while nothing of it was live in the
    target) needs nothing; its tombstone is still remembered, so it is not created later. A
    synced live record that was deleted, or a remembered tombstone that comes back live,
    needs a person: the target is left as it is."""
    gone_before = before is not None and is_deleted(before)
    if is_deleted(after):
        if before is None or gone_before or not live_before:
            return []
        change = FieldChange(field="deleted", before="no", after="yes")
        return [_event(EventKind.DELETED, after, changes=(change,))]
    if gone_before:
        live = not isinstance(after, Contract) or after.status == ContractStatus.ACTIVATED
        if not live:
            return []
        change = FieldChange(field="deleted", before="yes", after="no")
        return [_event(EventKind.RESTORED, after, changes=(change,))]
    return None


def content_hash(record: Record) -> str:
    """sha256 of the record's content without volatile fields (a touch is not a change)."""
    return content_hash_of(record.model_dump(mode="json"))


def content_hash_of(data: dict[str, Any]) -> str:
    """:func:`content_hash` from the record's ``model_dump(mode="json")`` (dumped once, also
    stored as its snapshot)."""
    content = {k: v for k, v in data.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def record_events(
    before: Record | None, after: Record, *, known_changed: bool = False
) -> list[LifecycleEvent]:
    """Events that take the target from ``before`` (last synced) to ``after``.

    ``known_changed``: the caller already compared content hashes (skip doing it twice).
    """
    if not known_changed and before is not None and content_hash(before) == content_hash(after):
        return []
    if isinstance(after, Contract):
        if before is not None and not isinstance(before, Contract):
            raise TypeError(f"{after.source_id}: snapshot is a {type(before).__name__}")
        return contract_events(before, after)
    if isinstance(after, Customer):
        if before is not None and not isinstance(before, Customer):
            raise TypeError(f"{after.source_id}: snapshot is a {type(before).__name__}")
        return customer_events(before, after)
    raise TypeError(f"{after.source_id}: cannot sync a {type(after).__name__}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Frozen):
        return json.dumps(value.model_dump(mode="json", exclude_none=True), sort_keys=True)
    if isinstance(value, tuple):
        return "; ".join(_text(v) or "" for v in value) or None
    return str(value)


def _event(kind: EventKind, rec: Record, **kw: Any) -> LifecycleEvent:
    return LifecycleEvent(
        kind=kind,
        entity="customer" if isinstance(rec, Customer) else "contract",
        source_system=rec.source_system,
        source_id=rec.source_id,
        source_version=rec.version_token(),
        **kw,
    )


def _change_date(after: Contract) -> date:
    """When a change without its own date takes effect: the day the source recorded it."""
    return after.updated_at.date() if after.updated_at else after.start_date


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    import calendar

    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def contract_events(before: Contract | None, after: Contract) -> list[LifecycleEvent]:
    live_before = before is not None and before.status == ContractStatus.ACTIVATED
    deletion = _deletion_events(before, after, live_before)
    if deletion is not None:
        return deletion
    live = after.status == ContractStatus.ACTIVATED
    if before is None or before.status == ContractStatus.DRAFT:
        # Drafts are not sold yet; a contract cancelled before its first sync needs nothing.
        if not live:
            return []
        lines = tuple(
            FieldChange(field=f"line {ln.line_id}", before=None, after=_line_text(ln))
            for ln in after.lines
        )
        return [
            _event(
                EventKind.NEW_SUBSCRIPTION, after, effective_date=after.start_date, changes=lines
            )
        ]
    if after.status in (ContractStatus.CANCELLED, ContractStatus.EXPIRED):
        if before.status in (ContractStatus.CANCELLED, ContractStatus.EXPIRED):
            return []
        when = after.cancellation_date or after.end_date or _change_date(after)
        change = FieldChange(field="status", before=before.status, after=after.status)
        return [_event(EventKind.CANCELLATION, after, effective_date=when, changes=(change,))]
    if before.status in (ContractStatus.CANCELLED, ContractStatus.EXPIRED):
        if not live:
            return []  # back to draft: nothing is sold again yet
        change = FieldChange(field="status", before=before.status, after=after.status)
        when = _change_date(after)
        return [_event(EventKind.REINSTATEMENT, after, effective_date=when, changes=(change,))]
    events = _owner_events(before, after)
    terms = _term_events(before, after)
    events.extend(terms)
    renewed = any(ev.kind == EventKind.RENEWAL for ev in terms)
    # Line changes booked with a renewal (a price uplift) belong to the new term.
    new_term = _next_day(before.end_date) if renewed and before.end_date else None
    events.extend(_line_events(before, after, new_term or _change_date(after)))
    return events


def _next_day(day: date) -> date:
    from datetime import timedelta

    return day + timedelta(days=1)


def _owner_events(before: Contract, after: Contract) -> list[LifecycleEvent]:
    """Currency and account moves (shown with the line changes they bring, all unsent)."""
    events = []
    when = _change_date(after)
    if before.currency != after.currency:
        change = FieldChange(field="currency", before=before.currency, after=after.currency)
        events.append(
            _event(EventKind.CURRENCY_CHANGE, after, effective_date=when, changes=(change,))
        )
    if before.customer_id != after.customer_id:
        change = FieldChange(field="account", before=before.customer_id, after=after.customer_id)
        events.append(
            _event(EventKind.ACCOUNT_CHANGE, after, effective_date=when, changes=(change,))
        )
    return events


def _money_text(before: Money, after: Money) -> tuple[str, str]:
    """Amounts always with their currency (``100 USD -> 105 USD``; ``10 USD -> 10 EUR``)."""
    return f"{before.amount} {before.currency}", f"{after.amount} {after.currency}"


def _line_text(line: ContractLine) -> str:
    price = line.net_unit_price
    return f"{line.sku} x {line.quantity} @ {price.amount} {price.currency}"


def _term_events(before: Contract, after: Contract) -> list[LifecycleEvent]:
    fields = ("start_date", "end_date", "term_months", "auto_renew", "billing_period")
    changes = tuple(
        FieldChange(field=f, before=_text(getattr(before, f)), after=_text(getattr(after, f)))
        for f in fields
        if getattr(before, f) != getattr(after, f)
    )
    if not changes:
        return []
    term = after.term_months
    renewed = (
        before.end_date is not None
        and after.end_date is not None
        and before.term_months is not None
        and term is not None
        and after.start_date == before.start_date
        and after.auto_renew == before.auto_renew
        and after.billing_period == before.billing_period
        and after.end_date == _add_months(before.end_date, term)
    )
    if renewed:
        # One more term (of the same or a new length) from the old end: a renewal
        # effective when the old term ends, not a change of the first term.
        return [_event(EventKind.RENEWAL, after, effective_date=before.end_date, changes=changes)]
    return [_event(EventKind.TERM_CHANGE, after, effective_date=after.start_date, changes=changes)]


def _line_events(before: Contract, after: Contract, default: date) -> list[LifecycleEvent]:
    """Line events; ``default`` is when a change without its own date takes effect."""
    old = {ln.line_id: ln for ln in before.lines}
    new = {ln.line_id: ln for ln in after.lines}
    events: list[LifecycleEvent] = []
    for line_id, line in new.items():
        prior = old.get(line_id)
        if prior is None:
            events.append(
                _event(
                    EventKind.ADD_PRODUCT,
                    after,
                    line_id=line_id,
                    effective_date=line.start_date or default,
                    changes=(FieldChange(field="line", before=None, after=_line_text(line)),),
                )
            )
            continue
        when = line.start_date if line.start_date != prior.start_date else default
        if line.quantity != prior.quantity:
            change = FieldChange(
                field="quantity", before=str(prior.quantity), after=str(line.quantity)
            )
            events.append(
                _event(
                    EventKind.QUANTITY_CHANGE,
                    after,
                    line_id=line_id,
                    effective_date=when,
                    changes=(change,),
                )
            )
        if line.net_unit_price != prior.net_unit_price:
            was, now = _money_text(prior.net_unit_price, line.net_unit_price)
            change = FieldChange(field="net_unit_price", before=was, after=now)
            events.append(
                _event(
                    EventKind.PRICE_CHANGE,
                    after,
                    line_id=line_id,
                    effective_date=when,
                    changes=(change,),
                )
            )
    for line_id, prior in old.items():
        if line_id not in new:
            events.append(
                _event(
                    EventKind.REMOVE_PRODUCT,
                    after,
                    line_id=line_id,
                    effective_date=prior.end_date or default,
                    changes=(FieldChange(field="line", before=_line_text(prior), after=None),),
                )
            )
    return events


#: Customer master fields whose change is sent to the target.
CUSTOMER_FIELDS = ("name", "bill_to", "currency", "payment_terms", "tax_ids", "status")


def customer_events(before: Customer | None, after: Customer) -> list[LifecycleEvent]:
    deletion = _deletion_events(before, after, before is not None)
    if deletion is not None:
        return deletion
    if before is None:
        changes = tuple(
            FieldChange(field=f, before=None, after=_text(getattr(after, f)))
            for f in CUSTOMER_FIELDS
            if getattr(after, f) not in (None, ())
        )
        return [_event(EventKind.NEW_CUSTOMER, after, changes=changes)]
    changes = tuple(
        FieldChange(field=f, before=_text(getattr(before, f)), after=_text(getattr(after, f)))
        for f in CUSTOMER_FIELDS
        if getattr(before, f) != getattr(after, f)
    )
    return [_event(EventKind.CUSTOMER_CHANGE, after, changes=changes)] if changes else []
