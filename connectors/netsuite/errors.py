"""NetSuite failures classified by vendor code, for both transports.

REST errors arrive as ``{"o:errorDetails": [{"o:errorCode", "detail", "o:errorPath"}]}``;
SOAP ones as faults (concurrency, login) or per-record ``statusDetail`` codes inside a 200.
Classification decides: retry (concurrency, 5xx), do not resend (write timeout,
``RCRD_HAS_BEEN_CHANGED``: look the record up first), reject the record (data), or stop the
run (permissions, a login failure while the account is not under load).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from billbridge.errors import BillbridgeError, FatalError, RecordRejected, RetryableError

RETRYABLE_CODES = frozenset(
    {
        "CONCURRENCY_LIMIT_EXCEEDED",
        "WS_CONCUR_SESSION_DISALLWD",
        "WS_REQUEST_BLOCKED",
        "EXCEEDEDREQUESTLIMITFAULT",
        "EXCEEDEDCONCURRENTREQUESTLIMITFAULT",
        "SSS_REQUEST_LIMIT_EXCEEDED",
        "ACCT_TEMP_UNAVAILABLE",
    }
)
#: The session (SOAP) is no longer valid: log in again (a fresh passport) once and repeat.
SESSION_CODES = frozenset({"SESSION_TIMED_OUT", "INVALID_SESSION"})
DO_NOT_RESEND_CODES = frozenset({"RCRD_HAS_BEEN_CHANGED", "IDEMPOTENCY_ERROR"})
REJECT_CODES = frozenset(
    {
        "INVALID_CONTENT",
        "NONEXISTENT_FIELD",
        "INVALID_PARAMETER",
        "INVALID_KEY_OR_REF",
        "INVALID_FLD_VALUE",
        "INVALID_REF_KEY",
        "DUP_RCRD",
        "INVALID_RCRD_TYPE",
        "RCRD_DSNT_EXIST",
        "USER_EXCEPTION",
    }
)
USER_ERROR_CODES = frozenset({"USER_ERROR"})
FATAL_CODES = frozenset(
    {
        "INSUFFICIENT_PERMISSION",
        "INVALID_LOGIN",
        "INVALID_LOGIN_CREDENTIALS",
        "INVALID_LOGIN_ATTEMPT",
        "INVALID_ACCOUNT",
        "ACCT_DISABLED",
        "INVALID_ROLE",
    }
)
#: Fault texts that mean "too many concurrent requests" (netsuitesdk maps only the first).
CONCURRENCY_FAULT_TEXTS = (
    "SuiteTalk concurrent request limit exceeded",
    "WS_CONCUR_SESSION_DISALLWD",
    "exceededRequestLimitFault",
    "exceededConcurrentRequestLimitFault",
    "Only one request may be made against a session at a time",
)
LOGIN_FAULT_TEXT = "Invalid login attempt"
#: SOAP fault kinds (the detail's element) that refuse the whole call for the account or
#: its credentials, never for a record: the run stops unless the code says "retry".
CALL_FATAL_FAULTS = frozenset(
    {"invalidcredentialsfault", "invalidaccountfault", "insufficientpermissionfault"}
)
_DETAIL_CODE = re.compile(r"<(?:[\w.-]+:)?code>\s*([^<\s]+)\s*</(?:[\w.-]+:)?code>")
_DETAIL_KIND = re.compile(r"<detail[^>]*>\s*<(?:[\w.-]+:)?(\w+Fault)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ErrorDetail:
    code: str | None
    detail: str
    path: str | None = None

    def describe(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return f"{self.code or 'ERROR'}{where}: {self.detail}"


class OutcomeUnknown(RetryableError):
    """The write may have been applied (timeout after send, record changed): look it up
    by external id or tranid before sending it again; never resend blindly."""


class SessionExpired(BillbridgeError):
    """SOAP ``invalidSessionFault`` (``SESSION_TIMED_OUT``): NetSuite refused the call
    before doing anything; log in again once and repeat it (not a retry with backoff)."""


class UserErrorRetry(RetryableError):
    """``USER_ERROR``: often a workflow or record lock; a few retries, then a rejection."""

    def __init__(self, message: str, *, code: str, internal: str | None = None) -> None:
        super().__init__(message, internal=internal)
        self.code = code


def error_details(body: Any) -> list[ErrorDetail]:
    """Unpack ``o:errorDetails`` from a REST error body (tolerates other JSON)."""
    if not isinstance(body, Mapping):
        return []
    details = []
    for item in body.get("o:errorDetails") or []:
        if isinstance(item, Mapping):
            details.append(
                ErrorDetail(
                    code=item.get("o:errorCode"),
                    detail=str(item.get("detail") or ""),
                    path=item.get("o:errorPath"),
                )
            )
    if not details and body.get("title"):
        details.append(ErrorDetail(None, str(body.get("title"))))
    return details


def classify_codes(
    codes: Sequence[str | None],
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    under_load: bool = False,
) -> BillbridgeError:
    """The classified error for vendor ``codes`` (most severe class wins)."""
    upper = {c.upper() for c in codes if c}
    code = next((c for c in codes if c), None)
    if upper & FATAL_CODES or status == 403:
        if under_load and upper & {"INVALID_LOGIN_ATTEMPT", "INVALID_LOGIN"}:
            return RetryableError(
                f"login refused while the account is at its concurrency "
                f"ceiling (treated as load): {message}",
                retry_after=retry_after,
            )
        return FatalError(
            f"NetSuite refused the integration's access ({code}): {message}. "
            "Check the role's permissions and the integration credentials."
        )
    if upper & RETRYABLE_CODES or status == 429 or (status is not None and status >= 500):
        return RetryableError(
            f"NetSuite is busy ({code or status}): {message}", retry_after=retry_after
        )
    if upper & DO_NOT_RESEND_CODES:
        return OutcomeUnknown(
            f"NetSuite reported {code}: {message}; look the record up before sending it again"
        )
    if upper & USER_ERROR_CODES:
        return UserErrorRetry(f"NetSuite USER_ERROR: {message}", code=code or "USER_ERROR")
    if status == 401:
        return FatalError(f"NetSuite rejected the credentials (401): {message}")
    return RecordRejected(
        f"NetSuite rejected the record ({code or status}): {message}",
        code=code or (str(status) if status else None),
    )


def classify_rest(
    status: int, body: Any, *, retry_after: float | None = None, under_load: bool = False
) -> BillbridgeError:
    details = error_details(body)
    message = "; ".join(d.describe() for d in details) or f"HTTP {status}"
    return classify_codes(
        [d.code for d in details],
        message,
        status=status,
        retry_after=retry_after,
        under_load=under_load,
    )


def is_concurrency_fault(text: str) -> bool:
    lowered = text.lower()
    return any(t.lower() in lowered for t in CONCURRENCY_FAULT_TEXTS)


def fault_detail(detail_text: str) -> tuple[str | None, str | None]:
    """(fault kind, platform code) from a SOAP fault's ``<detail>``, e.g.
    (``invalidSessionFault``, ``SESSION_TIMED_OUT``); the SOAP ``faultcode`` itself
    (``soapenv:Server.userException``) says nothing about the cause."""
    kind = _DETAIL_KIND.search(detail_text)
    code = _DETAIL_CODE.search(detail_text)
    return (kind.group(1) if kind else None), (code.group(1) if code else None)


def classify_fault(
    message: str, *, detail_text: str = "", code: str | None = None, under_load: bool
) -> BillbridgeError:
    """A SOAP fault, by the platform code and fault kind inside its detail: concurrency and
    temporary unavailability retry; an expired session is logged in again once; bad
    credentials, an unusable account or a missing permission stop the run ("Invalid login
    attempt" retries only under load); only data codes reject the records.
    ``detail_text`` (the fault detail XML) is matched, never shown."""
    short = message.strip().splitlines()[0][:300] if message.strip() else "SOAP fault"
    kind, detail_code = fault_detail(detail_text)
    platform = (detail_code or "").upper()
    haystack = f"{message}\n{detail_text}\n{code or ''}".lower()
    if is_concurrency_fault(haystack):
        return RetryableError(f"NetSuite concurrency limit (SOAP): {short}")
    if platform in SESSION_CODES or (kind or "").lower() == "invalidsessionfault":
        return SessionExpired(f"NetSuite session ended ({detail_code or kind}): {short}")
    if platform in RETRYABLE_CODES:
        return RetryableError(f"NetSuite is unavailable ({detail_code}): {short}")
    if LOGIN_FAULT_TEXT.lower() in haystack or platform == "INVALID_LOGIN_ATTEMPT":
        return classify_codes(["INVALID_LOGIN_ATTEMPT"], short, under_load=under_load)
    if platform in FATAL_CODES:
        return classify_codes([detail_code], short)
    if (kind or "").lower() in CALL_FATAL_FAULTS:
        return FatalError(
            f"NetSuite refused the call ({kind} {detail_code or ''}): {short}. "
            "Check the account id, the integration credentials and the role."
        )
    if "insufficientpermissionfault" in haystack:
        return classify_codes(["INSUFFICIENT_PERMISSION"], short)
    if "unexpectederrorfault" in haystack:
        return RetryableError(f"NetSuite unexpected error (SOAP): {short}")
    return classify_codes([detail_code or code], short)


class LoadTracker:
    """Remembers recent concurrency refusals per account so a login failure can be read
    as load (NetSuite reports overload as "Invalid login attempt" after ~60 s)."""

    def __init__(self, window_s: float = 120.0, clock: Callable[[], float] = time.monotonic):
        self._window = window_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def saw_concurrency_error(self, account: str) -> None:
        with self._lock:
            self._last[account] = self._clock()

    def under_load(self, account: str) -> bool:
        with self._lock:
            seen = self._last.get(account)
        return seen is not None and self._clock() - seen <= self._window


LOAD = LoadTracker()
