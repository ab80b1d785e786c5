"""Code translation tables (old customer numbers, GL accounts, item codes -> new ones).

Tables are applied to the legacy side before matching, set-based in DuckDB. A code missing
from its table is not an error: the value passes through unchanged (so the record still
shows up as a break) and the gap is reported as a finding of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import structlog

from billbridge.errors import ConfigError, ParseError
from connectors.files.reader import read_table
from reconcile.engine import Side
from reconcile.engine.sides import LINE
from reconcile.engine.sql import ident, literal
from uat.spec import TranslationSpec

log = structlog.get_logger(__name__)

#: distinct missing codes kept per gap for the report (all are counted)
MAX_LISTED = 1000


@dataclass(frozen=True)
class Translation:
    name: str
    source: str
    mapping: dict[str, str]


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


def load_translation(name: str, spec: TranslationSpec, base: Path) -> Translation:
    """Read one table; blank or contradicting rows are errors naming file and line."""
    path = Path(spec.path)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"translation table {name!r}: file not found: {path}")
    table = read_table(path)
    for col in (spec.old, spec.new):
        if col not in table.columns:
            raise ParseError(
                f"{path}: line 1: translation table {name!r} has no column {col!r} "
                f"(columns: {table.columns})",
                file=str(path),
                line=1,
            )
    if table.errors:
        raise table.errors[0]
    mapping: dict[str, str] = {}
    for row, line in zip(table.rows, table.lines, strict=True):
        old = str(row.get(spec.old) or "").strip()
        new = str(row.get(spec.new) or "").strip()
        if not old or not new:
            blank = spec.old if not old else spec.new
            raise ParseError(
                f"{path}: line {line}: field {blank!r} is blank", file=str(path), line=line
            )
        if mapping.get(old, new) != new:
            raise ParseError(
                f"{path}: line {line}: field {spec.old!r}: {old!r} maps to both "
                f"{mapping[old]!r} and {new!r}",
                file=str(path),
                line=line,
            )
        mapping[old] = new
    return Translation(name, str(path), mapping)


_DB: list[duckdb.DuckDBPyConnection] = []


def database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process for translations and expectation queries."""
    if not _DB:
        _DB.append(duckdb.connect())
    return _DB[0]


def _register(con: duckdb.DuckDBPyConnection, side: Side) -> None:
    if side.table is not None:
        con.register("src", side.table)
        return
    extra = "" if LINE in side.column_names else f", file_row_number + 1 AS {LINE}"
    con.execute(
        f"CREATE TEMP VIEW src AS SELECT * EXCLUDE (file_row_number){extra} "
        f"FROM read_parquet({literal(side.parquet)}, file_row_number = true)"
    )


def translate_side(
    side: Side,
    columns: dict[str, tuple[str, Translation]],
    keep: list[str] | None = None,
) -> tuple[Side, list[Gap]]:
    """Replace codes in ``columns`` (source column -> (field, table)); report the gaps.

    ``keep`` names the columns the comparison needs: only those are carried over (a wide
    legacy export is not copied whole)."""
    if not columns:
        return side, []
    con = database().cursor()  # own temp schema, no new database per call
    try:
        _register(con, side)
        replace, joins, gaps = [], [], []
        for i, (column, (field, xlat)) in enumerate(columns.items()):
            if column not in side.column_names:
                raise ConfigError(
                    f"{side.source}: no column {column!r} to translate with {xlat.name!r}"
                )
            codes = pa.table(
                {
                    "old": pa.array(list(xlat.mapping), pa.string()),
                    "new": pa.array(list(xlat.mapping.values()), pa.string()),
                }
            )
            con.register(f"t{i}", codes)
            code = f"trim(CAST(s.{ident(column)} AS VARCHAR))"
            joins.append(f"LEFT JOIN t{i} ON t{i}.old = {code}")
            replace.append(f"coalesce(t{i}.new, {code}) AS {ident(column)}")
            found = con.execute(
                f"SELECT {code} AS c, count(*) AS n FROM src s ANTI JOIN t{i} ON t{i}.old = {code} "
                f"WHERE nullif({code}, '') IS NOT NULL GROUP BY 1 ORDER BY n DESC, c"
            ).fetchall()
            if found:
                gaps.append(
                    Gap(
                        field=field,
                        table=xlat.name,
                        records=sum(int(n) for _, n in found),
                        distinct=len(found),
                        codes={str(c): int(n) for c, n in found[:MAX_LISTED]},
                        all_codes=frozenset(str(c) for c, _ in found),
                    )
                )
        if keep is None:
            select = f"s.* REPLACE ({', '.join(replace)})"
        else:
            translated = dict(zip(columns, replace, strict=True))
            cur = con.execute("SELECT * FROM src LIMIT 0")
            have = {d[0] for d in cur.description or []}
            wanted = [c for c in dict.fromkeys([*keep, LINE]) if c in have]
            select = ", ".join(translated.get(c, f"s.{ident(c)}") for c in wanted)
        query = f"SELECT {select} FROM src s {' '.join(joins)}"
        table = con.sql(query).to_arrow_table()
    finally:
        con.close()
    for gap in gaps:
        log.info("translation_gap", field=gap.field, table=gap.table, records=gap.records)
    return Side(table, side.source), gaps
