"""Code translation tables (old customer numbers, GL accounts, item codes -> new ones).

Tables are applied to the legacy side before matching, set-based in DuckDB. A code missing
from its table is not an error: the value passes through unchanged (so the record still
shows up as a break) and the gap is reported as a finding of its own. Several legacy codes
mapped to one new code are no error either (a consolidation): the table lists them at
load, and the legacy codes the data holds together are reported, their collisions
attributed to the merge (``uat.rootcause``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as default
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import structlog

from billbridge.errors import ConfigError, ParseError
from connectors.files.reader import read_table
from reconcile.engine import Side
from reconcile.engine.prepare import arrow_table, database  # the engine's DuckDB
from reconcile.engine.sides import code_text, register_side
from reconcile.engine.sql import ident, literal
from uat.spec import SourceError, TranslationSpec
from uat.sqltext import strip_sql

log = structlog.get_logger(__name__)

#: distinct missing codes kept per gap for the report (all are counted)
MAX_LISTED = 1000


@dataclass(frozen=True)
class Translation:
    name: str
    source: str
    #: columns ``old`` and ``new`` (text, stripped), one row per old code; the engine joins
    #: it in as it is
    table: pa.Table
    #: new code -> the legacy codes (sorted) the table maps to it, where there are several
    merges: Mapping[str, tuple[str, ...]] = default(default_factory=dict)
    #: legacy codes match in any case (``C-001`` finds ``c-001``): no two of the table's
    #: codes differ only by case
    case_insensitive: bool = True
    #: why the table is read another way than usual (file, lines and field), for the report
    warning: str | None = None


@dataclass(frozen=True)
class Gap:
    """Codes of one field that its translation table does not know."""

    field: str
    table: str
    #: records carrying an unknown code
    records: int
    #: distinct unknown codes
    distinct: int
    #: code -> records, at most MAX_LISTED, most frequent first
    codes: dict[str, int]
    #: every unknown code (for attributing breaks; not reported)
    all_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Merge:
    """Legacy codes of one field that its table maps to one new code, found together in
    the legacy data: their records share a code after translation (a consolidated
    customer, two items folded into one)."""

    field: str
    table: str
    #: new code -> the legacy codes (sorted, at least two) the data holds, at most
    #: MAX_LISTED new codes
    codes: dict[str, tuple[str, ...]]
    #: records carrying one of those legacy codes
    records: int
    #: every such new code -> its legacy codes (for attributing breaks; not reported)
    all_codes: Mapping[str, tuple[str, ...]] = default(default_factory=dict)


@dataclass(frozen=True)
class Translated:
    """A side with its code tables attached, and what the tables did not or could only
    ambiguously translate."""

    side: Side
    gaps: list[Gap]
    merges: list[Merge]


def load_translation(name: str, spec: TranslationSpec, base: Path) -> Translation:
    """Read one table; blank or contradicting rows are errors naming file and line."""
    path = Path(spec.path)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise SourceError("path", f"translation table {name!r}: file not found: {path}")
    fast = _clean_utf8_csv(path, spec)
    if fast is not None:
        return _loaded(name, path, spec, fast)
    table = read_table(path)
    for key, col in (("old", spec.old), ("new", spec.new)):
        if col not in table.columns:
            raise SourceError(
                key, f"translation table {name!r} ({path}) has no column {col!r}: {table.columns}"
            )
    if table.errors:
        raise table.errors[0]
    mapping: dict[str, str] = {}
    lines: dict[str, int] = {}
    for row, line in zip(table.rows, table.lines, strict=True):
        old = str(row.get(spec.old) or "").strip()
        new = str(row.get(spec.new) or "").strip()
        if not old or not new:
            blank = spec.old if not old else spec.new
            raise ParseError(f"field {blank!r} is blank", file=str(path), line=line)
        if mapping.get(old, new) != new:
            raise ParseError(
                f"field {spec.old!r}: {old!r} maps to both {mapping[old]!r} and {new!r}",
                file=str(path),
                line=line,
            )
        mapping[old] = new
        lines.setdefault(old, line)
    codes = pa.table(
        {
            "old": pa.array(list(mapping), pa.string()),
            "new": pa.array(list(mapping.values()), pa.string()),
        }
    )
    return _loaded(name, path, spec, codes, lines)


def _loaded(
    name: str,
    path: Path,
    spec: TranslationSpec,
    codes: pa.Table,
    lines: Mapping[str, int] | None = None,
) -> Translation:
    """The table with its many-to-one codes (several legacy codes for one new code) and
    whether its codes may match in any case; ``lines``: code -> its first line in the file
    (read again for the warning when the fast reader has none)."""
    con = database().cursor()
    found: list[Any] = []
    cased: list[Any] = []
    try:
        con.register("codes", codes)
        # one pass to tell whether to look closer (most tables are one-to-one, one case);
        # lower() as the look-up in translate_codes folds case, so the two agree
        n = codes.num_rows  # one per old code
        # two counts cost half of one query counting both (measured on 50k codes)
        (news,) = con.execute("SELECT count(DISTINCT new) FROM codes").fetchall()[0]
        (folded,) = con.execute("SELECT count(DISTINCT lower(old)) FROM codes").fetchall()[0]
        if news < n:
            found = con.execute(
                "SELECT new, list(old ORDER BY old) FROM codes GROUP BY new "
                "HAVING count(*) > 1 ORDER BY new"
            ).fetchall()
        if folded < n:
            cased = con.execute(
                "SELECT list(old ORDER BY old) FROM codes GROUP BY lower(old) "
                "HAVING count(*) > 1 ORDER BY min(old)"
            ).fetchall()
    finally:
        con.close()
    merges = {str(new): tuple(old) for new, old in found}
    if merges:
        log.info("translation_merges", table=name, file=str(path), new_codes=len(merges))
    if not cased:
        return Translation(name, str(path), codes, merges)
    lines = lines if lines is not None else _lines(path, spec)
    a, b = sorted(cased[0][0], key=lambda code: lines.get(code, 0))[:2]
    more = f" ({len(cased) - 1} more such codes)" if len(cased) > 1 else ""
    warning = (
        f"{path}:{lines.get(a)} and line {lines.get(b)}: translation table {name!r}, field "
        f"{spec.old!r}: codes {a!r} and {b!r} differ only by case{more}, so its codes are "
        "matched exactly (case-sensitive)"
    )
    log.warning("translation_case_sensitive", table=name, file=str(path), message=warning)
    return Translation(name, str(path), codes, merges, case_insensitive=False, warning=warning)


def _lines(path: Path, spec: TranslationSpec) -> dict[str, int]:
    """Stripped old code -> its first line, by the general reader (only for a warning)."""
    table = read_table(path)
    out: dict[str, int] = {}
    for row, line in zip(table.rows, table.lines, strict=True):
        out.setdefault(str(row.get(spec.old) or "").strip(), line)
    return out


def _clean_utf8_csv(path: Path, spec: TranslationSpec) -> pa.Table | None:
    """The table of a UTF-8 CSV without problems, read and checked by DuckDB (50k codes in
    a few tens of ms, no Python object per code). None sends the file to the general reader:
    a workbook, another encoding, missing columns, or a blank or contradicting row, which
    that reader then reports with its line. Codes are stripped as ``str.strip`` does."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return None
    old, new = strip_sql(ident(spec.old)), strip_sql(ident(spec.new))
    con = database().cursor()
    try:
        # SQL, not the relation API's read_csv: that one sniffs the file a second time
        pairs = arrow_table(
            con,
            f"SELECT {old} AS old, {new} AS new "
            f"FROM read_csv({literal(str(path))}, header = true, all_varchar = true)",
        )
        con.register("pairs", pairs)
        blank, codes = con.execute(
            "SELECT count(*) FILTER (WHERE coalesce(old, '') = '' OR coalesce(new, '') = ''), "
            "count(DISTINCT old) FROM pairs"
        ).fetchall()[0]
        if blank:
            return None
        if codes < pairs.num_rows:  # a code listed twice: once more is fine, another is not
            pairs = arrow_table(con, "SELECT DISTINCT old, new FROM pairs")
            if pairs.num_rows > codes:
                return None
    except duckdb.Error:  # a missing column, another encoding: the general reader says which
        return None
    finally:
        con.close()
    return pairs


def translate_side(
    side: Side, columns: dict[str, tuple[str, Translation]]
) -> tuple[Side, list[Gap]]:
    """``translate_codes`` without the merges."""
    done = translate_codes(side, columns)
    return done.side, done.gaps


def translate_codes(side: Side, columns: dict[str, tuple[str, Translation]]) -> Translated:
    """Attach the code tables to ``side`` (source column -> (field, table)); report the gaps
    and the legacy codes merged into one new code that the data holds together.

    Nothing is copied: the engine joins the tables in as it reads the side. Only the
    reports scan the codes here, one column at a time (the merges only for a table that
    has any)."""
    if not columns:
        return Translated(side, [], [])
    for column, (_, xlat) in columns.items():
        if column not in side.column_names:
            raise ConfigError(
                f"{side.source}: no column {column!r} to translate with {xlat.name!r}"
            )
    plain = replace(side, translations=())
    translations = []
    con = database().cursor()  # own temp schema, no new database per call
    gaps, merges = [], []
    try:
        register_side(con, "src", plain)
        for i, (column, (name, xlat)) in enumerate(columns.items()):
            con.register(f"t{i}", xlat.table)
            rows = con.execute(_gap_sql(plain, column, f"t{i}")).fetchall()
            found = [(c, n) for c, n in rows if c]
            aliases = _case_aliases(con, f"t{i}", found) if xlat.case_insensitive else {}
            table = xlat.table
            if aliases:  # the engine joins exactly: the codes as the data has them join too
                found = [(c, n) for c, n in found if c not in aliases]
                pairs = [(c, new) for c, (_, new) in aliases.items()]
                table = pa.concat_tables([table, _codes(pairs, xlat.table)])
                log.info(
                    "translation_case_matched", field=name, table=xlat.name, codes=len(aliases)
                )
            translations.append((column, table))
            if found:
                gaps.append(
                    Gap(
                        field=name,
                        table=xlat.name,
                        records=sum(int(n) for _, n in found),
                        distinct=len(found),
                        codes={str(c): int(n) for c, n in found[:MAX_LISTED]},
                        all_codes=frozenset(str(c) for c, _ in found),
                    )
                )
            merge = _merged(con, plain, column, name, xlat, aliases) if xlat.merges else None
            if merge is not None:
                merges.append(merge)
    finally:
        con.close()
    for gap in gaps:
        log.info("translation_gap", field=gap.field, table=gap.table, records=gap.records)
    for merge in merges:
        log.info(
            "translation_merged", field=merge.field, table=merge.table,
            new_codes=len(merge.all_codes), records=merge.records,
        )  # fmt: skip
    translated = replace(side, translations=side.translations + tuple(translations))
    return Translated(translated, gaps, merges)


def _case_aliases(
    con: duckdb.DuckDBPyConnection, table: str, found: list[tuple[str, int]]
) -> dict[str, tuple[str, str]]:
    """Code as the data has it -> (the table's code, its new code), for the codes ``table``
    lacks as they are but holds in another case (only these few are folded, never the
    whole column)."""
    if not found:
        return {}
    con.register("unknown", pa.table({"c": pa.array([c for c, _ in found], pa.string())}))
    rows = con.execute(
        f"SELECT u.c, t.old, t.new FROM unknown u JOIN {table} t ON lower(t.old) = lower(u.c)"
    ).fetchall()
    return {str(c): (str(old), str(new)) for c, old, new in rows}


def _codes(pairs: Iterable[tuple[str, str]], like: pa.Table) -> pa.Table:
    """(old, new) pairs as a code table with the schema of ``like``."""
    listed = list(pairs)
    columns = {"old": [o for o, _ in listed], "new": [n for _, n in listed]}
    return pa.table(columns, schema=like.schema)


def _merged(
    con: duckdb.DuckDBPyConnection,
    side: Side,
    column: str,
    name: str,
    xlat: Translation,
    aliases: Mapping[str, tuple[str, str]],
) -> Merge | None:
    """The merged codes of ``xlat`` that ``column`` of ``src`` holds two or more legacy
    codes of; None when it holds none. Codes are looked up stripped, as the engine does, a
    code in another case (``aliases``) as the table's code it stands for."""
    rows = [(old, old, new) for new, olds in xlat.merges.items() for old in olds]
    rows += [(c, old, new) for c, (old, new) in aliases.items() if new in xlat.merges]
    con.register(
        "merged",
        pa.table(
            {
                col: pa.array([r[i] for r in rows], pa.string())
                for i, col in enumerate(("code", "old", "new"))
            }
        ),
    )
    code = strip_sql(code_text(side, column, "s"))
    found = con.execute(
        f"SELECT m.new, m.old, count(*) FROM src s JOIN merged m ON m.code = {code} "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    olds: dict[str, list[str]] = {}
    records: dict[str, int] = {}
    for new, old, n in found:
        olds.setdefault(new, []).append(old)
        records[new] = records.get(new, 0) + int(n)
    together = {new: tuple(codes) for new, codes in olds.items() if len(codes) > 1}
    if not together:
        return None
    return Merge(
        field=name,
        table=xlat.name,
        codes=dict(list(together.items())[:MAX_LISTED]),
        records=sum(records[new] for new in together),
        all_codes=together,
    )


def _gap_sql(side: Side, column: str, table: str) -> str:
    """(stripped code, records) of the codes in ``column`` of ``src`` that ``table`` lacks,
    most frequent first; blank codes come back too (the caller drops them).

    The engine looks codes up stripped (``strip_sql``, as the tables' codes are), so the gap
    report and the root causes name the same code. The table's codes have no edge
    whitespace, so a value found as it is needs no strip: only the few values not found are
    stripped and looked up again (stripping a million values first took twice as long). No
    WHERE clause: DuckDB would push it into the scan and strip every value after all."""
    value = code_text(side, column, "s")  # as the engine joins it (1200.0 is 1200)
    code = strip_sql("v")
    return (
        f"SELECT {code} AS c, count(*) AS n FROM (SELECT {value} AS v FROM src s "
        f"ANTI JOIN {table} ON {table}.old = {value}) "
        f"ANTI JOIN {table} ON {table}.old = {code} GROUP BY 1 ORDER BY n DESC, c"
    )
