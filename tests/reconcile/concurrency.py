"""Helpers of the concurrency tests: one exception's candidate, and an actor on a thread
whose outcome ("ok" or the error) is recorded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reconcile.engine.result import ExceptionCandidate

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
EID = "e" * 64


def cand(recon: str, fp: str, amount: str = "5.00", key: Any = "INV-R") -> ExceptionCandidate:
    """The one exception (EID) of ``recon`` with fingerprint ``fp`` and ``amount``."""
    return ExceptionCandidate(
        EID, recon, "AMOUNT_MISMATCH", {"number": key}, fp * 64, details={"x": amount},
        amount=Decimal(amount), currency="USD",
    )  # fmt: skip


def start(fn: Any, results: dict[str, str], name: str) -> threading.Thread:
    """Run ``fn`` on a thread named ``op-<name>``; ``results[name]`` gets "ok" or the error."""

    def go() -> None:
        try:
            fn()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
            results[name] = f"{type(exc).__name__}: {exc}"

    t = threading.Thread(target=go, name=f"op-{name}")
    t.start()
    return t
