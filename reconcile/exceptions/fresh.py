"""Writing a run's never-seen exceptions straight from the engine's rows.

Most exceptions of a large run are either new (a first run, a new break) or seen again. New
ones need no comparison with earlier runs, so they go from the engine's tuples
(``reconcile.engine.rows``) to the state store without an object per exception: on SQLite
multi-row INSERTs whose constant columns are SQL literals and whose key columns SQLite
builds itself (``json_object``). Their NEW event is the row's own ``first_seen`` and
``first_run_id`` (``queries.history`` shows it), not a history row of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import chain
from typing import Any

from sqlalchemy.orm import Session

from billbridge.state.db import RawJSON
from reconcile.engine.rows import AMOUNT, CATEGORY, CURRENCY, DETAILS, FINGERPRINT, ID, KEYS
from reconcile.engine.rows import SEVERITY as SEV
from reconcile.exceptions.model import RunState, Status
from reconcile.exceptions.runs import (
    TABLE,
    insert_rows,
    sqlite_cursor,
    sqlite_stamp,
)

Row = tuple[Any, ...]


def _literal(text: str) -> str:
    """A SQLite string literal (only the quote needs doubling there)."""
    if "\x00" in text:
        raise ValueError(f"text with a NUL character cannot be stored: {text!r}")
    return "'" + text.replace("'", "''") + "'"


#: rows per multi-row INSERT at most, and the fewest parameters any SQLite allows
MULTI_ROW, SQLITE_PARAMETERS = 100, 999

#: the exceptions table's columns in the order of the VALUES below
_COLUMNS = ("exception_id", "recon", "category", "keys", "key_text", "fingerprint", "details",
            "severity", "amount", "currency", "first_seen", "last_seen", "times_seen",
            "run_state", "status", "owner", "last_run_id", "resolved_at",
            "first_run_id")  # fmt: skip


def _row_values(
    recon: str, run_id: str, key_names: Sequence[str], now: datetime, first: int
) -> str:
    """One row's ``(...)`` of the INSERT, its engine tuple bound from parameter ``first`` on
    (SQLite numbers parameters from 1)."""
    n = first + KEYS  # the first key's parameter number
    keys_json = ", ".join(f"{_literal(name)}, ?{n + i}" for i, name in enumerate(key_names))
    key_text = " || '|' || ".join(f"?{n + i}" for i in range(len(key_names))) or "''"
    at, run = _literal(sqlite_stamp(now)), _literal(run_id)
    values = [
        f"?{first + ID}", _literal(recon), f"?{first + CATEGORY}", f"json_object({keys_json})",
        key_text, f"?{first + FINGERPRINT}", f"?{first + DETAILS}", f"?{first + SEV}",
        f"?{first + AMOUNT}", f"?{first + CURRENCY}", at, at, "1", _literal(RunState.NEW.value),
        _literal(Status.OPEN.value), "NULL", run, "NULL", run,
    ]  # fmt: skip
    return f"({', '.join(values)})"


def _sqlite_sql(recon: str, run_id: str, key_names: Sequence[str], now: datetime, rows: int) -> str:
    """INSERT of ``rows`` engine tuples, flattened into one parameter list."""
    width = KEYS + len(key_names)
    groups = ", ".join(
        _row_values(recon, run_id, key_names, now, 1 + j * width) for j in range(rows)
    )
    return f"INSERT INTO {TABLE.name} ({', '.join(_COLUMNS)}) VALUES {groups}"


def rows_per_insert(key_names: Sequence[str]) -> int:
    """Rows bound per INSERT: many (one statement per row spent much of the insert in the
    driver's per-statement work), within SQLite's oldest parameter limit of 999."""
    return max(1, min(MULTI_ROW, SQLITE_PARAMETERS // (KEYS + len(key_names))))


class FreshWriter:
    """INSERTs rows (engine tuples, ids not yet in the store) as NEW and OPEN in the
    caller's transaction as they are added (``add``, any number of times); ``close`` checks
    that every row given was inserted.

    On SQLite the rows go by multi-row statements of ``rows_per_insert`` rows and one for
    the rest of each ``add``.
    ``severity_of``: recompute each row's severity from its amount and its own level (when
    the rules differ from those the engine used). Only made when there are rows to add."""

    def __init__(
        self,
        s: Session,
        recon: str,
        run_id: str,
        key_names: Sequence[str],
        now: datetime,
        severity_of: Callable[[Decimal | None, str, str | None], str] | None = None,
    ) -> None:
        self.s, self.recon, self.run_id, self.now = s, recon, run_id, now
        self.key_names = tuple(key_names)
        self.severity_of = severity_of
        self._cur: Any = sqlite_cursor(s)
        self._given = self._inserted = 0

    def add(self, rows: Sequence[Row]) -> None:
        if self.severity_of is not None:
            sev = self.severity_of
            rows = [
                (
                    *r[:SEV],
                    sev(None if r[AMOUNT] is None else Decimal(r[AMOUNT]), r[SEV], r[CURRENCY]),
                    *r[SEV + 1 :],
                )
                for r in rows
            ]
        self._given += len(rows)
        if self._cur is None:
            _insert_portable(self.s, self.recon, self.run_id, rows, self.key_names, self.now)
            return
        try:
            self._inserted += _insert_batched(
                self._cur, self.recon, self.run_id, rows, self.key_names, self.now
            )
        except BaseException:
            self._cur.close()  # the transaction is rolled back; close() is not called
            raise

    def close(self) -> None:
        """Check that SQLite inserted every row given (a surprise fails the run, so its
        transaction is rolled back, instead of leaving exceptions unrecorded)."""
        cur = self._cur
        if cur is None:
            return
        cur.close()
        if self._inserted != self._given:
            raise RuntimeError(
                f"recording {self.recon}: {self._given} new exceptions, {self._inserted} "
                "inserted; nothing was recorded"
            )


def _insert_batched(
    cur: Any,
    recon: str,
    run_id: str,
    rows: Sequence[Row],
    key_names: Sequence[str],
    now: datetime,
) -> int:
    """INSERT ``rows`` by multi-row statements of ``rows_per_insert`` rows and one for the
    rest; the number of rows inserted."""
    per = rows_per_insert(key_names)
    whole = len(rows) - len(rows) % per
    inserted = 0
    if whole:
        batches = (list(chain.from_iterable(rows[i : i + per])) for i in range(0, whole, per))
        cur.executemany(_sqlite_sql(recon, run_id, key_names, now, per), batches)
        inserted += cur.rowcount
    if whole < len(rows):
        rest = rows[whole:]
        cur.execute(
            _sqlite_sql(recon, run_id, key_names, now, len(rest)), list(chain.from_iterable(rest))
        )
        inserted += cur.rowcount
    return inserted


def _insert_portable(
    s: Session,
    recon: str,
    run_id: str,
    rows: Iterable[Row],
    key_names: Sequence[str],
    now: datetime,
) -> None:
    """The same rows through SQLAlchemy Core (PostgreSQL and any other backend)."""
    inserts = []
    for r in rows:
        keys = dict(zip(key_names, r[KEYS:], strict=True))
        inserts.append(
            {
                "exception_id": r[ID],
                "recon": recon,
                "category": r[CATEGORY],
                "keys": keys,
                "key_text": "|".join(str(v) for v in keys.values()),
                "fingerprint": r[FINGERPRINT],
                "details": RawJSON(r[DETAILS]),
                "severity": r[SEV],
                "amount": None if r[AMOUNT] is None else Decimal(r[AMOUNT]),
                "currency": r[CURRENCY],
                "first_seen": now,
                "last_seen": now,
                "times_seen": 1,
                "run_state": RunState.NEW.value,
                "status": Status.OPEN.value,
                "owner": None,
                "last_run_id": run_id,
                "resolved_at": None,
                "first_run_id": run_id,
            }
        )
    insert_rows(s, TABLE, inserts)
