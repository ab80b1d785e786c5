"""The nightly job's reconcile and report steps (sync is the sync package's own step)."""

from __future__ import annotations

from datetime import UTC, datetime

from billbridge.state import Store
from config.loader import load_config
from reconcile.configured import run_configured
from reconcile.reports import deliver


def reconcile_step(name: str) -> object:
    config = load_config()
    store = Store(config.state.url)
    try:
        delta = run_configured(config, name, store=store, now=datetime.now(UTC))
    finally:
        store.close()
    return delta.counts


def report_step(_nightly: object) -> object:
    from billbridge.cli.report_cmd import build_report

    config = load_config()
    return deliver(build_report(config), config.reports)
