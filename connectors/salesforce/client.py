"""simple-salesforce behind our own token refresh, retry classification, throttle and budget.

The library runs in session-id mode on a session with a default timeout; every response
(errors included) feeds ``Sforce-Limit-Info`` into the budget. ``call`` wraps one request:
refresh once on 401 ``INVALID_SESSION_ID``, retry transient failures with tenacity, and map
everything else to our error classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import structlog
from pydantic import SecretStr
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMoreThanOneRecord,
)
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from billbridge.errors import (
    BillbridgeError,
    BudgetExhausted,
    ConfigError,
    FatalError,
    RecordRejected,
    RetryableError,
)
from connectors.common.throttle import slot
from connectors.common.tokens import TokenCache
from connectors.salesforce.auth import SalesforceAuth
from connectors.salesforce.budget import ApiBudget
from connectors.salesforce.settings import SalesforceSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRY_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
CONFIG_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY", "NOT_FOUND"})
PERMISSION_CODES = frozenset(
    {"INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG"}
)


class QueryTimeout(RetryableError):
    """``QUERY_TIMEOUT``: retry the query over half the time window."""


class SessionExpired(Exception):
    """401 ``INVALID_SESSION_ID``: renew the token (once) and repeat."""


class TimeoutSession(requests.Session):
    """A session that puts a timeout on every call, including the library's own."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        if isinstance(self.verify, str) and kwargs.get("verify") is None:
            # requests lets REQUESTS_CA_BUNDLE override a session's bundle; ours must win
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def error_code(exc: SalesforceError) -> tuple[str, str]:
    """(errorCode, message) of the first entry of a Salesforce error body (a JSON array)."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", "")), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return str(content.get("errorCode", "")), str(content.get("message", ""))
    return "", ""


def classify(what: str, exc: SalesforceError) -> BillbridgeError:
    code, message = error_code(exc)
    text = f"Salesforce {what}: {code or exc.status} {message}".strip()
    if isinstance(exc, SalesforceMoreThanOneRecord):
        return RecordRejected(
            f"Salesforce {what}: external id matches several records", code="MULTIPLE_MATCHES"
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower() or "ConcurrentPerOrg" in message:
            return RetryableError(text)
        return BudgetExhausted(f"{text}; the daily API quota is used up, resume later")
    if exc.status == 429:
        return BudgetExhausted(f"{text}; resume later")
    if code == "QUERY_TIMEOUT":
        return QueryTimeout(text)
    if code in RETRY_CODES or exc.status >= 500:
        return RetryableError(text)
    if code in PERMISSION_CODES or exc.status == 403:
        return FatalError(f"{text}; grant the integration user access")
    if code in CONFIG_CODES:
        return ConfigError(f"{text}; check field and object names against describe()")
    return RecordRejected(text, code=code or str(exc.status))


class SalesforceClient:
    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.session = session or TimeoutSession(
            (settings.connect_timeout, settings.request_timeout)
        )
        if settings.ca_bundle:
            self.session.verify = settings.ca_bundle
        self.session.hooks["response"].append(self._on_response)
        self.sleep = sleep
        self.budget = ApiBudget(settings.max_daily_api_share, settings.stop_at_overall_share)
        self.auth = SalesforceAuth(settings, self.session, wall_clock=wall_clock)
        self.tokens = TokenCache(self.auth.fetch, margin=60.0, clock=clock)
        self._sf: Salesforce | None = None
        self._sf_token: str | None = None

    def _on_response(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.budget.observe(resp.headers.get("Sforce-Limit-Info"))
        # One line per call: method, path (never the query string: it carries SOQL values),
        # status, duration and the API usage; no bodies, no headers.
        log.info(
            "salesforce.call",
            method=resp.request.method,
            path=urlsplit(resp.url).path,
            status=resp.status_code,
            ms=round(resp.elapsed.total_seconds() * 1000),
            api_used=self.budget.used,
        )

    def sf(self) -> Salesforce:
        token = self.tokens.get().get_secret_value()
        if self._sf is None or token != self._sf_token:
            self._sf = Salesforce(
                session_id=token,
                instance_url=self.settings.instance_url,
                version=self.settings.api_version,
                session=self.session,
                parse_float=Decimal,
                object_pairs_hook=dict,
            )
            self._sf_token = token
        return self._sf

    def renew(self) -> None:
        """Drop the current token after a 401 (the next ``sf()`` fetches a new one)."""
        if self._sf_token is not None:
            self.tokens.invalidate(SecretStr(self._sf_token))

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """One request with refresh-once, retries and classification."""
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self.wait,
            sleep=self.sleep,
            reraise=True,
        )
        result: T = retrying(self._attempt, what, fn)
        return result

    def _attempt(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        with slot(self.settings.account_key, self.settings.concurrency):
            self.budget.check()
            try:
                return self.guard(what, fn)
            except SessionExpired:
                self.renew()
                try:
                    return self.guard(what, fn)
                except SessionExpired:
                    raise FatalError(
                        f"Salesforce {what}: a fresh token was refused (INVALID_SESSION_ID); "
                        "check the connected app's session policies and the user's access"
                    ) from None

    def guard(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn`` once, translating library and transport errors."""
        try:
            return fn(self.sf())
        except SalesforceExpiredSession:
            raise SessionExpired from None
        except SalesforceError as exc:
            raise classify(what, exc) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"Salesforce {what}: {exc.__class__.__name__}") from None

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.backoff(state.attempt_number, exc)

    def backoff(self, attempt: int, exc: BaseException | None) -> float:
        cap = self.settings.max_backoff_seconds
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, cap)
        return float(min(self.settings.backoff_seconds * 2 ** (attempt - 1), cap))
