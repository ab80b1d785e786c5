"""A cached bearer token per account, renewed shortly before expiry or after a 401.

Zuora and NetSuite rate-limit their token endpoints and ask clients to reuse a token until
it expires, so one token is shared by every call for the same account. Every token fetched
is registered for redaction (logs, CLI errors, run log, reports).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from billbridge import logs


@dataclass(frozen=True)
class Token:
    value: SecretStr
    expires_at: float  # time.monotonic() based


class TokenCache:
    """``fetch`` returns (token, lifetime seconds). ``get`` renews ``margin`` s early."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        *,
        margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def get(self) -> SecretStr:
        with self._lock:
            if self._token is None or self._clock() >= self._token.expires_at - self._margin:
                self._renew()
            assert self._token is not None
            return self._token.value

    def invalidate(self, rejected: SecretStr | None = None) -> None:
        """Drop the token after a 401 (only if it is still the one that was rejected)."""
        with self._lock:
            if rejected is None or (
                self._token is not None
                and self._token.value.get_secret_value() == rejected.get_secret_value()
            ):
                self._token = None

    def _renew(self) -> None:
        value, lifetime = self._fetch()
        # a vendor may echo the bearer token in an error body: scrub it like a config secret
        logs.register_runtime_secret(value)
        self.fetch_count += 1
        self._token = Token(SecretStr(value), self._clock() + float(lifetime))
