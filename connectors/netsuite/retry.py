"""Retry policy: tenacity driven by the error classification, with an injectable sleep.

Retry ``RetryableError`` about every 2 s up to ~15 tries (what proved reliable against
NetSuite's concurrency pool); never retry ``OutcomeUnknown`` (the caller must look the
record up first); retry ``USER_ERROR`` a few times and then reject the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from tenacity import RetryCallState, Retrying, stop_after_attempt

from billbridge.errors import RecordRejected, RetryableError
from connectors.netsuite.errors import OutcomeUnknown, UserErrorRetry

log = structlog.get_logger(__name__)
T = TypeVar("T")


class RetryPolicy:
    def __init__(
        self,
        *,
        attempts: int = 15,
        wait_s: float = 2.0,
        user_error_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.wait_s = wait_s
        self.user_error_attempts = user_error_attempts
        self.sleep = sleep

    def _should_retry(self, state: RetryCallState) -> bool:
        if state.outcome is None or not state.outcome.failed:
            return False
        exc = state.outcome.exception()
        if isinstance(exc, OutcomeUnknown):
            return False
        if isinstance(exc, UserErrorRetry):
            return state.attempt_number < self.user_error_attempts
        return isinstance(exc, RetryableError)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None) or 0.0
        return max(float(asked), self.wait_s)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info("netsuite.retry", attempt=state.attempt_number, error=type(exc).__name__)

    def call(self, fn: Callable[[], T], *, on_retry: Callable[[], None] | None = None) -> T:
        """Run ``fn`` under the policy; a USER_ERROR that outlives its tries is rejected."""

        def before_sleep(state: RetryCallState) -> None:
            self._before_sleep(state)
            if on_retry is not None:
                on_retry()

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=self._should_retry,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except UserErrorRetry as exc:
            raise RecordRejected(str(exc), code=exc.code) from exc
