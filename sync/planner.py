"""Plan: lifecycle events become write intents for the target (pure functions).

Zuora gets Orders API actions (CreateSubscription, AddProduct, UpdateProduct, RemoveProduct,
TermsAndConditions, RenewSubscription, CancelSubscription, each with trigger dates) and
account creates/updates; NetSuite gets customer and sales-order upserts by external id,
which are naturally idempotent. Every intent's key is deterministic (target, entity, source
record, source version, action, line, mapping version, and a digest of the payload, target
record and the last synced content it is planned from), so replanning the same change after
a crash yields the same keys and the outbox deduplicates them, while a different change
under an unchanged version (two Salesforce saves in one second share their SystemModstamp)
gets a key of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import AwareDatetime, Field

from billbridge.errors import RecordRejected
from canonical import (
    Contract,
    Customer,
    Frozen,
    Record,
    WriteIntent,
    WriteOp,
    idempotency_key,
)
from canonical.intents import content_digest
from sync import netsuite_payloads as nsp
from sync import zuora_payloads as zp
from sync.events import EventKind, LifecycleEvent, content_hash, manual_reasons, record_events
from sync.settings import TargetKind

#: Builds a vendor payload from a canonical record (an outbound mapping spec).
PayloadBuilder = Callable[[Record], dict[str, Any]]
#: Used as the mapping version when a job names no mapping spec for an entity.
BUILTIN_MAPPING_VERSION = "builtin-planner-v1"
_PREFIX = {"salesforce": "SF", "zuora": "ZUORA", "netsuite": "NS"}


class PlannedChange(Frozen):
    """One source record's change: what happened (events) and what we will write (intents)."""

    entity: str
    source_system: str
    source_id: str
    source_version: str
    label: str
    events: tuple[LifecycleEvent, ...]
    intents: tuple[WriteIntent, ...]
    #: why this version is written nowhere and needs a person (AR exception report); its
    #: snapshot keeps the last synced content, so later changes are planned from there
    manual: tuple[str, ...] = ()


class Plan(Frozen):
    job: str
    target_kind: TargetKind
    created_at: AwareDatetime
    mapping_versions: dict[str, str] = Field(default_factory=dict)
    changes: tuple[PlannedChange, ...] = ()
    #: unfinished intents of earlier runs, finished before anything new
    resumed: tuple[WriteIntent, ...] = ()
    #: records left out because their mapping failed ("entity id: why")
    errors: tuple[str, ...] = ()

    def intents(self) -> list[WriteIntent]:
        return [i for c in self.changes for i in c.intents]

    def source_versions(self) -> dict[str, str]:
        return {f"{c.entity}:{c.source_id}": c.source_version for c in self.changes}

    def fingerprint(self) -> str:
        """sha256 over every write: its key and what it sends (the sign-off names it, so an
        edited plan file shows another fingerprint)."""
        writes = sorted(
            f"{i.idempotency_key}\x1f{json.dumps(i.model_dump(mode='json'), sort_keys=True)}"
            for i in self.intents()
        )
        return hashlib.sha256("\n".join(writes).encode()).hexdigest()

    @property
    def empty(self) -> bool:
        return not self.changes and not self.resumed


def external_id(source_system: str, source_id: str) -> str:
    """Our id for a record in the target: ``SF-<id>`` (letters, digits, ``-``, ``_`` only)."""
    prefix = _PREFIX.get(source_system, source_system.upper()[:6])
    return f"{prefix}-{source_id}"


def is_create(intent: WriteIntent) -> bool:
    """Creates must be looked up before any resend; a Zuora subscription is created by an
    order action."""
    return intent.op == WriteOp.CREATE or intent.action == "CreateSubscription"


#: order actions written per contract line: the line is in the key (``part``) and in the
#: payload (``body.<action>.uniqueToken``)
_LINE_ACTIONS = {
    "AddProduct": "addProduct",
    "UpdateProduct": "updateProduct",
    "RemoveProduct": "removeProduct",
}


def legacy_key(intent: WriteIntent) -> str:
    """The key this intent had before keys covered its content (version, action, line and
    mapping only), as outbox rows written by earlier releases carry it: a write already in
    the outbox under it is not planned again (see ``sync.runner``)."""
    op_token = str(intent.op) + (f":{intent.action}" if intent.action else "")
    field = _LINE_ACTIONS.get(intent.action or "")
    if intent.target_system == "zuora" and field:
        token = ((intent.payload.get("body") or {}).get(field) or {}).get("uniqueToken")
        if token:
            op_token += f":{token}"
    return idempotency_key(
        target_system=intent.target_system,
        entity=intent.entity,
        source_system=intent.source_system,
        source_id=intent.source_id,
        source_version=intent.source_version,
        op=op_token,
        mapping_version=intent.mapping_version,
    )


def entity_of(record: Record) -> str:
    if isinstance(record, Customer):
        return "customer"
    if isinstance(record, Contract):
        return "contract"
    raise TypeError(f"{record.source_id}: cannot sync a {type(record).__name__}")


def build_plan(
    job: str,
    target_kind: TargetKind,
    pairs: Iterable[tuple[Record | None, Record]],
    *,
    mapping_versions: dict[str, str],
    created_at: AwareDatetime,
    resumed: Sequence[WriteIntent] = (),
    catalog: Mapping[str, tuple[str, str | None]] | None = None,
    builders: Mapping[str, PayloadBuilder] | None = None,
    known_changed: bool = False,
) -> Plan:
    """A plan from (last synced, current) record pairs; unchanged records are left out.

    ``catalog`` maps a SKU to its Zuora (productRatePlanId, productRatePlanChargeId).
    ``known_changed``: every pair is known to differ (the runner filtered unchanged ones).
    ``builders`` (entity -> function) build create payloads from the analysts' outbound
    mapping specs; without one the built-in payloads are used. A record its spec cannot
    map is left out of the plan and listed in ``Plan.errors`` (its change is not lost: the
    runner keeps the cursor until it maps).
    """
    cat = zp.Catalog(catalog or {})
    build = dict(builders or {})
    errors: list[str] = []
    ordered = sorted(pairs, key=lambda p: (entity_of(p[1]) != "customer", p[1].source_id))
    new_customers: dict[str, str] = {}
    changes: list[PlannedChange] = []
    for before, after in ordered:
        events = record_events(before, after, known_changed=known_changed)
        if not events:
            continue
        entity = entity_of(after)
        version = mapping_versions.get(entity, BUILTIN_MAPPING_VERSION)
        manual = manual_reasons(events)
        if manual:
            # No write: whatever else changed in this version would land on the wrong
            # (deleted, differently owned, ...) record in the target.
            changes.append(_change(after, entity, events, (), manual))
            continue
        # what the writes are planned from: part of their keys (see _intent)
        basis = content_hash(before) if before is not None else ""
        try:
            if target_kind == "zuora":
                intents = _zuora_intents(
                    before, after, events, version, new_customers, cat, build, basis
                )
            else:
                intents = _netsuite_intents(after, events, version, new_customers, build, basis)
        except RecordRejected as exc:
            errors.append(f"{entity} {after.source_id}: {exc}")
            continue
        if isinstance(after, Customer) and intents:
            new_customers[after.source_id] = intents[0].idempotency_key
        changes.append(_change(after, entity, events, intents, ()))
    return Plan(
        job=job,
        target_kind=target_kind,
        created_at=created_at,
        mapping_versions=dict(mapping_versions),
        changes=tuple(changes),
        resumed=tuple(resumed),
        errors=tuple(errors),
    )


def _change(
    after: Record,
    entity: str,
    events: list[LifecycleEvent],
    intents: Sequence[WriteIntent],
    manual: tuple[str, ...],
) -> PlannedChange:
    return PlannedChange(
        entity=entity,
        source_system=after.source_system,
        source_id=after.source_id,
        source_version=after.version_token(),
        label=_label(after),
        events=tuple(events),
        intents=tuple(intents),
        manual=manual,
    )


def _with_crosswalk(rec: Record, **ids: str) -> Record:
    """The record with our target ids in its crosswalk, where the specs read them."""
    return rec.model_copy(update={"crosswalk": {**rec.crosswalk, **ids}})


def _label(rec: Record) -> str:
    if isinstance(rec, Customer):
        return rec.name
    if isinstance(rec, Contract):
        return rec.number or rec.source_id
    return rec.source_id


def _intent(
    rec: Record,
    *,
    target: str,
    entity: str,
    op: WriteOp,
    ext_id: str,
    payload: dict[str, Any],
    mapping_version: str,
    basis: str,
    action: str | None = None,
    part: str | None = None,
    depends_on: tuple[str, ...] = (),
) -> WriteIntent:
    # ``part`` (a contract line) keeps two actions of one record version apart. The content
    # digest keeps two different writes of one version apart: a source version token need
    # not change with every save (SystemModstamp: one-second resolution), and the key of an
    # applied write given to a new one drops the new one as already in the outbox. ``basis``
    # (the last synced content) keeps a save that goes back to an earlier content of the
    # same version (A, B, A) apart from the first A. Planned again from the same snapshot
    # (after a crash, for a saved plan), the same change gets the same key.
    op_token = str(op) + (f":{action}" if action else "") + (f":{part}" if part else "")
    key = idempotency_key(
        target_system=target,
        entity=entity,
        source_system=rec.source_system,
        source_id=rec.source_id,
        source_version=rec.version_token(),
        op=op_token,
        mapping_version=mapping_version,
        content=content_digest(payload, external_id=ext_id, basis=basis),
    )
    return WriteIntent(
        idempotency_key=key,
        target_system=target,
        entity=entity,
        op=op,
        external_id=ext_id,
        payload=payload,
        source_system=rec.source_system,
        source_id=rec.source_id,
        source_version=rec.version_token(),
        mapping_version=mapping_version,
        action=action,
        depends_on=depends_on,
    )


# -- Zuora ----------------------------------------------------------------------------
def _zuora_intents(
    before: Record | None,
    rec: Record,
    events: list[LifecycleEvent],
    version: str,
    new_customers: dict[str, str],
    cat: zp.Catalog,
    build: dict[str, PayloadBuilder],
    basis: str,
) -> list[WriteIntent]:
    if isinstance(rec, Customer):
        account = rec.id_in("zuora") or external_id(rec.source_system, rec.source_id)
        new = events[0].kind == EventKind.NEW_CUSTOMER
        payload = zp.account(rec, account)
        if "customer" in build:
            mapped = build["customer"](_with_crosswalk(rec, zuora=account))
            payload = {**mapped, "accountNumber": account}
        return [
            _intent(
                rec,
                target="zuora",
                entity="customer",
                op=WriteOp.CREATE if new else WriteOp.UPDATE,
                ext_id=account,
                payload=payload,
                mapping_version=version,
                basis=basis,
            )
        ]
    assert isinstance(rec, Contract)
    sub = rec.id_in("zuora") or external_id(rec.source_system, rec.source_id)
    account = external_id(rec.source_system, rec.customer_id)
    deps = (new_customers[rec.customer_id],) if rec.customer_id in new_customers else ()
    lines = {ln.line_id: ln for ln in rec.lines}
    old_lines = {ln.line_id: ln for ln in before.lines} if isinstance(before, Contract) else {}
    intents: list[WriteIntent] = []

    def add(
        action: str,
        order_action: dict[str, Any],
        *,
        part: str | None = None,
        op: WriteOp = WriteOp.ACTION,
    ) -> None:
        payload = zp.order(account, sub, order_action)
        intents.append(
            _intent(
                rec,
                target="zuora",
                entity="subscription",
                op=op,
                ext_id=sub,
                payload=payload,
                mapping_version=version,
                basis=basis,
                action=action,
                part=part,
                depends_on=deps,
            )
        )

    updated: set[str] = set()
    for ev in events:
        when = ev.effective_date
        if ev.kind == EventKind.NEW_SUBSCRIPTION:
            # An order action, not a plain create: the Zuora connector sends it in an order.
            if "contract" in build:
                order = build["contract"](_with_crosswalk(rec, zuora_account=account))
                add("CreateSubscription", zp.from_order_body(order, sub))
            else:
                add("CreateSubscription", zp.create_subscription(rec, sub, cat))
        elif ev.kind == EventKind.ADD_PRODUCT and ev.line_id:
            add("AddProduct", zp.add_product(lines[ev.line_id], when, cat), part=ev.line_id)
        elif ev.kind in (EventKind.QUANTITY_CHANGE, EventKind.PRICE_CHANGE) and ev.line_id:
            if ev.line_id not in updated:  # quantity and price of one line: one action
                updated.add(ev.line_id)
                add(
                    "UpdateProduct",
                    zp.update_product(lines[ev.line_id], when, cat),
                    part=ev.line_id,
                )
        elif ev.kind == EventKind.REMOVE_PRODUCT and ev.line_id in old_lines:
            line = old_lines[ev.line_id]
            add("RemoveProduct", zp.remove_product(line, when, cat), part=ev.line_id)
        elif ev.kind == EventKind.TERM_CHANGE:
            add("TermsAndConditions", zp.terms(rec, when))
        elif ev.kind == EventKind.RENEWAL:
            if isinstance(before, Contract) and before.term_months != rec.term_months:
                # renewed into a new term length: set the renewal term first
                add("TermsAndConditions", zp.renewal_terms(rec, when))
            add("RenewSubscription", zp.renew(when))
        elif ev.kind == EventKind.CANCELLATION:
            add("CancelSubscription", zp.cancel(when))
    return intents


# -- NetSuite -------------------------------------------------------------------------
def _netsuite_intents(
    rec: Record,
    events: list[LifecycleEvent],
    version: str,
    new_customers: dict[str, str],
    build: dict[str, PayloadBuilder],
    basis: str,
) -> list[WriteIntent]:
    if isinstance(rec, Customer):
        ext = rec.id_in("netsuite_external") or external_id(rec.source_system, rec.source_id)
        return [
            _intent(
                rec,
                target="netsuite",
                entity="customer",
                op=WriteOp.UPSERT,
                ext_id=ext,
                payload=(
                    {**build["customer"](_with_crosswalk(rec, netsuite=ext)), "externalId": ext}
                    if "customer" in build
                    else nsp.customer(rec, ext)
                ),
                mapping_version=version,
                basis=basis,
            )
        ]
    assert isinstance(rec, Contract)
    # A sales-order upsert carries the whole order, so every change of a version is one
    # intent (entity "contract": the NetSuite connector's name for sales orders).
    ext = external_id(rec.source_system, rec.source_id)
    deps = (new_customers[rec.customer_id],) if rec.customer_id in new_customers else ()
    return [
        _intent(
            rec,
            target="netsuite",
            entity="contract",
            op=WriteOp.UPSERT,
            ext_id=ext,
            payload=nsp.sales_order(rec, ext, external_id(rec.source_system, rec.customer_id)),
            mapping_version=version,
            basis=basis,
            depends_on=deps,
        )
    ]
