"""Sides: what the engine accepts (Arrow tables, DuckDB relations, rows, canonical records)
and the loaders that read CSV, XLSX and Parquet files into Arrow.

Every side table carries a ``_line`` column: the line (CSV, XLSX) or row number (Parquet,
in-memory rows) that errors and exception details point at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import BaseModel

from billbridge.errors import BillbridgeError, ConfigError, ParseError
from reconcile.definitions import SideSpec
from reconcile.engine.sql import key_text, literal, stripped

LINE = "_line"


def check_reserved(columns: Sequence[str], source: str, line: int | None) -> None:
    """A file column named ``_line`` (in any letter case) would be taken for the line
    numbers the engine keeps under that name (or, as ``_Line``, be one column with them to
    SQL): an error naming it, never its values read as line numbers."""
    for column in columns:
        if column.casefold() == LINE:
            raise ParseError(
                f"column {column!r}: {LINE!r} is the name the comparison gives each record's "
                "line number; rename the column in the file",
                file=source,
                line=line,
            )


@dataclass(frozen=True)
class SheetRead:
    """Which sheet of a workbook a side was read from, and the workbook's sheets."""

    name: str
    sheets: tuple[str, ...]
    hidden: tuple[str, ...] = ()

    @property
    def others(self) -> list[str]:
        return [s for s in self.sheets if s != self.name]

    def describe_others(self) -> str:
        """``'Lookup' (hidden), 'Notes'``: the workbook's other sheets."""
        return ", ".join(f"{s!r} (hidden)" if s in self.hidden else repr(s) for s in self.others)


@dataclass(frozen=True)
class Side:
    """A side's rows as Arrow (or a Parquet file DuckDB scans in place) and their source.

    Parquet sides are not copied through Arrow: the engine reads them with DuckDB's own
    reader, which is several times faster on wide string columns.
    """

    table: pa.Table | None = None
    source: str = "<memory>"
    parquet: str | None = None
    parquet_schema: pa.Schema | None = None
    parquet_rows: int = 0
    #: nulls per top-level column from the Parquet statistics (None: not recorded)
    parquet_nulls: Mapping[str, int | None] = field(default_factory=dict)
    #: code translations applied as the side is read (column, Arrow table ``old`` -> ``new``):
    #: a LEFT JOIN in the side's view instead of a translated copy of every row
    translations: tuple[tuple[str, pa.Table], ...] = ()
    #: totals rows under a file's data, not read as records: (line, the row's label)
    totals: tuple[tuple[int, str], ...] = ()
    #: a workbook side: the sheet read and every sheet of the workbook
    sheet: SheetRead | None = None

    @property
    def schema(self) -> pa.Schema:
        if self.table is not None:
            schema = self.table.schema
        else:
            assert self.parquet_schema is not None
            schema = self.parquet_schema
        for column, _ in self.translations:  # translated codes are text
            i = schema.get_field_index(column)
            schema = schema.set(i, pa.field(column, pa.string()))
        return schema

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if self.table is not None else self.parquet_rows

    def column(self, name: str) -> pa.Table:
        """One column as a table (reads just that column from a Parquet side)."""
        if any(column == name for column, _ in self.translations):
            import duckdb

            con = duckdb.connect()
            try:
                register_side(con, "side", self)
                order = f" ORDER BY {LINE}" if LINE in self.column_names else ""
                return con.sql(f"SELECT {_ident(name)} FROM side{order}").to_arrow_table()
            finally:
                con.close()
        if self.table is not None:
            return self.table.select([name])
        import pyarrow.parquet as pq

        return pq.read_table(self.parquet, columns=[name])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def code_text(side: Side, column: str, table: str = "") -> str:
    """SQL for the code in ``column`` of ``side`` (untranslated) as text the way the engine
    reads a key (``key_text``): a whole float is the integer (a Parquet code column with a
    gap is float64, and 1200.0 is code 1200). ``table``: the alias to qualify it with.
    Translation tables look it up stripped (``stripped``)."""
    raw = side.table.schema if side.table is not None else side.parquet_schema
    field = raw.field(column) if raw is not None and column in raw.names else None
    return key_text(column, None if field is None else str(field.type), table=table)


def register_side(con: Any, name: str, side: Side) -> None:
    """Make ``side`` readable as ``name`` on a DuckDB connection: Arrow registered, Parquet
    scanned in place (with ``_line`` from the file's row numbers), translations joined in.

    A translated code is the table's new code for the stripped old one (every Unicode
    whitespace at the ends, as the tables' codes are stripped: an NBSP pasted from a
    spreadsheet must not hide a code); a code the table lacks passes through (stripped), so
    the record still shows up as a break."""
    local = _local_times(side)
    raw = f"{name}_raw" if side.translations else name
    stored = f"{raw}_stored" if local else raw
    if side.table is not None:
        con.register(stored, side.table)
    else:
        path = "'" + str(side.parquet).replace("'", "''") + "'"
        extra = "" if LINE in side.column_names else f", file_row_number + 1 AS {LINE}"
        con.execute(
            f"CREATE TEMP VIEW {stored} AS SELECT * EXCLUDE (file_row_number){extra} "
            f"FROM read_parquet({path}, file_row_number = true)"
        )
    if local:
        replaced = ", ".join(local)
        con.execute(f"CREATE TEMP VIEW {raw} AS SELECT * REPLACE ({replaced}) FROM {stored}")
    if not side.translations:
        return
    replace, joins = [], []
    for i, (column, codes) in enumerate(side.translations):
        table = f"{name}_t{i}"
        con.register(table, codes)
        code = stripped(code_text(side, column, "s"))
        joins.append(f"LEFT JOIN {table} ON {table}.old = {code}")
        replace.append(f"coalesce({table}.new, {code}) AS {_ident(column)}")
    con.execute(
        f"CREATE TEMP VIEW {name} AS SELECT s.* REPLACE ({', '.join(replace)}) "
        f"FROM {raw} s {' '.join(joins)}"
    )


_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _local_times(side: Side) -> list[str]:
    """``<local time> AS <column>`` for each timestamp column with a time zone: its wall
    time in that zone, so that its date is the day as written (23:30 in Los Angeles is
    still the 15th), as a CSV's ``2024-01-15T23:30:00-08:00`` reads. SQL would otherwise
    take the UTC day."""
    out = []
    for f in side.schema:
        if not pa.types.is_timestamp(f.type) or f.type.tz is None:
            continue
        col = _ident(f.name)
        zone = str(f.type.tz)
        offset = _OFFSET.fullmatch(zone)
        if offset is None:
            local = f"timezone({literal(zone)}, {col})"
        else:  # a fixed offset, which SQL's zone names do not cover ("+05:30")
            sign = -1 if offset.group(1) == "-" else 1
            minutes = sign * (int(offset.group(2)) * 60 + int(offset.group(3)))
            local = f"(timezone('UTC', {col}) + INTERVAL ({minutes}) MINUTE)"
        out.append(f"{local} AS {col}")
    return out


#: Side, pyarrow Table, duckdb relation, or a sequence of dict rows / pydantic records
SideInput = Any
Flatten = Callable[[Sequence[Any]], list[dict[str, Any]]]


def _text(value: Any) -> str | None:
    """Plain text for a cell; Decimal stays exact, floats go through their shortest repr."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date | Decimal | int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # XLSX cells: shortest repr, then exact Decimal in SQL
    return str(value)


def rows_to_table(rows: Sequence[Mapping[str, Any]], *, first_line: int = 1) -> pa.Table:
    """Rows of scalars as an all-text Arrow table (the engine casts per field kind)."""
    columns: dict[str, list[str | None]] = {}
    for row in rows:
        for name in row:
            if name != LINE:
                columns.setdefault(name, [])
    for name, values in columns.items():
        values.extend(_text(row.get(name)) for row in rows)
    data: dict[str, Any] = {n: pa.array(v, pa.string()) for n, v in columns.items()}
    lines = [
        (row.get(LINE) if isinstance(row.get(LINE), int) else first_line + i)
        for i, row in enumerate(rows)
    ]
    data[LINE] = pa.array(lines, pa.int64())
    return pa.table(data)


def _with_lines(table: pa.Table, first_line: int) -> pa.Table:
    if LINE in table.column_names:
        return table
    import numpy as np

    return table.append_column(LINE, pa.array(np.arange(first_line, first_line + len(table))))


def as_side(value: SideInput) -> Side:
    """Accept an Arrow table, a DuckDB relation, dict rows or pydantic records."""
    if isinstance(value, Side):
        if value.table is None:
            return value
        return replace(value, table=_with_lines(value.table, 1))
    if isinstance(value, pa.Table):
        return Side(_with_lines(value, 1))
    if hasattr(value, "to_arrow_table"):  # duckdb.DuckDBPyRelation
        return Side(_with_lines(value.to_arrow_table(), 1), "<relation>")
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        rows = [flatten_record(r) if isinstance(r, BaseModel) else r for r in value]
        if not all(isinstance(r, Mapping) for r in rows):
            raise TypeError("a side given as a list must hold mappings or pydantic records")
        return Side(rows_to_table(rows))
    raise TypeError(f"cannot use {type(value).__name__} as a reconciliation side")


# -- file loaders (I/O) -------------------------------------------------------------------
def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise ConfigError(f"{path}: cannot tell the file format; use .csv, .xlsx or .parquet")


def load_file(path: str | Path, fmt: str | None = None, *, sheet: str | None = None) -> Side:
    """Read one side file. CSV cells stay text (no float guessing); Parquet keeps its types.

    Whatever goes wrong reading it (a renamed CSV or an encrypted workbook as .xlsx, a
    truncated Parquet file) is a ParseError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"side file not found: {path}")
    kind = detect_format(path, fmt)
    try:
        if kind == "parquet":
            side = _parquet_side(path)
        elif kind == "csv":
            side = _without_totals(Side(_read_csv(path), str(path)))
        else:
            table, read = _read_xlsx(path, sheet)
            side = _without_totals(Side(table, str(path), sheet=read))
    except BillbridgeError:
        raise
    except Exception as exc:
        raise ParseError(_unreadable(kind, exc), file=str(path)) from exc
    _check_letter_case(side, None if kind == "parquet" else 1)
    return side


#: the label of a totals row a report or a spreadsheet writes under its data
TOTAL_LABEL = re.compile(
    r"(grand\s*|sub-?\s*)?totals?(\s*\(.*\))?\s*:?|sum|summe|gesamt(summe)?|total\s+general",
    re.IGNORECASE,
)
#: a cell of a totals row besides its label: a number as exports write one
_TOTAL_NUMBER = re.compile(r"[-+(]?\s*[$€£¥]?\s*[-+]?\d[\d,.' \u00a0]*\)?-?%?")


def _without_totals(side: Side) -> Side:
    """Without the totals rows under a CSV's or a sheet's data ("Total", "Grand Total",
    "Subtotal", an Excel =SUM row): a row at the end (blank lines may precede it) whose first
    non-blank cell is such a label and whose other cells are blank or numbers. Only rows at
    the end: a row so labelled with a record after it is a record. They are kept in
    ``Side.totals`` for the command to say so."""
    table = side.table
    if table is None or table.num_rows == 0:
        return side
    names = [n for n in table.column_names if n != LINE]
    dropped: list[tuple[int, str]] = []
    end = table.num_rows
    while end > 0:
        row = table.slice(end - 1, 1).to_pylist()[0]
        cells = [row[n] for n in names]
        filled = [str(c).strip() for c in cells if c is not None and str(c).strip()]
        if not filled or not TOTAL_LABEL.fullmatch(filled[0]):
            break
        if not all(_TOTAL_NUMBER.fullmatch(c) for c in filled[1:]):
            break
        dropped.append((int(row[LINE]), filled[0]))
        end -= 1
    if not dropped:
        return side
    return replace(side, table=table.slice(0, end), totals=tuple(reversed(dropped)))


def _check_letter_case(side: Side, line: int | None) -> None:
    """Two columns whose names differ only in letter case are one column to SQL: the
    comparison would read one of them for both. An error naming them (the file's own
    readers check this at the header; DuckDB's CSV reader and Parquet files come here)."""
    seen: dict[str, str] = {}
    for name in side.column_names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise ParseError(
                f"columns {other!r} and {name!r} differ only in letter case, which the "
                "comparison cannot tell apart; rename one",
                file=side.source,
                line=line,
            )


_KIND_NAMES = {"csv": "CSV file", "xlsx": "XLSX workbook", "parquet": "Parquet file"}


def _unreadable(kind: str, exc: Exception) -> str:
    """One line: what the file should have been and the reader's first line of complaint."""
    detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"not a readable {_KIND_NAMES[kind]} ({type(exc).__name__}: {detail})"


def _parquet_side(path: Path) -> Side:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    check_reserved(meta.schema.to_arrow_schema().names, str(path), None)
    return Side(
        source=str(path),
        parquet=str(path),
        parquet_schema=meta.schema.to_arrow_schema(),
        parquet_rows=meta.num_rows,
        parquet_nulls=_parquet_null_counts(meta),
    )


def _parquet_null_counts(meta: Any) -> dict[str, int | None]:
    """Nulls per top-level plain column, from every row group's statistics (None where a
    row group lacks them). Nested columns, whose leaves are counted apart, are left out."""
    out: dict[str, int | None] = {}
    for leaf in range(meta.num_columns):
        path = meta.schema.column(leaf).path
        if "." in path:
            continue
        total: int | None = 0
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(leaf).statistics
            if stats is None or not stats.has_null_count:
                total = None
                break
            total += stats.null_count
        out[path] = total
    return out


def _read_csv(path: Path) -> pa.Table:
    """DuckDB's reader for plain files; anything it may have read otherwise than written
    goes to the project's CSV reader, which takes every row or names the bad line.

    DuckDB's sniffer can settle on another header or drop rows without a word when a row has
    too many fields, so its result is kept only when its columns are the first line's and it
    holds one row per non-blank line (a quoted field with a line break also fails this and
    is read by the general reader, whose line numbers follow the file). Blank lines and
    lines of bare delimiters (``,,,``, which Excel writes under a sheet's last row) are not
    records, as in the general reader."""
    import duckdb

    con = duckdb.connect()
    try:
        table: pa.Table | None = con.read_csv(
            str(path), header=True, all_varchar=True
        ).to_arrow_table()
    except duckdb.Error:
        table = None
    finally:
        con.close()
    if table is not None:
        check_reserved(table.column_names, str(path), 1)
        layout = _read_as_written(path, table)
        if layout is not None:
            return _drop_blank_records(_with_file_lines(table, layout), layout)
    from connectors.files.reader import read_table

    read = read_table(path)
    check_reserved(read.columns, str(path), 1)
    if read.errors:
        raise read.errors[0]
    # a field's line breaks as one: a Windows export's CRLF inside a memo is the same text
    # as another system's LF (only quoted fields hold them, and only this reader reads those)
    rows = [
        {**{k: _one_newline(v) for k, v in row.items()}, LINE: line}
        for row, line in zip(read.rows, read.lines, strict=True)
    ]
    if not rows:
        return pa.table({name: pa.array([], pa.string()) for name in read.columns})
    return rows_to_table(rows)


def _one_newline(value: Any) -> Any:
    return value.replace("\r\n", "\n") if isinstance(value, str) and "\r" in value else value


#: a physical line break as the csv readers see one (``str.splitlines`` also splits on
#: form feeds, U+2028 and other characters a field may hold)
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class _Layout:
    """Where DuckDB's rows come from: the file line of each, the delimiter, and the rows
    whose line holds nothing but delimiters, quotes and spaces (maybe blank records)."""

    lines: list[int] | None  # None: every line from 2 on holds one row
    delimiter: str
    maybe_blank: dict[int, str]  # row index -> its line's text


def _read_as_written(path: Path, table: pa.Table) -> _Layout | None:
    """The file's layout when DuckDB's ``table`` is the file as written (one row per
    non-blank line after the header, the header's columns), else None."""
    import csv

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    physical = _NEWLINE.split(text)
    numbers = [i for i, line in enumerate(physical, start=1) if line.strip()]
    if not numbers:
        return None
    header_line = physical[numbers[0] - 1]
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=",;\t|").delimiter
    except csv.Error:  # a one-column file
        delimiter = ","
    header = next(csv.reader([header_line], delimiter=delimiter))
    data = numbers[1:]
    if table.column_names != header or table.num_rows != len(data):
        return None
    bare = re.compile(f'[\\s{re.escape(delimiter)}"]*')
    maybe_blank = {
        i: physical[n - 1] for i, n in enumerate(data) if bare.fullmatch(physical[n - 1])
    }
    contiguous = numbers[0] == 1 and data[-1:] in ([], [len(data) + 1])
    return _Layout(None if contiguous else data, delimiter, maybe_blank)


def _with_file_lines(table: pa.Table, layout: _Layout) -> pa.Table:
    if layout.lines is None:
        return _with_lines(table, 2)  # line 1 is the header
    return table.append_column(LINE, pa.array(layout.lines, pa.int64()))


def _drop_blank_records(table: pa.Table, layout: _Layout) -> pa.Table:
    """Without the rows whose every field is blank (the general reader skips them too)."""
    import csv

    import numpy as np

    blank = [
        i
        for i, line in layout.maybe_blank.items()
        if all(not v.strip() for v in next(csv.reader([line], delimiter=layout.delimiter), []))
    ]
    if not blank:
        return table
    keep = np.ones(table.num_rows, dtype=bool)
    keep[blank] = False
    return table.filter(pa.array(keep))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


#: significant digits Excel keeps and shows of a number
EXCEL_DIGITS = 15


def _excel_number(value: Any) -> Any:
    """A number or boolean cell as Excel shows it (``TRUE``); a float to 15 significant
    digits, exactly (a cached formula
    result such as =0.1+0.2 is stored as 0.30000000000000004, which Excel shows as 0.3 and
    no one typed; Excel itself keeps no more digits than 15)."""
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(f"{value:.{EXCEL_DIGITS}g}")
    if isinstance(value, bool):  # as Excel shows it, and writes it to CSV
        return "TRUE" if value else "FALSE"
    return value


def _pick_sheet(book: Any, path: Path, sheet: str | None) -> Any:
    """The named sheet, else the sheet the workbook opens on (its active sheet) when it is
    visible, else its first visible sheet (a hidden lookup sheet first in the book, or a
    cover sheet before the data the workbook was saved on, is not the data)."""
    if sheet is not None:
        if sheet not in book.sheetnames:
            listed = ", ".join(repr(s) for s in book.sheetnames)
            raise ConfigError(f"{path}: no sheet named {sheet!r}; the workbook has {listed}")
        return book[sheet]
    visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    active = book.active
    if active is not None and active.sheet_state == "visible":
        return active
    return visible[0] if visible else book.worksheets[0]


def _read_xlsx(path: Path, sheet: str | None) -> tuple[pa.Table, SheetRead]:
    """The named sheet, else the one the workbook opens on (``_pick_sheet``): its first
    non-blank row is the header (checked as a CSV header is: a repeated name is an error),
    rows of blank cells are skipped, each record keeps its sheet row number."""
    import openpyxl

    from connectors.files.reader import header_names

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = _pick_sheet(book, path, sheet)
        read = SheetRead(
            ws.title,
            tuple(book.sheetnames),
            tuple(w.title for w in book.worksheets if w.sheet_state != "visible"),
        )
        names: list[str] | None = None
        records = []
        blank_cell = False  # a data cell read blank: maybe a formula never calculated
        for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if all(_blank(v) for v in values):
                continue
            blank_cell = blank_cell or (names is not None and any(v is None for v in values))
            if names is None:
                raw = [str(h) if h is not None else "" for h in values]
                raw = [h if h.strip() else f"column_{i + 1}" for i, h in enumerate(raw)]
                names = header_names(raw, str(path), line)
                check_reserved(names, str(path), line)
                continue
            record: dict[str, Any] = dict(zip(names, map(_excel_number, values), strict=False))
            record[LINE] = line
            records.append(record)
        if blank_cell:
            _check_formulas_calculated(path, ws)
    finally:
        book.close()
    if names is None:
        if not read.others:
            raise ParseError("the sheet is empty", file=str(path), line=1)
        raise ParseError(
            f"sheet {read.name!r} is empty; the workbook also has {read.describe_others()}",
            file=str(path),
            line=1,
        )
    if not records:
        empty = {n: pa.array([], pa.string()) for n in names}
        return pa.table({**empty, LINE: pa.array([], pa.int64())}), read
    return rows_to_table(records), read


def _check_formulas_calculated(path: Path, ws: Any) -> None:
    """A formula cell the workbook holds no value for (a file written by a program, never
    opened in Excel: openpyxl, some exports) reads blank: an error naming the sheet and the
    cell instead. Its XML is looked at only when the sheet holds a formula at all. (A
    formula whose value is the empty text is ``t="str"`` with an empty value, a value.)"""
    import zipfile
    from xml.etree.ElementTree import iterparse

    member = getattr(ws, "_worksheet_path", None)
    if member is None:
        return
    with zipfile.ZipFile(path) as archive:
        with archive.open(member) as fh:
            if not _has_formula(fh):
                return
        with archive.open(member) as fh:
            row = col = 0
            # the XML openpyxl has just read with the same parser (no defusedxml here either)
            for event, elem in iterparse(fh, events=("start", "end")):  # noqa: S314
                tag = elem.tag.rsplit("}", 1)[-1]
                if tag == "row":
                    if event == "start":
                        row, col = int(elem.get("r") or row + 1), 0
                    else:
                        elem.clear()
                    continue
                if tag != "c" or event != "end":
                    continue
                ref = elem.get("r")
                col = _column_number(ref) if ref else col + 1
                formula = value = None
                for child in elem:
                    child_tag = child.tag.rsplit("}", 1)[-1]
                    if child_tag == "f":
                        formula = child
                    elif child_tag == "v":
                        value = child.text
                if formula is not None and not value and elem.get("t") != "str":
                    raise ParseError(
                        f"sheet {ws.title!r}, cell {ref or _column_letters(col) + str(row)}: "
                        "formula with no cached value; open and save the file in Excel",
                        file=str(path),
                        line=row,
                    )


def _has_formula(fh: Any) -> bool:
    """Whether a sheet's XML holds a formula element (``<f>``, ``<f t="shared" .../>``)."""
    pattern = re.compile(rb"<(\w+:)?f[\s>/]")
    tail = b""
    while chunk := fh.read(1 << 20):
        if pattern.search(tail + chunk):
            return True
        tail = chunk[-16:]
    return False


def _column_number(ref: str) -> int:
    number = 0
    for ch in ref:
        if not ch.isalpha():
            break
        number = number * 26 + ord(ch.upper()) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def flatten_record(record: Any) -> dict[str, Any]:
    """Top-level scalars of a record; Money fields become ``<name>`` and ``<name>_currency``."""
    data = record.model_dump(mode="python") if isinstance(record, BaseModel) else dict(record)
    row: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, dict) and set(value) == {"amount", "currency"}:
            row[name], row[f"{name}_currency"] = value["amount"], value["currency"]
        elif not isinstance(value, dict | list | tuple):
            row[name] = value
    return row


def _read_parquet(side: Side) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(side.parquet)


def is_text_field(f: pa.Field) -> bool:
    return bool(pa.types.is_string(f.type) or pa.types.is_large_string(f.type))


def text_rows(side: Side) -> pa.Table | None:
    """The side's rows as Arrow with their ``_line``, for rewriting its text columns
    (decimal commas, local dates): a Parquet file is read whole, unless it has no text
    column (None: nothing to rewrite, it stays scanned in place)."""
    if side.table is not None:
        return side.table
    schema = side.parquet_schema
    if schema is None or not any(is_text_field(f) for f in schema):
        return None
    return _with_lines(_read_parquet(side), 1)


def load_side(spec: SideSpec, flatten: Flatten | None = None) -> Side:
    """Load a side declared in a definition, applying its mapping spec when it has one.

    Mapped records are turned into rows by ``flatten`` (a built-in definition's side builder)
    or, by default, by :func:`flatten_record`.
    """
    if not spec.path:
        raise ConfigError(f"side {spec.label!r} has no path; pass its rows to reconcile()")
    side = load_file(spec.path, spec.format, sheet=spec.sheet)
    if not spec.mapping:
        return side
    from mappings.engine import apply_spec_rows, try_apply_spec
    from mappings.loader import load_spec

    mapping = load_spec(spec.mapping)
    table = side.table if side.table is not None else _with_lines(_read_parquet(side), 1)
    rows = table.to_pylist()
    lines = [f"{side.source}: line {r.pop(LINE)}" for r in rows]
    if mapping.rows:
        results = apply_spec_rows(mapping, rows, locations=lines)
    else:
        results = [try_apply_spec(mapping, r, where=w) for r, w in zip(rows, lines, strict=True)]
    for result in results:
        if result.error is not None:
            raise result.error
    values = [r.value for r in results if r.ok and r.value is not None]
    flat = flatten(values) if flatten else [flatten_record(v) for v in values]
    return Side(rows_to_table(flat), side.source)
