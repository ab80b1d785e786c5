"""Run-over-run classification (pure) and its set-based write plan.

``plan_run`` compares this run's candidates with what the store knows about the recon and
returns the rows to insert, the rows to rewrite (CHANGED, REOPENED), the ids to merely touch
(STILL_OPEN, grouped so one UPDATE ... WHERE id IN (...) covers many) and the ids the data
resolved. ``write_plan`` executes it with bulk statements: a 20k-exception run is a few
dozen statements, not 20k ORM flushes (on SQLite through the driver, ids bound as JSON
arrays). ``recording.Recording`` decides the common case, an exception seen again unchanged,
without building its candidate object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from billbridge.state.db import RawJSON, json_text
from billbridge.state.schema import ExceptionHistoryRow, ExceptionRow
from reconcile.definitions import SeverityRule
from reconcile.engine.result import ExceptionCandidate
from reconcile.engine.severity import severity
from reconcile.exceptions.identity import key_text
from reconcile.exceptions.model import (
    CLOSED,
    SUPPRESSIBLE,
    Reason,
    RunDelta,
    RunState,
    Status,
    age_days,
)
from reconcile.exceptions.suppress import Suppression

SYSTEM = "system"
#: rows per bulk statement / ids per IN list (PostgreSQL and SQLite parameter limits)
BATCH = 900
TABLE: Table = ExceptionRow.__table__  # type: ignore[assignment]
HISTORY: Table = ExceptionHistoryRow.__table__  # type: ignore[assignment]


class Known(NamedTuple):
    """What the store holds about one exception id before this run (a tuple: a store
    holds tens of thousands, all loaded at the start of a run)."""

    fingerprint: str
    status: str
    first_seen: datetime
    times_seen: int


@dataclass
class RunPlan:
    delta: RunDelta
    inserts: list[dict[str, Any]] = field(default_factory=list)
    rewrites: list[dict[str, Any]] = field(default_factory=list)
    #: rewrites of closed exceptions, whose stored severity stays
    kept_severity: list[dict[str, Any]] = field(default_factory=list)
    #: (severity, status) -> ids seen again unchanged; status None: it stays as stored
    #: (SQLite then leaves the status index alone: a fifth of touching 20k exceptions);
    #: severity None: it stays too (a closed exception's, frozen like its age)
    touches: dict[tuple[str | None, str | None], list[str]] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def sqlite_stamp(value: datetime) -> str:
    """How the state store's SQLite columns keep a timestamp: naive UTC with microseconds."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_cursor(s: Session) -> Any | None:
    """The driver's cursor on the session's connection when it is SQLite, else None."""
    conn = s.connection()
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def load_known(s: Session, recon: str) -> dict[str, Known]:
    """What the store holds about each of the recon's exceptions (one SELECT). On SQLite
    through the driver, each distinct first-seen text parsed once (a run's exceptions share
    a handful): the column types' per-row processing was most of loading 20k."""
    cols = (TABLE.c.exception_id, TABLE.c.fingerprint, TABLE.c.status, TABLE.c.first_seen,
            TABLE.c.times_seen)  # fmt: skip
    cur = sqlite_cursor(s)
    if cur is None:
        rows = s.execute(select(*cols).where(TABLE.c.recon == recon))
        return {r[0]: Known(r[1], r[2], r[3], r[4]) for r in rows}
    names = ", ".join(c.name for c in cols)
    try:
        found = cur.execute(f"SELECT {names} FROM {TABLE.name} WHERE recon = ?", (recon,))
        stamps: dict[str, datetime] = {}
        out = {}
        for eid, fp, status, first, times in found:
            at = stamps.get(first)
            if at is None:
                at = stamps[first] = _utc(first)
            out[eid] = Known(fp, status, at, times)
        return out
    finally:
        cur.close()


def resume_statuses(s: Session, recon: str | None) -> dict[str, str]:
    """Per SUPPRESSED exception (of ``recon``, or all): the status it goes back to when its
    suppression ends, as its latest SUPPRESSED history event recorded it ("from"; OPEN when
    none did). One SELECT over the suppressed exceptions' events only."""
    query = (
        select(HISTORY.c.exception_id, HISTORY.c.details)
        .join(TABLE, TABLE.c.exception_id == HISTORY.c.exception_id)
        .where(TABLE.c.status == Status.SUPPRESSED.value)
        .where(HISTORY.c.event == Status.SUPPRESSED.value)
        .order_by(HISTORY.c.at, HISTORY.c.id)
    )
    if recon is not None:
        query = query.where(TABLE.c.recon == recon)
    out: dict[str, str] = {}
    for eid, details in s.execute(query):
        out[eid] = str((details or {}).get("from") or Status.OPEN.value)
    return out


def _utc(text: str) -> datetime:
    """A stored timestamp read back as the column type reads it: aware UTC."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def at_least(level: str, given: str, rules: Sequence[SeverityRule]) -> str:
    """``level`` (from amount and age), or the candidate's own ``given`` level when the
    rules rank it higher: a finding without an amount (an invalid tax id, a master-data
    drift) keeps the severity its calculator gave it instead of the rules' lowest."""
    levels = [r.level.upper() for r in rules]
    wanted = given.upper()
    if (
        wanted in levels
        and level.upper() in levels
        and levels.index(wanted) < levels.index(level.upper())
    ):
        return rules[levels.index(wanted)].level
    return level


def event(
    eid: str,
    run_id: str | None,
    now: datetime,
    name: str,
    fp: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "exception_id": eid,
        "run_id": run_id,
        "at": now,
        "event": str(name),
        "fingerprint": fp,
        "details": details,
        "actor": SYSTEM,
        "note": None,
    }


def plan_run(
    recon: str,
    run_id: str,
    candidates: Sequence[ExceptionCandidate],
    known: dict[str, Known],
    suppressions: Sequence[Suppression],
    now: datetime,
    rules: Sequence[SeverityRule],
    *,
    also_seen: Iterable[str] = (),
    resume: Mapping[str, str] | None = None,
) -> RunPlan:
    """``also_seen``: ids this run found that are written elsewhere (``fresh.FreshWriter``);
    they are not resolved by the data. ``resume``: the status each SUPPRESSED exception
    goes back to when no suppression covers it any more (:func:`resume_statuses`; OPEN
    when not given)."""
    plan = RunPlan(RunDelta(recon, run_id))
    delta = plan.delta
    seen: set[str] = set(also_seen)
    for cand in candidates:
        eid = cand.exception_id
        seen.add(eid)
        kt = key_text(cand.keys)
        cover = next(
            (
                x
                for x in suppressions
                if x.covers(
                    recon=recon,
                    exception_id=eid,
                    category=cand.category,
                    key_text=kt,
                    amount=cand.amount,
                    currency=cand.currency,
                )
            ),
            None,
        )
        covered = cover is not None
        # the event names the suppression that parked it, as a person's suppress does
        parked_by = {} if cover is None else {"suppression_id": cover.id, "reason": cover.reason}
        prev = known.get(eid)
        values = {
            "exception_id": eid,
            "category": cand.category,
            "keys": cand.keys,
            "key_text": kt,
            "fingerprint": cand.fingerprint,
            # the engine's JSON text goes to the column as it is (no decode, no re-encode)
            "details": RawJSON(cand.details_json),
            "amount": cand.amount,
            "currency": cand.currency,
            "last_seen": now,
            "last_run_id": run_id,
            "resolved_at": None,
        }
        if prev is None:
            status = Status.SUPPRESSED if covered else Status.OPEN
            plan.inserts.append(
                values
                | {
                    "recon": recon,
                    "first_seen": now,
                    "times_seen": 1,
                    "run_state": RunState.NEW.value,
                    "status": status.value,
                    "severity": at_least(
                        severity(cand.amount, 0, rules, cand.currency), cand.severity, rules
                    ),
                    "owner": None,
                    # its NEW event (first_seen, this run): no history row of its own
                    "first_run_id": run_id,
                }
            )
            delta.new.append(eid)
            if covered:
                delta.suppressed.append(eid)
                plan.history.append(
                    event(
                        eid, run_id, now, Status.SUPPRESSED, details={**parked_by, "from": "OPEN"}
                    )
                )
            continue
        status = Status(prev.status)
        if status == Status.RESOLVED:
            state, status = RunState.REOPENED, Status.OPEN
            delta.reopened.append(eid)
        elif prev.fingerprint != cand.fingerprint:
            state = RunState.CHANGED
        else:
            state = RunState.STILL_OPEN
        if status in CLOSED:
            # a won't-fix one stays closed: not among the run's open items, counted apart
            # (its run state still says how the data saw it)
            delta.wont_fix.append(eid)
        elif state == RunState.CHANGED:
            delta.changed.append(eid)
        elif state == RunState.STILL_OPEN:
            delta.still_open.append(eid)
        if covered and status not in CLOSED:
            delta.suppressed.append(eid)
        if covered and status in SUPPRESSIBLE:
            # one in someone's hands is parked too (owner kept); "from" is where it returns
            plan.history.append(
                event(
                    eid, run_id, now, Status.SUPPRESSED, details={**parked_by, "from": status.value}
                )
            )
            status = Status.SUPPRESSED
        elif not covered and status == Status.SUPPRESSED:
            # its suppression expired or was lifted: back to where it was suppressed from
            status = Status((resume or {}).get(eid, Status.OPEN.value))
            plan.history.append(
                event(eid, run_id, now, "SUPPRESSION_ENDED", details={"to": status.value})
            )
        changes = {
            "times_seen": prev.times_seen + 1,
            "run_state": state.value,
            "status": status.value,
        }
        if status in CLOSED:
            # closed as won't fix (and seen again): its severity freezes like its age
            if state == RunState.STILL_OPEN:
                plan.touches.setdefault((None, None), []).append(eid)
            else:
                # ...and so does its age: resolved_at (when it was closed) stays as stored
                kept = {k: v for k, v in (values | changes).items() if k != "resolved_at"}
                plan.kept_severity.append(kept)
                plan.history.append(event(eid, run_id, now, state, cand.fingerprint))
            continue
        sev = severity(cand.amount, age_days(prev.first_seen, now), rules, cand.currency)
        sev = at_least(sev, cand.severity, rules)
        if state == RunState.STILL_OPEN:
            plan.touches.setdefault((sev, status.value), []).append(eid)
            continue
        plan.rewrites.append(values | changes | {"severity": sev})
        plan.history.append(event(eid, run_id, now, state, cand.fingerprint))
    for eid, prev in known.items():
        if eid in seen or Status(prev.status) in CLOSED:
            continue
        plan.resolved.append(eid)
        delta.resolved_by_data.append(eid)
        plan.history.append(
            event(eid, run_id, now, RunState.RESOLVED_BY_DATA, prev.fingerprint,
                  {"reason": Reason.RESOLVED_BY_DATA.value})
        )  # fmt: skip
    return plan


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


_JSON = ("keys", "details")
_TIMES = ("first_seen", "last_seen", "resolved_at", "at")


def _sqlite_tuples(rows: Sequence[dict[str, Any]], cols: list[str]) -> list[tuple[Any, ...]]:
    """Rows as the state store's SQLite column types store them (JSON text, naive UTC
    "YYYY-MM-DD HH:MM:SS.ffffff", exact decimal text), one encoder per column, each
    timestamp formatted once."""
    stamps: dict[datetime, str] = {}

    def stamp(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value not in stamps:
            stamps[value] = sqlite_stamp(value)
        return stamps[value]

    def as_json(value: Any) -> str | None:
        return None if value is None else json_text(value)

    def as_text(value: Any) -> str | None:
        return None if value is None else str(value)

    special = [
        (i, as_json if c in _JSON else stamp if c in _TIMES else as_text)
        for i, c in enumerate(cols)
        if c in _JSON or c in _TIMES or c == "amount"
    ]
    get = itemgetter(*cols) if len(cols) > 1 else lambda row: (row[cols[0]],)
    out = []
    for row in rows:
        values = list(get(row))
        for i, enc in special:
            values[i] = enc(values[i])
        out.append(tuple(values))
    return out


#: what a NUL character in a value from the sources is stored as where text cannot hold it
NUL_STORED_AS = "\ufffd"


def storable_text(rows: Iterable[dict[str, Any]]) -> None:
    """Text values with a NUL character (a key or currency from a dirty source file) made
    storable on PostgreSQL, whose text columns refuse NUL, in place: each NUL becomes U+FFFD.
    SQLite keeps them as they are; either way the run is recorded, not failed as a whole.
    JSON columns keep them exactly (escaped), so an exception's keys come back unchanged."""
    for row in rows:
        for name, value in row.items():
            if value.__class__ is str and "\x00" in value:
                row[name] = value.replace("\x00", NUL_STORED_AS)


def insert_rows(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT. On SQLite the rows are pre-encoded and handed to the driver's
    executemany: SQLAlchemy's per-row parameter and type processing was most of the time
    of a 20k-exception run. Other databases get a Core executemany."""
    if not rows:
        return
    if s.get_bind().dialect.name == "sqlite":
        cols = list(rows[0])
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
        s.connection().exec_driver_sql(sql, _sqlite_tuples(rows, cols))
        return
    storable_text(rows)
    for chunk in _chunks(rows):
        s.execute(table.insert(), list(chunk))


def write_plan(s: Session, plan: RunPlan, run_id: str, now: datetime) -> None:
    """Execute a plan in the caller's transaction with bulk statements (Core, or the SQLite
    driver's for the touches and resolutions)."""
    insert_rows(s, TABLE, plan.inserts)
    for rewrites in (plan.rewrites, plan.kept_severity):  # each list's rows share columns
        if not rewrites:
            continue
        cols = [c for c in rewrites[0] if c != "exception_id"]
        stmt = (
            update(TABLE)
            .where(TABLE.c.exception_id == bindparam("b_exception_id"))
            .values({c: bindparam(f"b_{c}") for c in cols})
        )
        params = [{f"b_{k}": v for k, v in row.items()} for row in rewrites]
        if s.get_bind().dialect.name != "sqlite":
            storable_text(params)
        for chunk in _chunks(params):
            s.execute(stmt, list(chunk))
    cur = sqlite_cursor(s)
    if cur is not None:
        try:
            _sqlite_updates(cur, plan, run_id, now)
        finally:
            cur.close()
        insert_rows(s, HISTORY, plan.history)
        return
    for (sev, status), ids in plan.touches.items():
        values: dict[str, Any] = {
            "last_seen": now,
            "last_run_id": run_id,
            "run_state": RunState.STILL_OPEN.value,
            "times_seen": TABLE.c.times_seen + 1,
        }
        if sev is not None:
            values["severity"] = sev
        if status is not None:
            values["status"] = status
        for chunk in _chunks(ids):
            s.execute(update(TABLE).where(TABLE.c.exception_id.in_(list(chunk))).values(values))
    for chunk in _chunks(plan.resolved):
        s.execute(
            update(TABLE)
            .where(TABLE.c.exception_id.in_(list(chunk)))
            .values(
                run_state=RunState.RESOLVED_BY_DATA.value,
                status=Status.RESOLVED.value,
                resolved_at=now,
                last_run_id=run_id,
            )
        )
    insert_rows(s, HISTORY, plan.history)


def _sqlite_updates(cur: Any, plan: RunPlan, run_id: str, now: datetime) -> None:
    """The touches and resolutions on SQLite: one UPDATE per (severity, status) group, its
    ids bound as one JSON array (json_each) instead of a compiled statement per 900."""
    at = sqlite_stamp(now)
    where = "exception_id IN (SELECT value FROM json_each(?))"
    for (sev, status), ids in plan.touches.items():
        sets = [(c, v) for c, v in (("severity", sev), ("status", status)) if v is not None]
        cur.execute(
            f"UPDATE {TABLE.name} SET last_seen = ?, last_run_id = ?, run_state = ?, "
            f"times_seen = times_seen + 1{''.join(f', {c} = ?' for c, _ in sets)} "
            f"WHERE {where}",
            (at, run_id, RunState.STILL_OPEN.value, *(v for _, v in sets),
             json_text(list(ids))),
        )  # fmt: skip
    if plan.resolved:
        cur.execute(
            f"UPDATE {TABLE.name} SET run_state = ?, status = ?, resolved_at = ?, "
            f"last_run_id = ? WHERE {where}",
            (RunState.RESOLVED_BY_DATA.value, Status.RESOLVED.value, at, run_id,
             json_text(plan.resolved)),
        )  # fmt: skip
