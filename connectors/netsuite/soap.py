"""SOAP transport through netsuitesdk + zeep, for accounts that still use SuiteTalk SOAP.

The client is built lazily (its constructor loads the WSDL and ~45 XSDs) from a configured
local path or URL, with ``wsdl_version`` passed explicitly and zeep caching off unless a
writable cache directory is configured. Every request takes a slot from the same
per-account limiter as REST and carries a fresh ``tokenPassport``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import structlog
from lxml import etree

from billbridge.errors import BillbridgeError, FatalError, RetryableError
from connectors.netsuite import auth_tba
from connectors.netsuite.errors import (
    LOAD,
    OutcomeUnknown,
    SessionExpired,
    classify_codes,
    classify_fault,
    is_concurrency_fault,
)
from connectors.netsuite.rest import account_slot, never_sent, under_load
from connectors.netsuite.retry import RetryPolicy
from connectors.netsuite.settings import NetSuiteSettings, TBAAuth

log = structlog.get_logger(__name__)

#: record type -> (namespace stem, type name) in the versioned SuiteTalk schema
SOAP_TYPES: dict[str, tuple[str, str]] = {
    "customer": ("relationships_{v}.lists", "Customer"),
    "invoice": ("sales_{v}.transactions", "Invoice"),
    "salesOrder": ("sales_{v}.transactions", "SalesOrder"),
    "creditMemo": ("customers_{v}.transactions", "CreditMemo"),
    "customerPayment": ("customers_{v}.transactions", "CustomerPayment"),
    "journalEntry": ("general_{v}.transactions", "JournalEntry"),
    "serviceSaleItem": ("accounting_{v}.lists", "ServiceSaleItem"),
    "subsidiary": ("accounting_{v}.lists", "Subsidiary"),
}
#: record type -> (basic search type, transaction type enum or None)
SEARCHES: dict[str, tuple[str, str | None]] = {
    "customer": ("CustomerSearchBasic", None),
    "invoice": ("TransactionSearchBasic", "_invoice"),
    "salesOrder": ("TransactionSearchBasic", "_salesOrder"),
    "creditMemo": ("TransactionSearchBasic", "_creditMemo"),
    "customerPayment": ("TransactionSearchBasic", "_customerPayment"),
    "journalEntry": ("TransactionSearchBasic", "_journal"),
    "serviceSaleItem": ("ItemSearchBasic", None),
    "subsidiary": ("SubsidiarySearchBasic", None),
}


@dataclass(frozen=True)
class SoapWriteStatus:
    ok: bool
    internal_id: str | None = None
    error: BillbridgeError | None = None


class SoapTransport:
    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        passport_factory: Callable[[], auth_tba.Passport] | None = None,
        client: Any = None,
    ) -> None:
        """``client``: an already built client for the same settings (reuse saves the
        WSDL load); this transport's passport factory is attached to it."""
        if not isinstance(settings.auth, TBAAuth):
            raise ValueError("SOAP needs TBA credentials")
        self.settings = settings
        self.policy = RetryPolicy(
            attempts=settings.retry_attempts,
            wait_s=settings.retry_wait_s,
            user_error_attempts=settings.user_error_attempts,
            sleep=sleep,
        )
        self._passport_factory = passport_factory or (lambda: auth_tba.build_passport(settings))
        self._client: Any = client
        if client is not None:
            client.bb_passport_factory = self._passport_factory
        self._lock = threading.Lock()
        self.operations: list[str] = []

    # -- client -----------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._build_client()
            return self._client

    def _build_client(self) -> Any:
        from netsuitesdk.internal.client import NetSuiteClient

        s = self.settings
        wsdl = s.wsdl_url or (
            f"https://{s.account_id.rest_host}/wsdl/v{s.wsdl_version}_0/netsuite.wsdl"
        )

        class _Client(NetSuiteClient):
            WSDL_URL_TEMPLATE = wsdl  # no {} placeholders: .format() leaves it alone
            DATACENTER_URL_TEMPLATE = s.soap_endpoint

            bb_passport_factory: Callable[[], auth_tba.Passport]

            def _generate_token_passport(self) -> Any:
                p = self.bb_passport_factory()
                sig = self.TokenPassportSignature(p.signature, algorithm=p.algorithm)
                return self.TokenPassport(
                    account=p.account,
                    consumerKey=p.consumer_key,
                    token=p.token,
                    nonce=p.nonce,
                    timestamp=p.timestamp,
                    signature=sig,
                )

        started = time.monotonic()
        client = _Client(
            account=s.account_id.realm,
            caching=s.wsdl_cache_dir is not None,
            caching_path=s.wsdl_cache_dir,
            wsdl_version=s.wsdl_version,
            page_size=s.soap_page_size,
            search_body_fields_only=False,  # lines (itemList) are wanted
        )
        client.bb_passport_factory = self._passport_factory
        client._client.transport.operation_timeout = s.read_timeout_s
        client._client.transport.load_timeout = s.read_timeout_s
        # Marks TBA mode; the passport itself comes from our signer on every request.
        client.connect_tba("configured", "configured", "configured", "configured")
        log.info(
            "netsuite.soap.client_ready",
            version=s.wsdl_version,
            ms=round((time.monotonic() - started) * 1000),
        )
        return client

    def record_type(self, record_type: str) -> Any:
        stem, name = SOAP_TYPES[record_type]
        ns = f"urn:{stem.format(v=self.settings.wsdl_version)}.webservices.netsuite.com"
        return self.client._client.get_type(f"{{{ns}}}{name}")

    def core_type(self, name: str, ns: str = "core") -> Any:
        urn = f"urn:{ns}_{self.settings.wsdl_version}.platform.webservices.netsuite.com"
        return self.client._client.get_type(f"{{{urn}}}{name}")

    # -- one call -----------------------------------------------------------------------
    def call(self, operation: str, *, write: bool = False, **kwargs: Any) -> Any:
        """One operation under the retry policy. An expired session (refused before
        NetSuite did anything, so repeating a write is safe) logs in again once: with TBA
        every request signs a fresh ``tokenPassport``, so the repeat is the new login. A
        second refusal stops the run."""
        try:
            return self.policy.call(lambda: self._call_once(operation, write=write, **kwargs))
        except SessionExpired as exc:
            first = str(exc)
            log.warning("netsuite.soap.session_expired", operation=operation)
        try:
            return self.policy.call(lambda: self._call_once(operation, write=write, **kwargs))
        except SessionExpired as again:
            raise FatalError(
                f"{again}; a fresh login was refused as well ({first}). "
                "Check the integration's token and the role's web services permission."
            ) from None

    def _call_once(self, operation: str, *, write: bool, **kwargs: Any) -> Any:
        client = self.client
        s = self.settings
        with account_slot(s):
            self.operations.append(operation)
            try:
                return client.request(operation, **kwargs)
            except Exception as exc:  # noqa: BLE001 - classified below, outside the slot
                failure = exc
        # Classify after the slot is released: our own slot must not look like load.
        raise self._classify(failure, operation, write=write) from None

    def _classify(self, exc: Exception, operation: str, *, write: bool) -> Exception:
        from netsuitesdk.internal.exceptions import NetSuiteLoginError, NetSuiteRateLimitError
        from zeep.exceptions import Fault, TransportError

        s = self.settings
        if isinstance(exc, NetSuiteRateLimitError):
            LOAD.saw_concurrency_error(s.account)
            return RetryableError(
                "NetSuite concurrency limit (SOAP): SuiteTalk concurrent request limit exceeded"
            )
        if isinstance(exc, NetSuiteLoginError):
            return classify_fault(str(exc.message), code=exc.code, under_load=under_load(s))
        if isinstance(exc, Fault):
            detail = etree.tostring(exc.detail).decode() if exc.detail is not None else ""
            error = classify_fault(
                str(exc.message or ""),
                detail_text=detail,
                code=exc.code,
                under_load=under_load(s),
            )
            if is_concurrency_fault(f"{exc.message}\n{detail}"):
                LOAD.saw_concurrency_error(s.account)
            return error
        if isinstance(exc, TransportError):
            if write and exc.status_code >= 500:
                return OutcomeUnknown(
                    f"SOAP {operation} failed with HTTP {exc.status_code}; look the records up"
                )
            return classify_codes(
                [], f"SOAP {operation} HTTP {exc.status_code}", status=exc.status_code
            )
        if isinstance(exc, requests.RequestException) and never_sent(exc):
            return RetryableError(f"NetSuite SOAP unreachable on {operation}")
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            if write:
                return OutcomeUnknown(
                    f"SOAP {operation} timed out after it was sent "
                    f"({type(exc).__name__}); look the records up"
                )
            return RetryableError(f"NetSuite SOAP {operation}: {type(exc).__name__}")
        return exc  # a programming error: let it surface unchanged

    # -- operations ----------------------------------------------------------------------
    def upsert_list(self, records: Sequence[Any]) -> list[SoapWriteStatus]:
        """``upsertList``: one status per record, in order, from inside an HTTP 200.
        Records failing with USER_ERROR are re-sent a few times, then rejected."""
        results: list[SoapWriteStatus | None] = [None] * len(records)
        pending = list(range(len(records)))
        for attempt in range(1, self.settings.user_error_attempts + 1):
            response = self.call("upsertList", write=True, record=[records[i] for i in pending])
            statuses = response.body.writeResponseList.writeResponse
            retry_next: list[int] = []
            for index, item in zip(pending, statuses, strict=True):
                status = _write_status(item)
                if (
                    status.error is not None
                    and getattr(status.error, "code", None) == "USER_ERROR"
                    and attempt < self.settings.user_error_attempts
                ):
                    retry_next.append(index)
                else:
                    results[index] = status
            if not retry_next:
                break
            self.policy.sleep(self.policy.wait_s)
            pending = retry_next
        return [r for r in results if r is not None]

    def get(self, record_type: str, external_id: str) -> Any | None:
        ref = self.core_type("RecordRef")(type=record_type, externalId=external_id)
        response = self.call("get", baseRef=ref)
        read = response.body.readResponse
        if read.status.isSuccess:
            return read.record
        detail = read.status.statusDetail[0]
        if detail.code in ("RCRD_DSNT_EXIST", "INVALID_KEY_OR_REF"):
            return None
        raise classify_codes([detail.code], str(detail.message))

    def search(self, record_type: str, modified_after: datetime | None) -> Iterator[Any]:
        """Records modified after the watermark: ``search`` for page 1, then
        ``searchMoreWithId`` for pages 2..N (page 1 is not fetched a second time)."""
        basic_name, tran_type = SEARCHES[record_type]
        fields: dict[str, Any] = {}
        if modified_after is not None:
            fields["lastModifiedDate"] = self.core_type("SearchDateField")(
                operator="after", searchValue=modified_after
            )
        if tran_type is not None:
            fields["type"] = self.core_type("SearchEnumMultiSelectField")(
                operator="anyOf", searchValue=[tran_type]
            )
        search_record = self.core_type(basic_name, "common")(**fields)
        result = self.call("search", searchRecord=search_record).body.searchResult
        _raise_unless_ok(result.status)
        yield from _records(result)
        total_pages = int(result.totalPages or 0)
        for page in range(2, total_pages + 1):
            more = self.call("searchMoreWithId", searchId=result.searchId, pageIndex=page)
            page_result = more.body.searchResult
            _raise_unless_ok(page_result.status)
            yield from _records(page_result)


def _records(result: Any) -> list[Any]:
    record_list = result.recordList
    if record_list is None or not getattr(record_list, "record", None):
        return []
    return list(record_list.record)


def _raise_unless_ok(status: Any) -> None:
    if not status.isSuccess:
        detail = status.statusDetail[0]
        raise classify_codes([detail.code], str(detail.message))


def _write_status(item: Any) -> SoapWriteStatus:
    status = item.status
    ref = item.baseRef
    internal_id = getattr(ref, "internalId", None) if ref is not None else None
    if status.isSuccess:
        return SoapWriteStatus(True, internal_id)
    details = status.statusDetail or []
    codes = [d.code for d in details]
    message = "; ".join(f"{d.code}: {d.message}" for d in details) or "upsert failed"
    return SoapWriteStatus(False, internal_id, classify_codes(codes, message))
