"""Dates written the local way (``31.01.2024``, ``1/31/2024 2:22 pm``, ``31-Jan-24``), read
as the ISO dates the engine compares.

The engine reads ISO dates (``2024-01-31``, with or without a time). ERP and bank exports
often write dates day-first (Europe) or month-first (NetSuite and Salesforce in the US).
A text column is rewritten to ISO only when its values say how to read it:

- every value that is a date reads the same in both orders (``05/05/2024``, ``31.01.2024``
  with its points, ``31-Jan-2024``), or only one order reads more than half the values
  (``31/01/2024`` is no month-first date): that order;
- values that read differently in the two orders (``01/02/2024``) with no value to decide:
  the order another date column of the same file showed (an export writes all its dates
  one way), else the order declared (``day`` or ``month``), never guessed; undeclared, the
  column stays as written and is reported as ambiguous.

Values no order reads (``n/a``) and blanks stay as written, so the engine reports a bad
value at its line; a time of day is dropped (the engine compares dates by day). Key columns
stay as written (``keep``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Literal

import duckdb
import pyarrow.compute as pc

from reconcile.engine.prepare import arrow_table, database, one_row
from reconcile.engine.sides import LINE, Side, is_text_field, register_side, text_rows
from reconcile.engine.sql import date_text, ident, literal

Order = Literal["day", "month"]
ORDERS: tuple[Order, ...] = ("day", "month")

#: read alike in both orders: points are day-first everywhere, and month names say which
#: part is the month. Two-digit years first: "%Y" would read "24" as the year 24.
_EITHER = ("%d.%m.%y", "%d.%m.%Y", "%d. %m. %Y", "%d-%b-%y", "%d-%b-%Y", "%d %b %Y",
           "%b %d, %Y", "%b %d %Y", "%d %B %Y", "%B %d, %Y")  # fmt: skip
_SLASHED = {
    "day": ("%d/%m/%y", "%d/%m/%Y", "%d-%m-%y", "%d-%m-%Y"),
    "month": ("%m/%d/%y", "%m/%d/%Y", "%m-%d-%y", "%m-%d-%Y"),
}
#: what a value must look like to be read in those formats: day, month and year in digits
#: with points, slashes or dashes, or with a month name
_SHAPE = (
    r"^\s*([0-9]{1,2}\. ?[0-9]{1,2}\. ?[0-9]{2,4}"
    r"|[0-9]{1,2}[/-][0-9]{1,2}[/-][0-9]{2,4}"
    r"|[0-9]{1,2}[- ][A-Za-z]{3,9}[- ][0-9]{2,4}"
    r"|[A-Za-z]{3,9} [0-9]{1,2},? [0-9]{4})([ T]|\s*$)"
)
#: a time after the date ("14:22", "2:22:05 pm", "2:22 PM"), dropped before the date is read
_TIME = r"[ T]+[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? *([AaPp]\.? *[Mm]\.?)?$"


def _formats(order: Order) -> str:
    return "[" + ", ".join(literal(f) for f in (*_EITHER, *_SLASHED[order])) + "]"


def _parsed(value: str, order: Order) -> str:
    """The date ``value`` (text, time dropped) reads as in ``order``; NULL when it does not
    (a year before 1000 is a two-digit year read by "%Y", not a date)."""
    stamp = f"try_strptime({value}, {_formats(order)})"
    return f"(CASE WHEN year({stamp}) >= 1000 THEN CAST({stamp} AS DATE) END)"


@dataclass
class DatesRead:
    """What :func:`with_iso_dates` did to one side."""

    side: Side
    #: column -> the order its dates were read in
    read: dict[str, Order] = field(default_factory=dict)
    #: columns of dates that read differently day-first and month-first, left as written
    ambiguous: list[str] = field(default_factory=list)
    #: column -> its first rewritten value: (as written, as read)
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)


def with_iso_dates(side: Side, keep: Collection[str] = (), order: Order | None = None) -> DatesRead:
    """``side`` with its text columns of local dates rewritten as ISO dates (see the module
    docstring). ``order``: how to read dates that read both ways (declared for the file).
    A Parquet side is read into memory only when it has such a column."""
    columns = [
        f.name for f in side.schema if f.name not in keep and f.name != LINE and is_text_field(f)
    ]
    done = DatesRead(side)
    if not columns:
        return done
    con = database().cursor()
    try:
        register_side(con, "_t", replace(side, translations=()))  # Parquet: scanned in place
        columns = _shaped(con, columns)
        counts = _counts(con, columns) if columns else []
        shown: set[Order] = set()  # orders some value read in only one way showed
        for name, (n, iso, day, month, differ) in zip(columns, counts, strict=True):
            picked = _order(n, iso, {"day": day, "month": month}, differ, order)
            if picked == "ambiguous":
                done.ambiguous.append(name)
            elif picked is not None:
                done.read[name] = picked
                if day != month:
                    shown.add(picked)
        if done.ambiguous and len(shown) == 1:
            # one export writes all its dates one way: a due date of 12/31/2024 says how
            # the same file's issue date 12/01/2024 reads
            (shown_order,) = shown
            done.read.update(dict.fromkeys(done.ambiguous, shown_order))
            done.ambiguous = []
        if not done.read:
            return done
        rewritten = arrow_table(con, _rewrite_sql(done.read))
    finally:
        con.close()
    table = text_rows(side)
    assert table is not None  # it has text columns
    if not rewritten.column(LINE).equals(table.column(LINE)):
        raise RuntimeError(f"{side.source}: dates rewritten out of row order")
    for name in done.read:
        i = table.schema.get_field_index(name)
        new = rewritten.column(name)
        changed = pc.fill_null(pc.not_equal(table.column(i), new), False)
        first = pc.index(changed, True).as_py()
        if first >= 0:
            done.examples[name] = (table.column(i)[first].as_py(), new[first].as_py())
        table = table.set_column(i, table.schema.field(i), new)
    done.side = Side(table, side.source, translations=side.translations, sheet=side.sheet)
    return done


def _value(name: str) -> str:
    """A column's text with surrounding space and any time of day taken off (NULL: blank)."""
    return f"NULLIF(regexp_replace(trim({ident(name)}), {literal(_TIME)}, ''), '')"


def _shaped(con: duckdb.DuckDBPyConnection, columns: list[str]) -> list[str]:
    """The columns with a value shaped like a local date: a cheap pattern first, so that
    only those pay for reading each value in a dozen formats."""
    shape = literal(_SHAPE)
    parts = [f"count(*) FILTER (WHERE regexp_matches({ident(c)}, {shape}))" for c in columns]
    row = one_row(con, f"SELECT {', '.join(parts)} FROM _t")
    return [c for c, n in zip(columns, row, strict=True) if n]


def _counts(
    con: duckdb.DuckDBPyConnection, columns: list[str]
) -> list[tuple[int, int, int, int, int]]:
    """Per column: values, values the engine reads already (ISO), values read day-first,
    month-first, and values that read as different dates in the two orders."""
    parts = []
    for name in columns:
        v = _value(name)
        day, month = _parsed(v, "day"), _parsed(v, "month")
        parts += [
            f"count({v})",
            f"count({date_text(ident(name))})",
            f"count({day})",
            f"count({month})",
            f"count(*) FILTER (WHERE {day} <> {month})",
        ]
    row = [int(x) for x in one_row(con, f"SELECT {', '.join(parts)} FROM _t")]
    return [(row[i], row[i + 1], row[i + 2], row[i + 3], row[i + 4]) for i in range(0, len(row), 5)]


def _order(
    n: int, iso: int, parsed: dict[Order, int], differ: int, declared: Order | None
) -> Order | Literal["ambiguous"] | None:
    """How to read a column (None: it is no column of local dates)."""
    if declared is not None:
        return declared if parsed[declared] * 2 > n and parsed[declared] > iso else None
    best = max(parsed.values())
    if best * 2 <= n or best <= iso:
        return None  # mostly not dates, or already the engine's
    winners = [o for o in ORDERS if parsed[o] == best]
    if len(winners) == 1:
        return winners[0]  # some value reads only this way (31/01/2024 is no month-first date)
    return "ambiguous" if differ else "day"  # every value reads alike either way


def _rewrite_sql(read: dict[str, Order]) -> str:
    """The rewritten columns (ISO where a date was read, else as written) and ``_line``."""
    cols = [
        f"coalesce(strftime({_parsed(_value(name), order)}, '%Y-%m-%d'), {ident(name)}) "
        f"AS {ident(name)}"
        for name, order in read.items()
    ]
    return f"SELECT {', '.join(cols)}, {LINE} FROM _t"
