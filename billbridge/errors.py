"""Classified errors. Each carries a failure type that decides who is told and whether we retry.

``str(err)`` is the user-facing message; ``internal`` is for engineers (logs). Neither may
contain secret values: the log redaction processor scrubs them anyway, but don't rely on it.
"""

from __future__ import annotations

from canonical.intents import FailureType


class BillbridgeError(Exception):
    failure_type: FailureType = FailureType.SYSTEM

    def __init__(self, message: str, *, internal: str | None = None) -> None:
        super().__init__(message)
        self.internal = internal


class ConfigError(BillbridgeError):
    """Configuration is wrong or missing: the run stops and says what to fix."""

    failure_type = FailureType.CONFIG


class FatalError(BillbridgeError):
    """Auth or permission failure: abort the run, never advance a cursor."""

    failure_type = FailureType.CONFIG


class RetryableError(BillbridgeError):
    """Transient: back off and retry (429, 5xx, lock contention, concurrency limits)."""

    failure_type = FailureType.TRANSIENT

    def __init__(
        self, message: str, *, internal: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, internal=internal)
        self.retry_after = retry_after


class RecordRejected(BillbridgeError):
    """The target refused one record for its data: report it, carry on with the rest."""

    failure_type = FailureType.DATA

    def __init__(
        self, message: str, *, code: str | None = None, internal: str | None = None
    ) -> None:
        super().__init__(message, internal=internal)
        self.code = code


class BudgetExhausted(BillbridgeError):
    """The API budget share for this run is used up: stop cleanly, resume later."""

    failure_type = FailureType.TRANSIENT


class ParseError(BillbridgeError):
    """A file could not be parsed. Names the file, the line or segment, and what was expected."""

    failure_type = FailureType.DATA

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        segment: int | None = None,
        offset: int | None = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.segment = segment
        self.offset = offset
        self.expected = expected
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = [self.file or "<input>"]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.segment is not None:
            where.append(f"segment {self.segment}")
        if self.offset is not None and self.line is None:
            where.append(f"offset {self.offset}")
        text = f"{', '.join(where)}: {self.reason}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text
