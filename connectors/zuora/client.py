"""HTTP client for the Zuora v1 API on ``requests``: token, headers, retries, paging.

One cached OAuth token per tenant (renewed on expiry and once on 401), one concurrency
limit per tenant, a timeout on every call, tenacity retries for 429/5xx/lock contention
honouring ``Retry-After``/``RateLimit-Reset``, and ``success: false`` unpacked into
classified errors. A write that times out, gets a 5xx or an unreadable answer raises
:class:`OutcomeUnknown`; it is never resent here (the caller reads before it retries).
Only a 429, or a connection that was never made, is retried for a write.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from billbridge.errors import BillbridgeError, FatalError, RetryableError
from connectors.common import wire
from connectors.common.throttle import slot
from connectors.common.tokens import TokenCache
from connectors.zuora.errors import (
    AuthRejected,
    IdempotencyKeyReused,
    OutcomeUnknown,
    ZuoraRejected,
    classify_failure,
    is_auth_failure,
    legacy_reasons,
    parse_retry_after,
)
from connectors.zuora.settings import ZuoraSettings

log = structlog.get_logger(__name__)

_IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
#: POSTs that only read (ZOQL): safe to resend after a timeout.
_READ_POSTS = ("/v1/action/query",)
_LIMIT_HEADERS = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Concurrency-Limit-Type",
    "Concurrency-Limit-Limit",
    "Concurrency-Limit-Remaining",
)


class ZuoraClient:
    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        correlation_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self._sleep = sleep
        self.correlation_id = track_id(correlation_id or uuid.uuid4().hex)
        self.tokens = TokenCache(self._fetch_token, margin=120.0, clock=clock)
        #: Latest RateLimit-* / Concurrency-Limit-* values (exposed as metrics).
        self.limits: dict[str, str] = {}
        self.calls = 0

    # -- public ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """One call with retries; returns the JSON body of a successful response."""
        method = method.upper()
        if idempotency_key is not None and method not in _IDEMPOTENT_METHODS:
            raise ValueError("Zuora takes Idempotency-Key on POST and PATCH only")
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        result: dict[str, Any] = retrying(
            self._send_authenticated, method, path, json, params, idempotency_key
        )
        return result

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params or None)

    def get_text(self, path: str) -> str:
        """A GET whose answer is not JSON (``/v1/describe`` returns XML)."""
        return str(self.request("GET", path)["_text"])

    def pages(self, path: str, items_key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Items of a v1 list, following ``nextPage`` links."""
        params.setdefault("pageSize", self.settings.page_size)
        body = self.request("GET", path, params=params)
        while True:
            yield from body.get(items_key) or []
            next_page = body.get("nextPage")
            if not next_page:
                return
            parts = urlsplit(next_page)
            body = self.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))

    def zoql(self, query: str) -> Iterator[dict[str, Any]]:
        """Rows of a ZOQL query through ``action/query`` and ``action/queryMore``."""
        body = self.request("POST", "/v1/action/query", json={"queryString": query})
        while True:
            yield from body.get("records") or []
            if body.get("done", True) or not body.get("queryLocator"):
                return
            body = self.request(
                "POST", "/v1/action/queryMore", json={"queryLocator": body["queryLocator"]}
            )

    # -- internals ------------------------------------------------------------------------

    def _fetch_token(self) -> tuple[str, float]:
        data = {
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "grant_type": "client_credentials",
        }
        try:
            resp = self.session.post(
                f"{self.settings.url}/oauth/token", data=data, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise RetryableError(
                f"Zuora token endpoint unreachable ({exc.__class__.__name__})"
            ) from None
        self.calls += 1
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetryableError(
                f"Zuora token endpoint answered {resp.status_code}",
                retry_after=parse_retry_after(resp.headers, status=resp.status_code),
            )
        if resp.status_code != 200:
            raise FatalError(
                f"Zuora refused the OAuth client credentials (HTTP {resp.status_code}); "
                "check client_id and client_secret for this tenant"
            )
        body = resp.json()
        log.info("zuora.token", expires_in=body.get("expires_in"))
        return str(body["access_token"]), float(body.get("expires_in") or 3600)

    @property
    def _timeout(self) -> tuple[float, float]:
        return (self.settings.connect_timeout, self.settings.read_timeout)

    def _send_authenticated(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        key: str | None,
    ) -> dict[str, Any]:
        with slot(self.settings.account_key, self.settings.concurrency):
            token = self.tokens.get()
            try:
                return self._send(method, path, json, params, key, token)
            except _TokenRejected:
                # Renew once; a second rejection is fatal (credentials or permissions).
                self.tokens.invalidate(token)
                try:
                    return self._send(method, path, json, params, key, self.tokens.get())
                except _TokenRejected:
                    raise AuthRejected(
                        "Zuora rejected a freshly issued token; check the OAuth client's "
                        "permissions and that it belongs to this tenant"
                    ) from None

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        key: str | None,
        token: SecretStr,
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {token.get_secret_value()}",
            "Accept": "application/json",
            "Zuora-Version": self.settings.zuora_version,
            "Zuora-Track-Id": self.correlation_id,
        }
        if self.settings.entity_ids:
            headers["Zuora-Entity-Ids"] = self.settings.entity_ids
        if key is not None:
            headers["Idempotency-Key"] = key
        if json is not None:
            headers["Content-Type"] = "application/json"
        url = f"{self.settings.url}{path}"
        started = time.monotonic()
        try:
            resp = self.session.request(
                method,
                url,
                data=None if json is None else wire.dumps(json),
                params=params,
                headers=headers,
                timeout=self._timeout,
            )
        except requests.ConnectTimeout:
            raise RetryableError(f"Zuora {method} {_bare(path)}: connect timeout") from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            if not _is_write(method, path) or _never_sent(exc):
                raise RetryableError(
                    f"Zuora {method} {_bare(path)}: {exc.__class__.__name__}"
                ) from None
            raise OutcomeUnknown(
                f"Zuora {method} {_bare(path)} got no answer ({exc.__class__.__name__}); "
                "the write may have been applied"
            ) from None
        finally:
            self.calls += 1
        log.info(
            "zuora.call",
            method=method,
            path=_bare(path),
            status=resp.status_code,
            ms=round((time.monotonic() - started) * 1000),
            track_id=self.correlation_id,
            key=key[:12] if key else None,
        )
        self._note_limits(resp.headers)
        return self._interpret(method, path, resp, key)

    def _interpret(
        self, method: str, path: str, resp: requests.Response, key: str | None
    ) -> dict[str, Any]:
        where = f"{method} {_bare(path)}"
        status = resp.status_code
        retry_after = parse_retry_after(resp.headers, status=status)
        content_type = resp.headers.get("Content-Type", "")
        if status == 200 and method == "GET" and "xml" in content_type:
            return {"_text": resp.text}
        try:
            parsed: Any = wire.loads(resp.content) if resp.content else None
        except ValueError:
            parsed = None
        if status < 400 and not isinstance(parsed, dict | list):
            # A truncated body, a proxy's HTML page, nothing at all: not an answer. A write
            # may have been applied (read before any resend); a read has nothing to return.
            what = (
                f"HTTP {status} with a body that is not JSON "
                f"({content_type.split(';')[0] or 'no content type'}, {len(resp.content)} bytes)"
            )
            if _is_write(method, path):
                raise OutcomeUnknown(
                    f"Zuora {where} answered {what}; the write may have been applied"
                )
            raise RetryableError(f"Zuora {where} answered {what}", retry_after=retry_after)
        if status < 400 and isinstance(parsed, list) and _is_write(method, path):
            raise OutcomeUnknown(
                f"Zuora {where} answered HTTP {status} with a JSON list, not a result object; "
                "the write may have been applied"
            )
        body: dict[str, Any]
        if isinstance(parsed, dict):
            body = parsed
        elif isinstance(parsed, list):
            body = {"items": parsed}
        else:
            body = {}
        if status == 401:
            raise _TokenRejected
        if status >= 500 and _is_write(method, path):
            # The request reached Zuora (or its gateway), which may have applied it: a 504
            # is often an order still executing. Read before any resend, never retry blind.
            raise OutcomeUnknown(
                f"Zuora {where}: HTTP {status} after the request was sent; "
                "the write may have been applied"
            )
        if status == 429 or status >= 500:
            raise RetryableError(f"Zuora {where}: HTTP {status}", retry_after=retry_after)
        if status == 409 and key is not None:
            # Same key still in flight: wait, then replay the same key.
            wait = self.settings.in_flight_wait_seconds
            raise RetryableError(
                f"Zuora {where}: request with this key in flight", retry_after=wait
            )
        if status == 422 and key is not None:
            raise IdempotencyKeyReused(
                f"Zuora {where}: idempotency key reused with a different body",
                internal=f"key={key}",
            )
        reasons = body.get("reasons") or legacy_reasons(body)
        if body.get("success") is False or (status >= 400 and reasons):
            if is_auth_failure(reasons):
                raise _TokenRejected
            raise classify_failure(where, reasons, retry_after=retry_after)
        if status == 404:
            raise ZuoraRejected(
                f"Zuora {where}: not found", reasons=[{"code": "50000040", "message": "not found"}]
            )
        message = str(body.get("message") or body.get("Message") or "")[:200]
        if status == 403:
            raise FatalError(
                f"Zuora {where}: HTTP {status} {message}; grant the OAuth client's user the "
                "permission for this call"
            )
        if status in (400, 413, 415):
            raise ZuoraRejected(
                f"Zuora {where}: HTTP {status} {message}".strip(),
                reasons=[{"code": str(status), "message": message}],
            )
        if status >= 400:
            raise BillbridgeError(f"Zuora {where}: HTTP {status} {message}".strip())
        return body

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        for name in _LIMIT_HEADERS:
            if name in headers:
                self.limits[name] = headers[name]

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        cap = self.settings.max_backoff_seconds
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(exc.retry_after, cap)
        return float(min(self.settings.backoff_seconds * 2 ** (state.attempt_number - 1), cap))


class _TokenRejected(Exception):
    """401 or category 11: renew the token once."""


def track_id(value: str) -> str:
    """``Zuora-Track-Id`` takes up to 64 US-ASCII characters and no ``:`` or ``;``."""
    cleaned = re.sub(r"[^A-Za-z0-9._/=+-]", "-", value.encode("ascii", "replace").decode())
    return cleaned[:64]


def _is_write(method: str, path: str) -> bool:
    """Whether a call can change Zuora (every method but GET, except the ZOQL read POSTs)."""
    return method != "GET" and not path.startswith(_READ_POSTS)


def _never_sent(exc: requests.RequestException) -> bool:
    """The connection was never made (refused, no such host): nothing reached Zuora."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _bare(path: str) -> str:
    """Path without query string (query strings can carry filter values, not for logs)."""
    return path.split("?", 1)[0]
