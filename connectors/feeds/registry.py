"""Format name -> parser module, imported lazily.

Parser modules follow the contract in :mod:`connectors.feeds.model`. A module that cannot
be imported (not installed, or not written yet) makes its format unavailable with a clear
ConfigError instead of breaking every other format.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, cast

from billbridge.errors import ConfigError
from connectors.feeds.detect import FORMATS, detect_format
from connectors.feeds.model import FeedResult

MODULES: dict[str, str] = {
    "bai2": "connectors.feeds.bai2",
    "camt": "connectors.feeds.camt",
    "mt940": "connectors.feeds.mt940",
    "ofx": "connectors.feeds.ofx",
    "csv": "connectors.feeds.bank_csv",
    "lockbox": "connectors.feeds.lockbox",
    "x12": "connectors.feeds.x12",
    "edifact": "connectors.feeds.edifact",
    "nacha": "connectors.feeds.nacha",
}
assert set(MODULES) == set(FORMATS)


class ParserModule(Protocol):
    FORMAT: str

    def sniff(self, head: bytes) -> bool: ...

    def parse(self, data: bytes, *, file_name: str, **options: Any) -> FeedResult: ...


class FormatUnavailable(ConfigError):
    """The parser module for a format is missing or fails to import."""


def get_parser(fmt: str) -> ParserModule:
    if fmt not in MODULES:
        raise ConfigError(f"unknown feed format {fmt!r}; known: {', '.join(MODULES)}")
    try:
        module = importlib.import_module(MODULES[fmt])
    except ImportError as exc:
        raise FormatUnavailable(
            f"feed format {fmt!r} is not available: {MODULES[fmt]} cannot be imported",
            internal=repr(exc),
        ) from None
    return cast(ParserModule, module)


def available() -> dict[str, bool]:
    """Which formats can be parsed in this installation."""
    result: dict[str, bool] = {}
    for fmt in MODULES:
        try:
            get_parser(fmt)
            result[fmt] = True
        except FormatUnavailable:
            result[fmt] = False
    return result


def parse_bytes(data: bytes, *, file_name: str, fmt: str = "auto", **options: Any) -> FeedResult:
    """Detect (unless told) and parse. Raises ParseError, or ConfigError for a bad format."""
    chosen = detect_format(data, file_name=file_name) if fmt == "auto" else fmt
    return get_parser(chosen).parse(data, file_name=file_name, **options)
