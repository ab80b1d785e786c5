"""Zuora failure classification: 8-digit reason codes and HTTP statuses to our error types.

A code is a 6-digit resource code plus a 2-digit category (Zuora "Error category codes for
the v1 API"): 10 permission, 11 authentication, 20 invalid value, 21 unknown field,
22 missing field, 30 rule restriction, 40 not found, 50 lock competition, 60 internal
error, 70 request limit, 90 malfunction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from billbridge.errors import BillbridgeError, FatalError, RecordRejected, RetryableError
from canonical import FailureType

PERMISSION, AUTH = 10, 11
REJECT_CATEGORIES = frozenset({20, 21, 22, 30, 40, 45})
RETRY_CATEGORIES = frozenset({50, 60, 70, 90})
NOT_FOUND = 40


class ZuoraRejected(RecordRejected):
    """``success: false`` for data reasons; ``reasons`` holds every (code, message)."""

    def __init__(self, message: str, *, reasons: Sequence[Mapping[str, Any]]) -> None:
        self.reasons = [dict(r) for r in reasons]
        first = str(self.reasons[0].get("code", "")) if self.reasons else None
        super().__init__(message, code=first)

    @property
    def not_found(self) -> bool:
        return bool(self.reasons) and all(
            category(r.get("code")) == NOT_FOUND for r in self.reasons
        )


class IdempotencyKeyReused(BillbridgeError):
    """422: the key was used before with a different body, a key-derivation bug."""

    failure_type = FailureType.SYSTEM


class OutcomeUnknown(BillbridgeError):
    """A write left the client and no answer came back: read before any retry."""

    failure_type = FailureType.TRANSIENT


class AuthRejected(FatalError):
    """Category 11 / 401 that survived one token refresh."""


def category(code: object) -> int | None:
    try:
        return int(str(code)) % 100
    except ValueError:
        return None


def reasons_text(reasons: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{r.get('code')}: {r.get('message')}" for r in reasons) or "no reason"


def is_auth_failure(reasons: Sequence[Mapping[str, Any]]) -> bool:
    return any(category(r.get("code")) == AUTH for r in reasons)


def classify_failure(
    where: str, reasons: Sequence[Mapping[str, Any]], *, retry_after: float | None = None
) -> BillbridgeError:
    """The error for a ``success: false`` body (auth failures are handled by the caller)."""
    cats = {category(r.get("code")) for r in reasons}
    text = f"Zuora refused {where}: {reasons_text(reasons)}"
    if PERMISSION in cats:
        return FatalError(f"{text} (grant the API user the missing permission)")
    if AUTH in cats:
        return AuthRejected(f"{text} (check the OAuth client id and secret)")
    if cats & RETRY_CATEGORIES and not cats & REJECT_CATEGORIES:
        return RetryableError(text, retry_after=retry_after)
    return ZuoraRejected(text, reasons=reasons)


def legacy_reasons(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Actions/CRUD error shape ``{"Errors": [{"Code", "Message"}]}`` as reasons."""
    errors = body.get("Errors") or body.get("errors") or []
    return [{"code": e.get("Code"), "message": e.get("Message")} for e in errors]


def parse_retry_after(headers: Mapping[str, str], *, status: int = 429) -> float | None:
    """Seconds to wait before retrying, or None for exponential back-off.

    ``Retry-After`` always wins. On 429, ``RateLimit-Reset`` applies when the rate window
    is what ran out (``RateLimit-Remaining: 0``); a 429 from the concurrency limit
    (``Concurrency-Limit-Remaining: 0`` with rate budget left) frees up as soon as a
    request finishes, so it backs off exponentially instead of waiting out the window.
    """
    names = ["Retry-After"]
    concurrency_only = headers.get("Concurrency-Limit-Remaining") == "0" and headers.get(
        "RateLimit-Remaining"
    ) not in (None, "0")
    if status == 429 and not concurrency_only:
        names.append("RateLimit-Reset")
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            continue
    return None
