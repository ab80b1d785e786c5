"""Code translation tables (old customer numbers, GL accounts, item codes -> new ones).

Tables are applied to the legacy side before matching, set-based in DuckDB. A code missing
from its table is not an error: the value passes through unchanged (so the record still
shows up as a break) and the gap is reported as a finding of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa
import structlog

from billbridge.errors import ConfigError, ParseError
from connectors.files.reader import read_table
from reconcile.engine import Side
from reconcile.engine.prepare import database  # the engine's in-memory DuckDB
from reconcile.engine.sides import register_side
from reconcile.engine.sql import ident
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
    fast = _clean_utf8_csv(path, spec)
    if fast is not None:
        return Translation(name, str(path), fast)
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


def _clean_utf8_csv(path: Path, spec: TranslationSpec) -> dict[str, str] | None:
    """The mapping of a UTF-8 CSV without problems, read by DuckDB (50k codes in a few
    tens of ms; the general reader takes ~10x that). None sends the file to the general
    reader: a workbook, another encoding, missing columns, or a blank or contradicting row,
    which that reader then reports with its line."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return None
    con = duckdb.connect()
    try:
        rel = con.read_csv(str(path), header=True, all_varchar=True)
        if spec.old not in rel.columns or spec.new not in rel.columns:
            return None
        pairs = rel.project(f"{ident(spec.old)}, {ident(spec.new)}").fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()
    mapping: dict[str, str] = {}
    for old_code, new_code in pairs:
        old, new = (old_code or "").strip(), (new_code or "").strip()
        if not old or not new or mapping.get(old, new) != new:
            return None
        mapping[old] = new
    return mapping


def translate_side(
    side: Side, columns: dict[str, tuple[str, Translation]]
) -> tuple[Side, list[Gap]]:
    """Attach the code tables to ``side`` (source column -> (field, table)); report the gaps.

    Nothing is copied: the engine joins the tables in as it reads the side. Only the gap
    report scans the codes here, one column at a time."""
    if not columns:
        return side, []
    for column, (_, xlat) in columns.items():
        if column not in side.column_names:
            raise ConfigError(
                f"{side.source}: no column {column!r} to translate with {xlat.name!r}"
            )
    plain = replace(side, translations=())
    translations = tuple(
        (
            column,
            pa.table(
                {
                    "old": pa.array(list(xlat.mapping), pa.string()),
                    "new": pa.array(list(xlat.mapping.values()), pa.string()),
                }
            ),
        )
        for column, (_, xlat) in columns.items()
    )
    con = database().cursor()  # own temp schema, no new database per call
    gaps = []
    try:
        register_side(con, "src", plain)
        for i, (column, (field, xlat)) in enumerate(columns.items()):
            con.register(f"t{i}", translations[i][1])
            code = f"trim(CAST(s.{ident(column)} AS VARCHAR))"
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
    finally:
        con.close()
    for gap in gaps:
        log.info("translation_gap", field=gap.field, table=gap.table, records=gap.records)
    return replace(side, translations=side.translations + translations), gaps
