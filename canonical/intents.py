"""Write intents (what we mean to change in a target) and their per-record results.

The idempotency key is deterministic: the same change always yields the same key, a
corrected record (new source version), a new mapping, or (for record sync) new content
under an unchanged version yields a new one.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import Field

from canonical.base import Frozen


class WriteOp(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    ACTION = "action"  # e.g. a Zuora order action such as RenewSubscription


class FailureType(StrEnum):
    CONFIG = "config"  # analyst fixes configuration; run stops
    DATA = "data"  # AR/analyst fixes the record; the rest goes on
    TRANSIENT = "transient"  # retried automatically
    SYSTEM = "system"  # on-call


class ResultStatus(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    REJECTED = "rejected"
    RETRYABLE = "retryable"
    #: Outcome unknown (timeout after the request left): read before retrying.
    UNKNOWN = "unknown"


def idempotency_key(
    *,
    target_system: str,
    entity: str,
    source_system: str,
    source_id: str,
    source_version: str,
    op: str,
    mapping_version: str,
    content: str | None = None,
) -> str:
    """sha256 over the fields that identify one change; hex, 64 chars (fits Zuora's 255).

    ``content`` (:func:`content_digest`): what the write carries. A source version is not
    always bumped by every save (Salesforce ``SystemModstamp`` has one-second resolution:
    two saves in one second share it), so the version alone would give a second, different
    write the key of the first one, and the outbox would drop it as already queued. Without
    ``content`` the key is the one keys had before it was added (kept for cash payments,
    whose version already names what they apply, and to recognise outbox rows keyed so).
    """
    parts = [target_system, entity, source_system, source_id, source_version, op, mapping_version]
    if content:
        parts.append(content)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def content_digest(payload: dict[str, Any], *, external_id: str, basis: str = "") -> str:
    """sha256 over a write's payload and target record, and ``basis`` (what the write is
    planned from, e.g. the last synced content): the same write planned again gets the same
    digest, a different one (other content, other target, other starting point) another."""
    blob = json.dumps(
        {"payload": payload, "external_id": external_id, "basis": basis},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class WriteIntent(Frozen):
    idempotency_key: str
    target_system: str
    entity: str
    op: WriteOp
    #: Our id for the record in the target (external id), used for upsert and read-before-retry.
    external_id: str
    payload: dict[str, Any]
    source_system: str
    source_id: str
    source_version: str
    mapping_version: str
    #: Business number in the target (tranid, order number) when one is known.
    business_number: str | None = None
    action: str | None = None
    depends_on: tuple[str, ...] = Field(default=())

    @classmethod
    def build(cls, **fields: Any) -> WriteIntent:
        key = idempotency_key(
            target_system=fields["target_system"],
            entity=fields["entity"],
            source_system=fields["source_system"],
            source_id=fields["source_id"],
            source_version=fields["source_version"],
            op=str(fields["op"]) + (f":{fields['action']}" if fields.get("action") else ""),
            mapping_version=fields["mapping_version"],
        )
        return cls(idempotency_key=key, **fields)

    def payload_hash(self) -> str:
        blob = json.dumps(self.payload, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


class WriteResult(Frozen):
    idempotency_key: str
    status: ResultStatus
    target_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    failure_type: FailureType | None = None
    #: Seconds the vendor asked us to wait before retrying (Retry-After, RateLimit-Reset).
    retry_after: float | None = None
