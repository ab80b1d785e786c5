"""Upserts by external id through sObject Collections, and sync-status write-back.

``PATCH composite/sobjects/{SObject}/{ExtIdField}`` takes at most 200 records of one type
and answers HTTP 200 with one result per record in input order, so every item is unpacked.
A batch refused as a whole is bisected so one bad record does not block the other 199; a
single record goes through ``PATCH sobjects/{SObject}/{ExtIdField}/{value}``, where HTTP 300
(several records share the external id) is a reconciliation exception, never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import structlog

from billbridge.errors import (
    BudgetExhausted,
    ConfigError,
    FatalError,
    RecordRejected,
    RetryableError,
)
from canonical import FailureType, ResultStatus, WriteIntent, WriteOp, WriteResult
from connectors.common import wire
from connectors.common.stop import stop_part_way
from connectors.salesforce.client import SalesforceClient

log = structlog.get_logger(__name__)

MAX_BATCH = 200
RETRY_ITEM_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
CONFIG_ITEM_CODES = frozenset({"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "INVALID_TYPE"})


def item_result(key: str, item: Mapping[str, Any]) -> WriteResult:
    """One Collections result item -> our result."""
    if item.get("success"):
        return WriteResult(
            idempotency_key=key, status=ResultStatus.APPLIED, target_id=item.get("id")
        )
    errors = item.get("errors") or [{}]
    code = str(errors[0].get("statusCode") or "UNKNOWN")
    message = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
    if code in RETRY_ITEM_CODES:
        return WriteResult(
            idempotency_key=key,
            status=ResultStatus.RETRYABLE,
            error_code=code,
            message=message,
            failure_type=FailureType.TRANSIENT,
        )
    failure = FailureType.CONFIG if code in CONFIG_ITEM_CODES else FailureType.DATA
    return WriteResult(
        idempotency_key=key,
        status=ResultStatus.REJECTED,
        error_code=code,
        message=message,
        failure_type=failure,
    )


class SalesforceWriter:
    def __init__(self, client: SalesforceClient, resolve: Callable[[str], str]) -> None:
        self.client = client
        self.settings = client.settings
        self.resolve = resolve  # canonical entity or sObject name -> sObject name

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        groups: dict[str, list[WriteIntent]] = {}
        for intent in intents:
            if intent.op is WriteOp.DELETE or intent.op is WriteOp.ACTION:
                results[intent.idempotency_key] = WriteResult(
                    idempotency_key=intent.idempotency_key,
                    status=ResultStatus.REJECTED,
                    error_code="BB_UNSUPPORTED",
                    failure_type=FailureType.CONFIG,
                    message=f"Salesforce connector only upserts; got {intent.op.value}",
                )
                continue
            groups.setdefault(self.resolve(intent.entity), []).append(intent)
        try:
            for sobject, group in groups.items():
                for start in range(0, len(group), MAX_BATCH):
                    self._upsert(sobject, group[start : start + MAX_BATCH], results)
        except (BudgetExhausted, FatalError, ConfigError) as exc:
            # Quota, auth or configuration: the run stops. What was written stays written;
            # what was not sent stays pending (quota) or is looked up (auth).
            log.warning("salesforce.write_stopped", error=type(exc).__name__, done=len(results))
            raise stop_part_way(intents, results, exc) from None
        return [results[i.idempotency_key] for i in intents]

    def _record(self, sobject: str, intent: WriteIntent) -> dict[str, Any]:
        record = {k: v for k, v in intent.payload.items() if k not in {"Id", "attributes"}}
        record[self.settings.external_id_field(sobject)] = intent.external_id
        return record

    def _upsert(
        self, sobject: str, batch: list[WriteIntent], results: dict[str, WriteResult]
    ) -> None:
        """Upsert ``batch``, putting each result into ``results`` as soon as it is known
        (a run-level error raised later must not lose them)."""
        if len(batch) == 1:
            results[batch[0].idempotency_key] = self._upsert_one(sobject, batch[0])
            return
        ext = self.settings.external_id_field(sobject)
        records = [{"attributes": {"type": sobject}, **self._record(sobject, i)} for i in batch]
        body = wire.dumps({"allOrNone": False, "records": records})
        try:
            items = self.client.call(
                f"upsert {sobject}",
                lambda sf: sf.restful(
                    f"composite/sobjects/{sobject}/{ext}", method="PATCH", data=body
                ),
            )
        except RecordRejected as exc:
            # The whole request was refused: bisect until the bad record stands alone.
            log.warning(
                "salesforce.batch_rejected", sobject=sobject, size=len(batch), code=exc.code
            )
            half = len(batch) // 2
            self._upsert(sobject, batch[:half], results)
            self._upsert(sobject, batch[half:], results)
            return
        except RetryableError as exc:
            results.update((i.idempotency_key, _retryable(i, exc)) for i in batch)
            return
        if not isinstance(items, list) or len(items) != len(batch):
            raise RetryableError(f"Salesforce upsert {sobject}: result count does not match")
        log.info(
            "salesforce.upsert",
            sobject=sobject,
            size=len(batch),
            failed=sum(1 for i in items if not i.get("success")),
        )
        for intent, item in zip(batch, items, strict=True):
            results[intent.idempotency_key] = item_result(intent.idempotency_key, item)

    def _upsert_one(self, sobject: str, intent: WriteIntent) -> WriteResult:
        ext = self.settings.external_id_field(sobject)
        path = f"sobjects/{sobject}/{ext}/{quote(intent.external_id, safe='')}"
        body = wire.dumps({k: v for k, v in self._record(sobject, intent).items() if k != ext})
        try:
            reply = self.client.call(
                f"upsert {sobject}", lambda sf: sf.restful(path, method="PATCH", data=body)
            )
        except RecordRejected as exc:
            failure = FailureType.DATA
            return WriteResult(
                idempotency_key=intent.idempotency_key,
                status=ResultStatus.REJECTED,
                error_code=exc.code,
                message=str(exc),
                failure_type=failure,
            )
        except RetryableError as exc:
            return _retryable(intent, exc)
        target = (reply or {}).get("id") if isinstance(reply, dict) else None
        return WriteResult(
            idempotency_key=intent.idempotency_key, status=ResultStatus.APPLIED, target_id=target
        )

    def write_sync_status(
        self, sobject: str, updates: Mapping[str, tuple[str, str | None]]
    ) -> dict[str, WriteResult]:
        """Write the sync outcome onto source records: ``{record Id: (status, message)}``."""
        field = self.settings.sync_status_field
        if field is None:
            raise ConfigError("sync_status_field is not configured for Salesforce write-back")
        note = self.settings.sync_message_field
        ids = list(updates)
        results: dict[str, WriteResult] = {}
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            records = []
            for record_id in chunk:
                status, message = updates[record_id]
                record: dict[str, Any] = {
                    "attributes": {"type": sobject},
                    "id": record_id,
                    field: status,
                }
                if note:
                    record[note] = (message or "")[:255] or None
                records.append(record)
            items = self._update_collection(sobject, records)
            for record_id, item in zip(chunk, items or [], strict=True):
                results[record_id] = item_result(record_id, item)
        return results

    def _update_collection(self, sobject: str, records: list[dict[str, Any]]) -> list[Any]:
        body = wire.dumps({"allOrNone": False, "records": records})

        def send(sf: Any) -> Any:
            return sf.restful("composite/sobjects", method="PATCH", data=body)

        return list(self.client.call(f"sync status {sobject}", send) or [])


def _retryable(intent: WriteIntent, exc: RetryableError) -> WriteResult:
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=ResultStatus.RETRYABLE,
        message=str(exc),
        failure_type=FailureType.TRANSIENT,
        retry_after=exc.retry_after,
    )
