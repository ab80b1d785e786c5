"""structlog configuration: JSON in production, readable in a terminal, secrets redacted.

Redaction works on keys (a deny-list plus schema-marked secret fields) and on values (every
secret value the config loader resolved, replaced wherever it appears, including inside
formatted exception text). Bank account numbers are masked to their last four digits.
Tracebacks are rendered without local variables: frame locals carry tokens and payloads.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO, cast
from urllib.parse import quote, quote_plus

import structlog
from pydantic import SecretStr
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"

SECRET_KEYS = {
    "authorization",
    "password",
    "client_secret",
    "consumer_secret",
    "token_secret",
    "security_token",
    "private_key",
    "privatekey",
    "access_token",
    "refresh_token",
    "tokenpassport",
    "signature",
    "api_key",
    "secret",
    "session_id",
}
#: keys whose values are bank account or routing numbers: keep the last four digits
ACCOUNT_KEYS = {
    "account_number",
    "bank_account",
    "payer_account",
    "routing_number",
    "iban",
    "counterparty_account",
    "micr",
}

_lock = threading.Lock()
_secret_values: set[str] = set()
#: secrets obtained at run time (OAuth access tokens, session ids), newest last: a
#: long-running ``serve`` renews them hourly, so only the most recent are kept (each
#: one more alternative in the redaction pattern every log value is matched against)
_runtime_values: dict[str, None] = {}
RUNTIME_KEPT = 32
_secret_pattern: re.Pattern[str] | None = None
_ACCOUNT_IN_TEXT = re.compile(r"\b(?:[A-Z]{2}\d{2}[A-Z0-9]{8,30}|\d{8,17})\b")


def _raw(value: str | SecretStr | None) -> str | None:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not raw or len(raw) < 4:  # too short to redact without mangling ordinary text
        return None
    return raw


def _recompile() -> None:
    """Under ``_lock``: one alternation of every known value, longest first."""
    global _secret_pattern
    ordered = sorted({*_secret_values, *_runtime_values}, key=len, reverse=True)
    _secret_pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None


#: shortest base64 fragment registered: shorter ones would match ordinary words
_MIN_ENCODED = 6


def encoded_forms(raw: str) -> set[str]:
    """How ``raw`` travels on the wire, as a vendor or a mail relay may echo it: URL-encoded
    (a form body, a query string) and base64-encoded inside a longer value (SMTP AUTH PLAIN
    ``\0user\0password``, AUTH LOGIN, a Basic Authorization header). Base64 of a value
    inside other bytes depends on its offset modulo 3: for each, the characters that only
    the secret's bytes determine (a few bits at the edges stay, which reveal nothing)."""
    forms = {quote(raw, safe=""), quote(raw), quote_plus(raw)}
    data = raw.encode()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data).decode()
        start = -(-8 * pad // 6)  # the first character with no padding bit in it
        end = 8 * (pad + len(data)) // 6  # the last one with no bit of what follows
        if end - start >= _MIN_ENCODED:
            forms.add(encoded[start:end])
    forms.discard(raw)
    return forms


def register_secret(value: str | SecretStr | None) -> None:
    """Remember a loaded secret so its value, and its URL- and base64-encoded forms
    (:func:`encoded_forms`), are scrubbed from every log line."""
    raw = _raw(value)
    if raw is None:
        return
    with _lock:
        if raw in _secret_values:
            return
        _secret_values.add(raw)
        _secret_values.update(encoded_forms(raw))
        _recompile()


def register_runtime_secret(value: str | SecretStr | None) -> None:
    """Remember a secret obtained at run time (an OAuth access token, a session id) so it
    is scrubbed like a configured one. Only the :data:`RUNTIME_KEPT` most recent are kept:
    tokens are renewed for as long as the process runs."""
    raw = _raw(value)
    if raw is None:
        return
    with _lock:
        if raw in _runtime_values or raw in _secret_values:
            return
        _runtime_values[raw] = None
        while len(_runtime_values) > RUNTIME_KEPT:
            del _runtime_values[next(iter(_runtime_values))]
        _recompile()


def register_secret_keys(keys: Iterable[str]) -> None:
    SECRET_KEYS.update(k.lower() for k in keys)


def clear_secrets() -> None:
    global _secret_pattern
    with _lock:
        _secret_values.clear()
        _runtime_values.clear()
        _secret_pattern = None


def mask_account(value: str) -> str:
    digits = re.sub(r"\s", "", value)
    return "*" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "****"


def scrub_text(text: str, also: Iterable[str | SecretStr | None] = ()) -> str:
    """``text`` with every registered secret value (and each of ``also``: secrets the
    caller holds, registered or not) replaced by ``***``."""
    pattern = _secret_pattern
    text = pattern.sub(REDACTED, text) if pattern is not None else text
    for value in also:
        raw = _raw(value)
        if raw is not None:
            text = text.replace(raw, REDACTED)
    return text


#: credentials as vendors and gateways echo them, whose value this process may not know (a
#: token another process fetched): an Authorization header value (with a digit, a symbol
#: or mixed case, so "Basic authentication" stays), and ``key=value`` / ``"key": "value"``
#: pairs of credential keys
_CREDENTIAL_IN_TEXT = re.compile(
    r"(?P<scheme>\b(?i:bearer|basic)\s+)(?=(?:[{tok}]*[\d=+/!]|[{tok}]*[a-z][{tok}]*[A-Z]))"
    r"[{tok}]{{8,}}=*"
    r"|(?P<key>\b(?i:access_token|refresh_token|id_token|client_secret|consumer_secret"
    r"|token_secret|security_token|session_?id|password|passwd|api_?key|private_key)"
    r"(?:=|:(?=\S)|\"?\s*:\s*\"))[^\s\"'&,;]+".format(tok=r"A-Za-z0-9\-._~+/!")
)


def _credential(match: re.Match[str]) -> str:
    return (match.group("scheme") or match.group("key")) + REDACTED


def scrub_vendor_text(text: str) -> str:
    """Text from outside (a vendor's error body, a rejection reason) before it is stored
    or reported: every known secret (:func:`scrub_text`), and credentials in the shapes
    vendors echo them (``Bearer <token>``, ``client_secret=...``, ``"access_token": "..."``)
    even when this process never saw their value."""
    return _CREDENTIAL_IN_TEXT.sub(_credential, scrub_text(text))


def scrub_value(value: Any) -> Any:
    """``value`` (text, or a JSON-like structure of mappings and lists) with
    :func:`scrub_vendor_text` applied to every string in it; other values as they are."""
    if isinstance(value, str):
        return scrub_vendor_text(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(v) for v in value)
    return value


def _scrub(value: Any, key: str | None = None) -> Any:
    if key is not None:
        lowered = key.lower()
        if lowered in SECRET_KEYS or lowered.endswith(("_secret", "_password", "_token")):
            return REDACTED
        if lowered in ACCOUNT_KEYS and isinstance(value, str | int):
            return mask_account(str(value))
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, MutableMapping):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return (
            type(value)(_scrub(v) for v in value)
            if not isinstance(value, set)
            else [_scrub(v) for v in value]
        )
    if isinstance(value, BaseException):
        return scrub_text(f"{type(value).__name__}: {value}")
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: runs after exception formatting, immediately before the renderer."""
    return {k: _scrub(v, k) for k, v in event_dict.items()}


class _Stderr:
    """Resolves ``sys.stderr`` at every write, so a replaced (and later closed) stream, as
    test runners and daemonisation do, is never written to after it is gone."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


#: log formats and levels ``configure`` accepts (any case)
FORMATS = ("auto", "json", "console")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure(*, fmt: str = "auto", level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog once per process. ``fmt``: auto (console on a TTY), json, console;
    ``level``: one of :data:`LEVELS`. Anything else is a ValueError naming the allowed values
    (was: silently console / INFO)."""
    fmt = fmt.strip().lower()
    level = level.strip().upper()
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}")
    if level not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    out: TextIO = stream or cast("TextIO", _Stderr())
    if fmt == "auto":
        fmt = "console" if hasattr(out, "isatty") and out.isatty() else "json"
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if fmt == "json":
        exc: Processor = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        exc = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(
            colors=False,
            exception_formatter=structlog.dev.plain_traceback,
        )
    structlog.configure(
        processors=[*shared, exc, redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
