"""The ``billbridge`` command. Errors print as one line and exit non-zero; ``--debug``
shows the traceback."""

from __future__ import annotations

import importlib
import sys
import traceback

import typer

from billbridge import __version__, logs
from billbridge.cli.config_cmd import app as config_app
from billbridge.errors import BillbridgeError

app = typer.Typer(
    name="billbridge",
    help="ERP integration and reconciliation for billing and AR teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

#: (module, attribute, name, help) of sub-command groups, imported at start-up
_GROUPS: list[tuple[str, str, str, str]] = [
    ("billbridge.cli.connectors_cmd", "app", "connectors", "Check and read connections."),
    ("connectors.feeds.cli", "app", "feeds", "Parse and import bank and EDI files."),
    ("mappings.cli", "app", "mappings", "Validate, preview and diff mapping specs."),
    ("sync.cli", "app", "sync", "Plan and apply contract changes into billing."),
    ("reconcile.cli", "app", "reconcile", "Run reconciliations and compare files."),
    ("reconcile.exceptions_cli", "app", "exceptions", "Work the exception queue."),
    ("billbridge.cli.report_cmd", "app", "report", "Render and send exception reports."),
    ("uat.cli", "app", "uat", "UAT validation for ERP and billing migrations."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"billbridge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
    log_format: str = typer.Option(
        "auto",
        "--log-format",
        envvar="BILLBRIDGE_LOG_FORMAT",
        help=f"{', '.join(logs.FORMATS)} (auto: console on a terminal, else json).",
    ),
    log_level: str = typer.Option(
        "WARNING",
        "--log-level",
        envvar="BILLBRIDGE_LOG_LEVEL",
        help=f"{', '.join(logs.LEVELS)} (any case).",
    ),
) -> None:
    for option, value, allowed in (
        ("--log-format/BILLBRIDGE_LOG_FORMAT", log_format, logs.FORMATS),
        ("--log-level/BILLBRIDGE_LOG_LEVEL", log_level, logs.LEVELS),
    ):
        if value.strip().upper() not in (a.upper() for a in allowed):
            # exit 2: a usage error, also when the value came from the environment
            typer.echo(f"error: {option} {value!r} is not one of {', '.join(allowed)}", err=True)
            raise typer.Exit(2)
    logs.configure(fmt=log_format, level=log_level)


app.add_typer(config_app, name="config", help="Validate the config file, print its schema.")


def _register_groups() -> None:
    for module, attr, name, help_text in _GROUPS:
        try:
            sub = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that part of the product is not installed in this build
            raise
        app.add_typer(sub, name=name, help=help_text)


def _register_commands() -> None:
    from billbridge.cli.demo_cmd import demo
    from reconcile.cash.cli import app as cash_app
    from reconcile.cli import app as reconcile_app

    reconcile_app.add_typer(
        cash_app,
        name="cash",
        help="Apply bank receipts to open invoices; accept or reject the suggestions.",
    )

    app.command("demo", help="Run the end-to-end demo on the bundled sample data.")(demo)
    try:
        from sync.cli import serve
    except ImportError:
        return
    app.command("serve", help="Run scheduled jobs (APScheduler) until stopped.")(serve)


def _wire_nightly() -> None:
    """The nightly chain's reconcile and report steps, configured from the config file."""
    try:
        from sync.serve import register_nightly_steps
    except ImportError:
        return
    from billbridge.nightly_steps import reconcile_step, report_step

    register_nightly_steps(reconcile=reconcile_step, report=report_step)


def _wire_live_preview() -> None:
    try:
        from mappings.cli import set_live_provider
    except ImportError:
        return
    from connectors.registry import live_rows

    set_live_provider(live_rows)


_register_groups()
_register_commands()
_wire_live_preview()
_wire_nightly()


#: exit codes: 1 is only ever "findings" (exceptions found, a spec or expectation failed,
#: a recipient not reached), set by the command itself; every error is 2
EXIT_ERROR = 2


def _print_traceback() -> None:
    """The current exception's traceback on stderr, with every known secret scrubbed: the
    exception messages in the chain are vendor and config text."""
    sys.stderr.write(logs.scrub_text(traceback.format_exc()))


def run() -> None:
    """Console entry point: one clear line per error, the traceback only with --debug.

    Every error that reaches here exits 2 (EXIT_ERROR): bad config, input or usage (a
    ConfigError, ParseError, unknown exception id or reason, a missing file), a state store
    that cannot be used, and unexpected ones; exit 1 stays for findings."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()  # standalone: usage errors and typer.Exit become exit codes via SystemExit
    except BillbridgeError as exc:
        if debug:
            _print_traceback()
        typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except OSError as exc:  # a file named on the command line or in the config
        if debug:
            _print_traceback()
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{logs.scrub_text(exc.strerror or str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if debug:
            _print_traceback()
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {logs.scrub_text(str(exc))} "
            "(run with --debug for the traceback)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
