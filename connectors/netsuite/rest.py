"""REST transport: one request path with the account's concurrency slot, a timeout,
authentication (M2M bearer renewed once on 401, or TBA), classification and retries.

Record API helpers sit on top: GET with ``expandSubResources``, upsert by external id
(``PUT …/eid:{id}``, 204), create (``POST``, 204 + ``Location``), PATCH, metadata catalog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import requests
import structlog
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from billbridge.errors import RecordRejected, RetryableError
from connectors.common.throttle import limiter, slot
from connectors.netsuite import auth_m2m, auth_tba
from connectors.netsuite.errors import LOAD, OutcomeUnknown, classify_rest
from connectors.netsuite.retry import RetryPolicy
from connectors.netsuite.settings import M2MAuth, NetSuiteSettings

log = structlog.get_logger(__name__)


def account_key(settings: NetSuiteSettings) -> str:
    """The throttle key: the account, whatever transport or job is calling."""
    return f"netsuite:{settings.account}"


@contextmanager
def account_slot(settings: NetSuiteSettings) -> Iterator[None]:
    """One of the account's slots (shared by REST and SOAP); waiting too long is retryable."""
    try:
        with slot(account_key(settings), settings.concurrency, timeout=settings.slot_timeout_s):
            yield
    except TimeoutError:
        raise RetryableError(
            f"no free NetSuite concurrency slot for account {settings.account} after "
            f"{settings.slot_timeout_s:g}s (pool of {settings.concurrency})"
        ) from None


def never_sent(exc: BaseException) -> bool:
    """True when the connection was never made (refused, DNS, connect timeout): the
    request cannot have reached NetSuite, so resending is safe even for a create."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, NewConnectionError | ConnectTimeoutError):
            return True
        reason = getattr(seen, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else None
        if nxt is None and seen.args and isinstance(seen.args[0], BaseException):
            nxt = seen.args[0]
        seen = nxt if nxt is not seen else None
    return False


def under_load(settings: NetSuiteSettings) -> bool:
    sem = limiter(account_key(settings), settings.concurrency)
    return LOAD.under_load(settings.account) or getattr(sem, "_value", 1) == 0


class RestTransport:
    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.policy = RetryPolicy(
            attempts=settings.retry_attempts,
            wait_s=settings.retry_wait_s,
            user_error_attempts=settings.user_error_attempts,
            sleep=sleep,
        )
        self._bearer: auth_m2m.BearerAuth | None = None
        self._auth: requests.auth.AuthBase
        if isinstance(settings.auth, M2MAuth):
            cache = auth_m2m.token_cache(settings, self.session, clock=clock)
            self._bearer = auth_m2m.BearerAuth(cache)
            self._auth = self._bearer
        else:
            self._auth = auth_tba.rest_auth(settings)
        self.calls = 0

    # -- core ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        retry: bool = True,
    ) -> requests.Response:
        """Send with retries. ``idempotent=False`` (a create) turns any failure after the
        request may have reached NetSuite into ``OutcomeUnknown``: never resent."""

        def once() -> requests.Response:
            return self._send(
                method, path, params=params, json=json, headers=headers, idempotent=idempotent
            )

        return self.policy.call(once) if retry else once()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool,
    ) -> requests.Response:
        url = self.settings.rest_base_url + path.lstrip("/")
        resp = self._send_raw(method, url, params, json, headers, idempotent)
        if resp.status_code == 401 and self._bearer is not None:
            # The token expired or was revoked early: sign a fresh assertion, once.
            self._bearer.cache.invalidate(self._bearer.last_token)
            resp = self._send_raw(method, url, params, json, headers, idempotent)
        if resp.status_code < 400:
            return resp
        if resp.status_code == 429:
            LOAD.saw_concurrency_error(self.settings.account)
        error = classify_rest(
            resp.status_code,
            _json_or_none(resp),
            retry_after=_retry_after(resp),
            under_load=under_load(self.settings),
        )
        if not idempotent and resp.status_code >= 500:
            raise OutcomeUnknown(
                f"{method} {path} failed with HTTP {resp.status_code} after "
                "reaching NetSuite; look the record up before resending"
            )
        log.warning(
            "netsuite.rest.error",
            method=method,
            path=_path(path),
            status=resp.status_code,
            error=type(error).__name__,
        )
        raise error

    def _send_raw(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        idempotent: bool,
    ) -> requests.Response:
        started = time.monotonic()
        with account_slot(self.settings):
            self.calls += 1
            try:
                resp = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=dict(headers or {}),
                    auth=self._auth,
                    timeout=self.settings.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if never_sent(exc):
                    raise RetryableError(
                        f"NetSuite unreachable on {method} ({type(exc).__name__})"
                    ) from None
                if not idempotent or method in ("PUT", "PATCH", "DELETE"):
                    raise OutcomeUnknown(
                        f"{method} to NetSuite timed out or dropped ({type(exc).__name__}) "
                        "after it was sent; it may have been applied: look it up first"
                    ) from None
                raise RetryableError(f"NetSuite {method} failed: {type(exc).__name__}") from None
        log.debug(
            "netsuite.rest.call",
            method=method,
            path=_path(url),
            status=resp.status_code,
            ms=round((time.monotonic() - started) * 1000),
        )
        return resp

    # -- record API --------------------------------------------------------------------
    def get_record(
        self, record_type: str, record_id: str, *, expand: bool = True
    ) -> dict[str, Any]:
        params = {"expandSubResources": "true"} if expand else None
        resp = self.request(
            "GET", f"record/v1/{record_type}/{quote(record_id, safe=':')}", params=params
        )
        return _decimal_json(resp)

    def find_by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        """The record with our external id, or None (404 ``NONEXISTENT_ID``)."""
        try:
            return self.get_record(record_type, f"eid:{external_id}")
        except RecordRejected as exc:
            if exc.code in ("NONEXISTENT_ID", "404"):
                return None
            raise

    def upsert(
        self,
        record_type: str,
        external_id: str,
        body: Mapping[str, Any],
        *,
        replace: Sequence[str] = (),
    ) -> str | None:
        """``PUT …/eid:{id}``. ``replace`` names sublists the body carries whole
        (``?replace=item``): NetSuite then replaces them; without it the lines sent are
        merged into the existing ones, so a removed line stays and lines are added again."""
        params = {"replace": ",".join(replace)} if replace else None
        resp = self.request(
            "PUT",
            f"record/v1/{record_type}/eid:{external_id}",
            json=body,
            params=params,
            headers=_WRITE_HEADERS,
        )
        return _location_id(resp)

    def create(self, record_type: str, body: Mapping[str, Any]) -> str:
        resp = self.request(
            "POST", f"record/v1/{record_type}", json=body, headers=_WRITE_HEADERS, idempotent=False
        )
        new_id = _location_id(resp)
        if new_id is None:
            raise OutcomeUnknown(f"create of {record_type} returned no Location header")
        return new_id

    def update(
        self,
        record_type: str,
        record_id: str,
        body: Mapping[str, Any],
        *,
        replace: str | None = None,
    ) -> None:
        params = {"replace": replace} if replace else None
        self.request(
            "PATCH",
            f"record/v1/{record_type}/{record_id}",
            json=body,
            params=params,
            headers=_WRITE_HEADERS,
        )

    def metadata(self, record_type: str) -> dict[str, Any]:
        resp = self.request(
            "GET",
            f"record/v1/metadata-catalog/{record_type}",
            headers={"Accept": "application/schema+json"},
        )
        return _decimal_json(resp)


_WRITE_HEADERS = {"X-NetSuite-PropertyNameValidation": "error", "Content-Type": "application/json"}


def _decimal_json(resp: requests.Response) -> dict[str, Any]:
    """JSON with numbers as Decimal: money must never pass through float."""
    data: dict[str, Any] = resp.json(parse_float=Decimal)
    return data


def _json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def whole_sublists(body: Mapping[str, Any]) -> list[str]:
    """Sublists a REST body carries as ``{"items": [...]}``. Our record payloads send a
    sublist only whole (every line of the contract, closed ones included), so each one
    is sent with ``?replace=``. (Payments, whose ``apply`` list NetSuite keys by
    document, are written by :mod:`connectors.netsuite.payments`, not through this.)"""
    return [
        name
        for name, value in body.items()
        if isinstance(value, Mapping) and isinstance(value.get("items"), list)
    ]


def _location_id(resp: requests.Response) -> str | None:
    location = resp.headers.get("Location")
    return location.rstrip("/").rsplit("/", 1)[-1] if location else None


def _path(url: str) -> str:
    """URL path without host or query (ids are fine in logs, payloads are not)."""
    return url.split("/services/rest/", 1)[-1].split("?", 1)[0]
