"""Writes: one result per intent, in order.

REST: upsert by external id (``PUT …/eid:{id}``); update = upsert-only after the record is
found; create looks the external id up first and is never resent after an unknown outcome.
SOAP: ``upsertList`` in batches, per-record status from inside the HTTP 200.
Cash-application payments (entity ``payment``) go through REST only
(:mod:`connectors.netsuite.payments`: invoices resolved by tranId, then upserted).
After an unknown outcome (timeout after send, ``RCRD_HAS_BEEN_CHANGED``) the record is
looked up by external id (or tranid): a found create is ``already_applied``; anything else
is ``unknown`` so the runner reads before it retries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from billbridge.errors import BillbridgeError, FatalError, RecordRejected, RetryableError
from canonical import FailureType, ResultStatus, WriteIntent, WriteOp, WriteResult
from connectors.common.stop import stop_part_way
from connectors.netsuite.errors import OutcomeUnknown
from connectors.netsuite.payments import NetSuitePaymentWriter
from connectors.netsuite.rest import whole_sublists
from connectors.netsuite.settings import NetSuiteSettings

if TYPE_CHECKING:
    from connectors.netsuite.rest import RestTransport
    from connectors.netsuite.soap import SoapTransport
    from connectors.netsuite.sources import Source

log = structlog.get_logger(__name__)
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
SOAP_BATCH = 100


def validate_external_id(intent: WriteIntent, settings: NetSuiteSettings) -> str | None:
    """Why the intent's external id is unusable, or None."""
    eid = intent.external_id
    if not _EXTERNAL_ID.match(eid):
        return (
            f"external id {eid!r} may only contain letters, digits, '_' and '-' "
            "('|' and other characters break NetSuite URLs)"
        )
    prefix = settings.external_id_prefixes.get(intent.source_system)
    if prefix and not eid.startswith(prefix):
        return f"external id {eid!r} lacks the {intent.source_system} prefix {prefix!r}"
    return None


def result_for(
    intent: WriteIntent, error: BillbridgeError, target_id: str | None = None
) -> WriteResult:
    if isinstance(error, OutcomeUnknown):
        status = ResultStatus.UNKNOWN
    elif isinstance(error, RetryableError):
        status = ResultStatus.RETRYABLE
    else:
        status = ResultStatus.REJECTED
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=status,
        target_id=target_id,
        error_code=getattr(error, "code", None),
        message=str(error),
        failure_type=error.failure_type,
        retry_after=getattr(error, "retry_after", None),
    )


def _applied(
    intent: WriteIntent, target_id: str | None, status: ResultStatus = ResultStatus.APPLIED
) -> WriteResult:
    return WriteResult(idempotency_key=intent.idempotency_key, status=status, target_id=target_id)


def _rejected(intent: WriteIntent, message: str, code: str) -> WriteResult:
    return WriteResult(
        idempotency_key=intent.idempotency_key,
        status=ResultStatus.REJECTED,
        error_code=code,
        message=message,
        failure_type=FailureType.DATA,
    )


class RestWriter:
    def __init__(
        self,
        settings: NetSuiteSettings,
        rest: RestTransport,
        source_of: Callable[[str], Source],
        find_by_tranid: Callable[[Source, str], str | None],
    ) -> None:
        self.settings = settings
        self.rest = rest
        self.source_of = source_of
        self.find_by_tranid = find_by_tranid
        self.payments = NetSuitePaymentWriter(rest, page_size=settings.page_size)

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        results = [self._one(intent) for intent in intents]
        log.info(
            "netsuite.write.batch",
            count=len(intents),
            applied=sum(r.status == ResultStatus.APPLIED for r in results),
            rejected=sum(r.status == ResultStatus.REJECTED for r in results),
        )
        return results

    def _one(self, intent: WriteIntent) -> WriteResult:
        problem = validate_external_id(intent, self.settings)
        if problem:
            return _rejected(intent, problem, "INVALID_EXTERNAL_ID")
        if intent.entity == "payment":
            return self.payments.write(intent)
        source = self.source_of(intent.entity)
        rtype, eid = source.record_type, intent.external_id
        try:
            if intent.op in (WriteOp.UPSERT, WriteOp.UPDATE):
                if intent.op == WriteOp.UPDATE and self._existing_id(source, intent) is None:
                    return _rejected(
                        intent, f"{rtype} eid:{eid} does not exist to update", "NONEXISTENT_ID"
                    )
                replace = whole_sublists(intent.payload)
                return _applied(
                    intent, self.rest.upsert(rtype, eid, intent.payload, replace=replace)
                )
            if intent.op == WriteOp.CREATE:
                existing = self._existing_id(source, intent)
                if existing is not None:
                    return _applied(intent, existing, ResultStatus.ALREADY_APPLIED)
                body = {**intent.payload, "externalId": eid}
                return _applied(intent, self.rest.create(rtype, body))
            return _rejected(
                intent,
                f"operation {intent.op} is not supported for NetSuite",
                "UNSUPPORTED_OPERATION",
            )
        except FatalError:
            raise
        except OutcomeUnknown as exc:
            return self._after_unknown(intent, source, exc)
        except (RecordRejected, RetryableError) as exc:
            return result_for(intent, exc)

    def _existing_id(self, source: Source, intent: WriteIntent) -> str | None:
        data = self.rest.find_by_external_id(source.record_type, intent.external_id)
        if data is not None:
            return str(data.get("id"))
        if intent.business_number:
            return self.find_by_tranid(source, intent.business_number)
        return None

    def _after_unknown(
        self, intent: WriteIntent, source: Source, exc: OutcomeUnknown
    ) -> WriteResult:
        log.warning(
            "netsuite.write.outcome_unknown", entity=intent.entity, external_id=intent.external_id
        )
        try:
            found = self._existing_id(source, intent)
        except BillbridgeError:
            found = None
        if found is not None and intent.op == WriteOp.CREATE:
            return _applied(intent, found, ResultStatus.ALREADY_APPLIED)
        return result_for(intent, exc, target_id=found)


class SoapWriter:
    def __init__(
        self, settings: NetSuiteSettings, soap: SoapTransport, source_of: Callable[[str], Source]
    ) -> None:
        self.settings = settings
        self.soap = soap
        self.source_of = source_of

    def write(self, intents: Sequence[WriteIntent]) -> list[WriteResult]:
        results: list[WriteResult | None] = [None] * len(intents)
        batch: list[tuple[int, Any]] = []
        for index, intent in enumerate(intents):
            problem = validate_external_id(intent, self.settings)
            if problem:
                results[index] = _rejected(intent, problem, "INVALID_EXTERNAL_ID")
                continue
            if intent.entity == "payment":
                results[index] = _rejected(
                    intent,
                    "customer payments are written through REST (transport: rest)",
                    "UNSUPPORTED_OPERATION",
                )
                continue
            if intent.op not in (WriteOp.UPSERT, WriteOp.CREATE, WriteOp.UPDATE):
                results[index] = _rejected(
                    intent, f"operation {intent.op} is not supported", "UNSUPPORTED_OPERATION"
                )
                continue
            try:
                record_cls = self.soap.record_type(self.source_of(intent.entity).record_type)
                batch.append((index, record_cls(externalId=intent.external_id, **intent.payload)))
            except (TypeError, ValueError) as exc:  # zeep refuses unknown fields
                results[index] = _rejected(
                    intent, f"payload does not fit the SOAP schema: {exc}", "INVALID_PAYLOAD"
                )
        try:
            for start in range(0, len(batch), SOAP_BATCH):
                chunk = batch[start : start + SOAP_BATCH]
                self._send(intents, chunk, results)
        except FatalError as exc:
            # The run stops; chunks already written keep their results.
            done = {r.idempotency_key: r for r in results if r is not None}
            raise stop_part_way(intents, done, exc) from None
        return [r for r in results if r is not None]

    def _send(
        self,
        intents: Sequence[WriteIntent],
        chunk: list[tuple[int, Any]],
        results: list[WriteResult | None],
    ) -> None:
        try:
            statuses = self.soap.upsert_list([record for _, record in chunk])
        except FatalError:
            raise
        except (OutcomeUnknown, RetryableError, RecordRejected) as exc:
            for index, _ in chunk:
                results[index] = result_for(intents[index], exc)
            return
        for (index, _), status in zip(chunk, statuses, strict=True):
            intent = intents[index]
            if status.ok:
                results[index] = _applied(intent, status.internal_id)
            elif isinstance(status.error, FatalError):
                raise status.error
            else:
                assert status.error is not None
                results[index] = result_for(intent, status.error, status.internal_id)
