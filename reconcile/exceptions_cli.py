"""``billbridge exceptions``: list, show and work reconciliation exceptions.

Every action records the actor (``--actor``, default ``$BILLBRIDGE_ACTOR`` or the OS user)
and the note in the audit log. Ids may be given as any unique prefix (as ``list`` shows
them, 12 characters, or fewer).

The state store: ``--state-url`` (or ``BILLBRIDGE_STATE_URL``), else the state.url of
``--config`` (or ``BILLBRIDGE_CONFIG``), else the default file. A SQLite file that does not
exist is refused (exit 2) rather than created empty; only a pattern suppression, which can
be set up before the first run, creates the store.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from billbridge import logs
from billbridge.errors import ConfigError
from billbridge.state import Store
from billbridge.state.db import DEFAULT_URL, StateStoreUnavailable
from config.loader import load_config
from config.model import BillbridgeConfig
from reconcile.exceptions import ExceptionStore, Reason, RunState, Status, WorkflowError
from reconcile.exceptions.display import (
    UNKNOWN,
    FieldKinds,
    delta_value,
    flat_fields,
    is_flat,
    known_kinds,
    side_value,
)
from reconcile.exceptions.model import HistoryEvent
from reconcile.exceptions.queries import resolve_recon_names
from reconcile.exceptions.suppress import check_scope

app = typer.Typer(help="Work reconciliation exceptions.", no_args_is_help=True)
console = Console(width=160)

StateUrl = Annotated[
    str | None,
    typer.Option(
        "--state-url",
        envvar="BILLBRIDGE_STATE_URL",
        help=f"State store URL (before --config's state.url; default {DEFAULT_URL}).",
    ),
]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", envvar="BILLBRIDGE_CONFIG", help="billbridge config: its state.url."),
]
Actor = Annotated[str | None, typer.Option("--actor", help="Who acts (default: OS user).")]
Note = Annotated[str | None, typer.Option("--note", help="Why; kept in the audit log.")]
Ids = Annotated[
    list[str], typer.Argument(help="Exception id(s), or any unique prefix of each (as listed).")
]


def now() -> datetime:
    """The action clock (tests replace it)."""
    return datetime.now(UTC)


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("BILLBRIDGE_ACTOR") or getpass.getuser()


def state_url_of(state_url: str | None, config: Path | None) -> str:
    """--state-url (or BILLBRIDGE_STATE_URL), else the config file's state.url, else the
    default."""
    if state_url:
        return state_url
    if config is not None:
        return load_config(config).state.url
    return DEFAULT_URL


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {logs.scrub_text(str(exc))}", err=True)
    return typer.Exit(2)


def _store(state_url: str | None, config: Path | None, *, create: bool = False) -> ExceptionStore:
    """The exception store, its expired suppressions ended; one line and exit 2 when it
    cannot be opened. A SQLite file that does not exist is refused unless ``create`` (a
    mistyped URL would otherwise open a new, empty store)."""
    try:
        xs = ExceptionStore(Store(state_url_of(state_url, config), create=create))
    except (StateStoreUnavailable, ConfigError) as exc:
        raise _fail(exc) from None
    # a suppression that has expired since the last run ends now (audited), not at the
    # next run: list, show and the actions then see the status it returned to
    xs.expire_suppressions(now())
    return xs


def _config(config: Path | None) -> BillbridgeConfig | None:
    """The --config file's config (None without one); one line and exit 2 when wrong."""
    try:
        return load_config(config) if config is not None else None
    except ConfigError as exc:
        raise _fail(exc) from None


def _field_kinds(config: Path | None) -> dict[str, FieldKinds]:
    """Which fields are amounts, per recon: the built-ins and the config's definitions."""
    try:
        return known_kinds(load_config(config) if config is not None else None)
    except ConfigError as exc:
        raise _fail(exc) from None


def _choices(option: str, given: list[str], names: type[StrEnum]) -> list[str]:
    """``given`` as the enum's values (any case, - for _); one line listing them if not."""
    known = [m.value for m in names]
    out = []
    for text in given:
        value = text.strip().upper().replace("-", "_")
        if value not in known:
            raise WorkflowError(f"{option} {text!r} is not one of {', '.join(known)}")
        out.append(value)
    return out


def _resolve_ids(xs: ExceptionStore, ids: list[str]) -> list[str]:
    """Full ids for ids or unique prefixes of any length; one line saying whether none or
    several exceptions start with a prefix."""
    from sqlalchemy import select

    from billbridge.state.schema import ExceptionRow

    full = []
    for given in ids:
        if not given.strip():  # an unset $ID in a script must not pick the only exception
            raise WorkflowError("an exception id is blank: give the id or a prefix of it")
        # ids are lower-case hex; a prefix copied in capitals finds them on every store
        # (SQLite's LIKE ignored the case, PostgreSQL's does not)
        prefix = given.lower()
        with xs.store.session() as s:
            found = list(
                s.scalars(
                    select(ExceptionRow.exception_id)
                    .where(ExceptionRow.exception_id.startswith(prefix, autoescape=True))
                    .order_by(ExceptionRow.exception_id)
                    .limit(4)
                )
            )
        if prefix in found:
            found = [prefix]
        if not found:
            raise WorkflowError(f"no exception with an id starting with {given!r}")
        if len(found) > 1:
            shown = ", ".join(f[:12] for f in found[:3]) + (", ..." if len(found) > 3 else "")
            raise WorkflowError(
                f"id prefix {given!r} matches several exceptions ({shown}): give more characters"
            )
        full.append(found[0])
    return full


def _expiry(text: str, start: datetime) -> datetime:
    """``30d``, ``12h``, an ISO date (end of that day, UTC) or an ISO datetime."""
    m = re.fullmatch(r"(\d+)([dh])", text.strip())
    if m:
        n = int(m.group(1))
        return start + (timedelta(days=n) if m.group(2) == "d" else timedelta(hours=n))
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise WorkflowError(
            f"--expires {text!r}: use 30d, 12h, YYYY-MM-DD or an ISO time"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command("list")
def list_(
    state_url: StateUrl = None,
    config: ConfigFile = None,
    recon: Annotated[str | None, typer.Option("--recon")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="Run state; repeat.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Status; repeat.")] = None,
    category: Annotated[list[str] | None, typer.Option("--category")] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved ones.")] = False,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List exceptions, oldest first (active ones unless --status or --all)."""
    from reconcile.exceptions import ACTIVE

    states = _choices("--state", state, RunState) if state else None
    statuses: Any = _choices("--status", status, Status) if status else (None if all_ else ACTIVE)
    xs = _store(state_url, config)
    if recon is not None:
        # a config key (as `reconcile run` takes it) as the name its runs record
        try:
            (recon,) = resolve_recon_names([recon], xs.recon_names(), _config(config))
        except ConfigError as exc:
            xs.store.close()
            raise _fail(exc) from None
    views = xs.list(
        recon,
        states=states,
        statuses=statuses,
        categories=category,
        owner=owner,
        now=now(),
        limit=limit,
    )
    xs.store.close()
    if as_json:
        rows = [
            {
                "id": v.id,
                "recon": v.recon,
                "category": v.category,
                "keys": v.keys,
                "severity": v.severity,
                "amount": None if v.amount is None else str(v.amount),
                "currency": v.currency,
                "age_days": v.age_days,
                "times_seen": v.times_seen,
                "run_state": v.run_state,
                "status": v.status,
                "owner": v.owner,
                "details": v.details,
            }
            for v in views
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(views)} exception(s)")
    for col in (
        "id",
        "recon",
        "category",
        "keys",
        "amount",
        "sev.",
        "age",
        "run state",
        "status",
        "owner",
    ):
        table.add_column(col)
    for v in views:
        amount = "" if v.amount is None else f"{v.amount} {v.currency or ''}"
        table.add_row(
            v.id[:12], v.recon, v.category, v.key_text, amount, v.severity,
            str(v.age_days), v.run_state, v.status, v.owner or "",
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show(
    exception_id: Annotated[
        str, typer.Argument(help="The exception's id, or any unique prefix of it (as listed).")
    ],
    state_url: StateUrl = None,
    config: ConfigFile = None,
) -> None:
    """One exception with its side values, deltas and history."""
    xs = _store(state_url, config)
    (eid,) = _resolve_ids(xs, [exception_id])
    view = xs.get(eid, now=now())
    history = xs.history(eid)
    recorded = xs.recorded_kinds([view.recon]) if view is not None else {}
    xs.store.close()
    assert view is not None
    console.print(f"[bold]{view.id}[/bold]  {view.recon}  {view.category}  {view.status}")
    console.print(f"keys: {view.keys}")
    console.print(f"amount: {view.amount} {view.currency or ''}  severity: {view.severity}")
    console.print(
        f"first seen {view.first_seen:%Y-%m-%d %H:%M}, last seen {view.last_seen:%Y-%m-%d %H:%M}, "
        f"age {view.age_days} d, seen {view.times_seen}x, run state {view.run_state}, "
        f"owner {view.owner or '-'}"
    )
    d = view.details
    if is_flat(d):
        # an AR-suite finding: its recorded values as they are, one per row
        flat = Table("field", "value")
        for name, value in flat_fields(d, view.currency):
            flat.add_row(name, value)
        console.print(flat)
        _print_history(history)
        return
    # as its run recorded them (any definition file), else from the built-ins and config
    kinds = recorded.get(view.recon) or _field_kinds(config).get(view.recon, UNKNOWN)
    sides = ["a", "b", "c"] if "c" in d else ["a", "b"]  # three-sided exceptions carry side c
    table = Table("field", *(s.upper() for s in sides), "delta")
    for field in dict.fromkeys(f for s in sides for f in d.get(s, {})):
        mark = "*" if field in d.get("diff_columns", []) else ""
        values = [d.get(s) or {} for s in sides]
        shown = [
            side_value(field, v[field], v, view.currency, kinds) if field in v else ""
            for v in values
        ]
        # per pair for three sides: {"a-c": "10", ...}
        delta = delta_value(field, d.get("delta", {}).get(field, ""), view.currency, kinds)
        table.add_row(f"{field}{mark}", *shown, delta)
    console.print(table)
    _print_history(history)


def _print_history(history: list[HistoryEvent]) -> None:
    for event in history:
        console.print(
            f"{event.at:%Y-%m-%d %H:%M} {event.event:<18} {event.actor or ''} "
            f"{event.note or ''} {json.dumps(event.details) if event.details else ''}"
        )


def _act(
    state_url: str | None, config: Path | None, ids: list[str], to: Status, **kwargs: Any
) -> None:
    xs = _store(state_url, config)
    try:
        views = xs.transition(_resolve_ids(xs, ids), to, now=now(), **kwargs)
    finally:
        xs.store.close()
    for v in views:
        console.print(f"{v.id[:12]} {v.status} {v.owner or ''}")


@app.command("ack")
def ack(
    ids: Ids,
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Acknowledge exceptions."""
    _act(state_url, config, ids, Status.ACKNOWLEDGED, actor=_actor(actor), note=note)


@app.command("assign")
def assign(
    ids: Ids,
    owner: Annotated[str, typer.Option("--owner", help="Who works it.")],
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Assign exceptions to an owner (bulk when several ids are given)."""
    _act(state_url, config, ids, Status.ASSIGNED, actor=_actor(actor), note=note, owner=owner)


@app.command("review")
def review(
    ids: Ids,
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Mark exceptions as in review."""
    _act(state_url, config, ids, Status.IN_REVIEW, actor=_actor(actor), note=note)


@app.command("escalate")
def escalate(
    ids: Ids,
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Escalate exceptions."""
    _act(state_url, config, ids, Status.ESCALATED, actor=_actor(actor), note=note)


@app.command("resolve")
def resolve(
    ids: Ids,
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help=", ".join(r.value for r in Reason if r != Reason.RESOLVED_BY_DATA)
        ),
    ],
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Resolve exceptions with a reason code."""
    _act(state_url, config, ids, Status.RESOLVED, actor=_actor(actor), note=note, reason=reason)


@app.command("wont-fix")
def wont_fix(
    ids: Ids,
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Close exceptions as won't fix."""
    _act(state_url, config, ids, Status.WONT_FIX, actor=_actor(actor), note=note)


@app.command("suppress")
def suppress(
    reason: Annotated[str, typer.Option("--reason")],
    owner: Annotated[str, typer.Option("--owner")],
    expires: Annotated[str, typer.Option("--expires", help="30d, 12h, YYYY-MM-DD or ISO time.")],
    exception_id: Annotated[
        str | None,
        typer.Argument(help="One exception: its id or any unique prefix (or use a pattern)."),
    ] = None,
    recon: Annotated[str | None, typer.Option("--recon")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    key_prefix: Annotated[str | None, typer.Option("--key-prefix")] = None,
    min_amount: Annotated[str | None, typer.Option("--min-amount")] = None,
    max_amount: Annotated[str | None, typer.Option("--max-amount")] = None,
    currency: Annotated[str | None, typer.Option("--currency")] = None,
    state_url: StateUrl = None,
    config: ConfigFile = None,
    actor: Actor = None,
    note: Note = None,
) -> None:
    """Suppress one exception, or every one matching a pattern, until --expires."""
    pattern = {
        k: v
        for k, v in {
            "category": category,
            "key_prefix": key_prefix,
            "min_amount": min_amount,
            "max_amount": max_amount,
            "currency": currency,
        }.items()
        if v is not None
    }
    check_scope(exception_id, pattern or None, recon)  # bad amounts refused before opening
    # a pattern may be set up before the first run; one exception needs its store
    xs = _store(state_url, config, create=exception_id is None)
    try:
        cfg = _config(config)
        if recon is not None and cfg is not None and recon in cfg.reconciliations:
            # a config key (as `reconcile run` takes it) as the name its runs record; any
            # other name stays, so a pattern may be set up before a recon's first run
            (recon,) = resolve_recon_names([recon], xs.recon_names(), cfg)
        eid = _resolve_ids(xs, [exception_id])[0] if exception_id else None
        start = now()
        sup = xs.suppress(
            reason=reason,
            owner=owner,
            expires_at=_expiry(expires, start),
            actor=_actor(actor),
            now=start,
            exception_id=eid,
            pattern=pattern or None,
            recon=recon,
            note=note,
        )
    finally:
        xs.store.close()
    # stored in UTC; an --expires given with an offset is shown as the UTC time it means
    console.print(f"suppression {sup.id} until {sup.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
