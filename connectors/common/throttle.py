"""One concurrency limit per external account, shared by every job and transport.

NetSuite's pool is shared by SOAP, REST and RESTlets and may be as small as 5, so both
transports must take slots from the same limiter: key it by account, not by client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_limiters: dict[str, threading.BoundedSemaphore] = {}
_sizes: dict[str, int] = {}


def limiter(account_key: str, size: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore for ``account_key`` (first caller fixes the size)."""
    with _lock:
        sem = _limiters.get(account_key)
        if sem is None:
            sem = threading.BoundedSemaphore(size)
            _limiters[account_key] = sem
            _sizes[account_key] = size
        return sem


@contextmanager
def slot(account_key: str, size: int, timeout: float = 300.0) -> Iterator[None]:
    """Hold one of the account's concurrency slots; time out rather than hang forever."""
    sem = limiter(account_key, size)
    if not sem.acquire(timeout=timeout):
        raise TimeoutError(f"no free concurrency slot for {account_key} after {timeout}s")
    try:
        yield
    finally:
        sem.release()


def reset_for_tests() -> None:
    with _lock:
        _limiters.clear()
        _sizes.clear()
