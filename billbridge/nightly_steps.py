"""The nightly job's reconcile and report steps (sync is the sync package's own step)."""

from __future__ import annotations

from datetime import UTC, datetime

from billbridge import logs
from billbridge.errors import ConfigError
from billbridge.state import Store
from config.loader import RuntimeEnv, load_config
from config.model import BillbridgeConfig
from reconcile.configured import run_configured
from reconcile.reports import FailedStep, deliver
from sync.nightly import NightlyReport, chain_config


def step_config(step: str) -> BillbridgeConfig:
    """The config the chain was started with (``serve --config``), else BILLBRIDGE_CONFIG's.
    Never the built-in defaults: they would reconcile and report from a new, empty store
    in the working directory and mail nobody, and the step would look fine."""
    given = chain_config()
    if isinstance(given, BillbridgeConfig):
        return given
    if not RuntimeEnv().config:
        raise ConfigError(
            f"the nightly {step} step has no config file: the chain was started without one "
            "and BILLBRIDGE_CONFIG is not set"
        )
    return load_config()


def reconcile_step(name: str) -> object:
    config = step_config("reconcile")
    store = Store(config.state.url)
    try:
        delta = run_configured(config, name, store=store, now=datetime.now(UTC))
    finally:
        store.close()
    return delta.counts


def failed_steps(nightly: NightlyReport) -> list[FailedStep]:
    """The chain's failed (and not run) steps as the report names them, secrets scrubbed."""
    return [
        FailedStep(kind=s.kind, name=s.name, error=logs.scrub_text(s.message or "failed"))
        for s in nightly.failures
    ]


def report_step(nightly: NightlyReport) -> object:
    from billbridge.cli.report_cmd import build_report

    config = step_config("report")
    # a state store that does not exist is an error, not an empty report
    report = build_report(config, create=False)
    # what failed goes on the report: its counts alone would read as all clear
    report = report.model_copy(update={"failed_steps": failed_steps(nightly)})
    return deliver(report, config.reports)
