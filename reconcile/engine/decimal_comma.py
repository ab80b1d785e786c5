"""Files that write numbers with a decimal comma (``1.234,56``, ``-12,5``, ``1 234,56``), as
European ERPs and spreadsheets export them, read for ``reconcile files --decimal-comma``.

The engine reads numbers with a decimal point and refuses a comma it cannot place, because
``1.000`` is one in one convention and a thousand in the other: the convention is declared
per file, never guessed per value. In a declared file, a text column of which at least
half the values are numbers written that way has those rewritten as the engine reads
numbers (``1.234,56`` -> ``1234.56``); its other values (``n/a``) stay as written, for the
engine to report at their own line. Columns of other values (codes, dates ``01.02.2024``)
and the key columns stay as they are.
"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa
import pyarrow.compute as pc

from reconcile.engine.sides import LINE, Side, is_text_field, text_rows

#: separators of thousands groups: point, space, no-break space, narrow no-break space
_GROUP = "[. \u00a0\u202f]"
#: a number with a decimal comma, with the decorations the engine reads around it:
#: a currency symbol, a sign, accounting parentheses, a trailing minus or a percent sign
DECIMAL_COMMA = (
    r"^\s*[$€£¥]?\s*\(?\s*[+-]?\s*[$€£¥]?\s*"
    rf"(?:[0-9]{{1,3}}(?:{_GROUP}[0-9]{{3}})+|[0-9]+)(?:,[0-9]+)?"
    r"\s*\)?-?\s*[$€£¥]?\s*%?\s*$"
)
#: a value that needs the rewrite (a comma, or a group separator between digits)
_SEPARATED = rf"[0-9](?:,|{_GROUP}[0-9]{{3}})"


def _rewritten(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column's decimal-comma numbers written with a decimal point, or None when it is
    no decimal-comma number column: at least half of its values must be such numbers and
    one must show a comma or a group separator (plain integers read alike either way).
    Other values stay as written, so the engine reports a stray ``n/a`` at its own line
    instead of the first good number."""
    values = pc.utf8_trim_whitespace(column)
    present = pc.fill_null(pc.not_equal(values, ""), False)
    fits = pc.and_(pc.fill_null(pc.match_substring_regex(values, DECIMAL_COMMA), False), present)
    fitting = pc.sum(fits).as_py() or 0  # None for a column without rows (a header only)
    if not fitting or fitting * 2 < (pc.sum(present).as_py() or 0):
        return None
    separated = pc.fill_null(pc.match_substring_regex(values, _SEPARATED), False)
    if not pc.any(pc.and_(fits, separated)).as_py():
        return None  # plain integers: the same in both conventions
    # a value that fits the pattern has its point or space as a group separator (or spacing
    # around a symbol or sign, which the engine's number parse ignores)
    out = pc.replace_substring(pc.replace_substring_regex(column, _GROUP, ""), ",", ".")
    return pc.if_else(fits, out, column)


def looks_decimal_comma(side: Side, columns: Collection[str]) -> list[str]:
    """Which of ``columns`` (text) hold at least half numbers with a decimal comma, one of them
    with a comma: evidence for a hint to declare the file, never applied unasked."""
    if side.table is None:
        return []
    found = []
    for name in columns:
        if name not in side.table.column_names:
            continue
        column = side.table.column(name)
        if not pa.types.is_string(column.type) or _rewritten(column) is None:
            continue
        if pc.any(pc.fill_null(pc.match_substring_regex(column, "[0-9],[0-9]"), False)).as_py():
            found.append(name)
    return found


def with_decimal_point(side: Side, keep: Collection[str]) -> Side:
    """``side`` with its decimal-comma number columns rewritten (``keep``: columns left
    as written, the keys). A Parquet side is read into memory only when it has text
    columns to look at."""
    table = text_rows(side)
    if table is None:
        return side
    changed = table
    for i, f in enumerate(table.schema):
        if f.name in keep or f.name == LINE:
            continue
        if not is_text_field(f):
            continue
        new = _rewritten(table.column(i))
        if new is not None:
            changed = changed.set_column(i, f, new)
    if changed is table:  # nothing rewritten: a Parquet side stays scanned in place
        return side
    return Side(changed, side.source, translations=side.translations, sheet=side.sheet)
