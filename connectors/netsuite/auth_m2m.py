"""OAuth 2.0 client credentials with a signed JWT assertion (M2M).

There is no refresh token: every renewal signs a fresh assertion. One token per account is
cached (``TokenCache``) and shared by every connector in the process; it is renewed a
little before expiry and once after a 401.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests
import structlog
from pydantic import SecretStr

from billbridge.errors import FatalError, RetryableError
from connectors.common.tokens import TokenCache
from connectors.netsuite.settings import M2MAuth, NetSuiteSettings

log = structlog.get_logger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME_S = 3600

_caches: dict[tuple[str, str, str], TokenCache] = {}
_caches_lock = threading.Lock()


def build_assertion(auth: M2MAuth, token_url: str, *, now: float | None = None) -> str:
    """The signed client assertion: header ``typ``/``kid``/``alg``; ``exp`` ≤ iat + 60 min."""
    issued = int(time.time() if now is None else now)
    lifetime = min(auth.assertion_lifetime_s, MAX_ASSERTION_LIFETIME_S)
    claims: dict[str, Any] = {
        "iss": auth.client_id,
        "scope": ",".join(auth.scopes),
        "aud": token_url,
        "iat": issued,
        "exp": issued + lifetime,
    }
    headers = {"typ": "JWT", "kid": auth.certificate_id}
    try:
        return jwt.encode(
            claims, auth.private_key.get_secret_value(), algorithm=auth.algorithm, headers=headers
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # Never echo the key material; the exception text of a PEM parser may contain it.
        raise FatalError(
            f"NetSuite M2M private key cannot sign {auth.algorithm} assertions "
            f"(certificate {auth.certificate_id}); check the configured key",
            internal=type(exc).__name__,
        ) from None


def fetch_token(
    session: requests.Session,
    settings: NetSuiteSettings,
    *,
    clock: Callable[[], float] = time.time,
) -> tuple[str, float]:
    """POST the assertion to the token endpoint; returns (access token, lifetime seconds)."""
    auth = settings.auth
    assert isinstance(auth, M2MAuth)
    url = settings.token_url
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": build_assertion(auth, url, now=clock()),
    }
    try:
        resp = session.post(url, data=form, timeout=settings.timeout)
    except requests.RequestException as exc:
        raise RetryableError(f"NetSuite token endpoint unreachable: {type(exc).__name__}") from None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise RetryableError(f"NetSuite token endpoint busy (HTTP {resp.status_code})")
    if resp.status_code != 200:
        error = _oauth_error(resp)
        raise FatalError(
            f"NetSuite refused the M2M token request for account {settings.account} "
            f"({error}); check the client id, certificate mapping and role",
        )
    body = resp.json()
    log.info("netsuite.token.issued", account=settings.account, expires_in=body.get("expires_in"))
    return str(body["access_token"]), float(body.get("expires_in") or 3600)


def _oauth_error(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    code = body.get("error") if isinstance(body, dict) else None
    return f"HTTP {resp.status_code} {code}" if code else f"HTTP {resp.status_code}"


def token_cache(
    settings: NetSuiteSettings,
    session: requests.Session,
    *,
    clock: Callable[[], float] = time.time,
) -> TokenCache:
    """The process-wide token cache for this account and client."""
    auth = settings.auth
    assert isinstance(auth, M2MAuth)
    key = (settings.token_url, auth.client_id, auth.certificate_id)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = TokenCache(lambda: fetch_token(session, settings, clock=clock))
            _caches[key] = cache
        return cache


class BearerAuth(requests.auth.AuthBase):
    """Adds the cached bearer token; remembers which token a request carried."""

    def __init__(self, cache: TokenCache) -> None:
        self.cache = cache
        self.last_token: SecretStr | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.cache.get()
        self.last_token = token
        request.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return request


def reset_for_tests() -> None:
    with _caches_lock:
        _caches.clear()
