"""Read CSV and XLSX exports into rows of ``{column: value}`` with their line numbers.

CSV: the encoding comes from the BOM, else UTF-8, else Windows-1252 (what Excel and older
ERPs write); the delimiter is sniffed among ``, ; TAB |``; both can be set explicitly.
XLSX: openpyxl in read-only mode, values typed (numbers as Decimal via their shortest repr,
date cells as ``date`` when they carry no time of day).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from billbridge.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DELIMITERS = ",;\t|"


@dataclass
class Table:
    """One file's rows. ``lines[i]`` is the file line (CSV) or sheet row (XLSX) of row i."""

    file: str
    sha256: str
    columns: list[str]
    rows: list[dict[str, Any]]
    lines: list[int]
    encoding: str | None = None
    delimiter: str | None = None
    #: rows that could not be read (wrong number of fields...), reported, never dropped
    errors: list[ParseError] = field(default_factory=list)


def detect_encoding(data: bytes) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def header_names(raw: list[str], file: str, line: int) -> list[str]:
    """Column names as read (stripped); a blank one is named by its position
    (``column_3``: a header ending in a delimiter, as exports often write it); a name
    given twice, or two that differ only in letter case (which SQL cannot tell apart), is an
    error at the header line."""
    columns = [c.strip() or f"column_{i + 1}" for i, c in enumerate(raw)]
    seen: dict[str, str] = {}
    for column in columns:
        if column in seen.values():
            raise ParseError(f"duplicate column {column!r}", file=file, line=line)
        other = seen.get(column.casefold())
        if other is not None:
            raise ParseError(
                f"columns {other!r} and {column!r} differ only in letter case, which the "
                "comparison cannot tell apart; rename one",
                file=file,
                line=line,
            )
        seen[column.casefold()] = column
    return columns


def read_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    data: bytes | None = None,
) -> Table:
    """``data``: the file's bytes when the caller already has them (read once)."""
    data = path.read_bytes() if data is None else data
    digest = hashlib.sha256(data).hexdigest()
    enc = encoding or detect_encoding(data)
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"not valid {enc} at byte {exc.start}", file=str(path), offset=exc.start
        ) from None
    text = text.removeprefix("\ufeff")
    delim = delimiter or sniff_delimiter(text)
    _allow_fields_of(len(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    table = Table(str(path), digest, [], [], [], enc, delim)
    previous_end = 0
    #: one-field lines after a blank line, held until the file ends (a report's footer)
    tail: list[tuple[str, ParseError]] = []
    blank_before = last_set_apart = False
    for raw in _records(reader, str(path)):
        start, previous_end = previous_end + 1, reader.line_num
        if not raw or all(not v.strip() for v in raw):
            blank_before = True
            continue
        if not table.columns:
            table.columns = header_names(raw, str(path), start)
            continue
        if len(raw) != len(table.columns):
            error = ParseError(
                f"{len(raw)} fields, header has {len(table.columns)}", file=str(path), line=start
            )
            if len(raw) == 1 and (tail or blank_before) and len(table.columns) > 1:
                tail.append((raw[0], error))
            else:
                table.errors += [e for _, e in tail] + [error]
                tail = []
            continue
        table.errors += [e for _, e in tail]  # a row after them: they were no footer
        last_set_apart = blank_before and not tail
        tail, blank_before = [], False
        table.rows.append(dict(zip(table.columns, raw, strict=True)))
        table.lines.append(start)
    if not table.columns:
        raise ParseError("empty file: no header row", file=str(path), line=1)
    if not any(_FOOTER.match(text.strip()) for text, _ in tail):
        table.errors += [e for _, e in tail]
    elif table.rows and last_set_apart and _is_total(table.rows[-1]):
        # the report's grand total, set apart by a blank line above its footer
        table.rows.pop()
        table.lines.pop()
    return table


def _is_total(row: dict[str, str]) -> bool:
    first = next((v.strip() for v in row.values() if v.strip()), "")
    return bool(_TOTAL.fullmatch(first))


_TOTAL = re.compile(r"(grand\s+)?totals?(\s*\(.*\))?:?", re.IGNORECASE)


#: a line of the footer a CRM report export writes under its rows, after a blank line
#: (Salesforce: copyright, "Confidential Information - Do Not Distribute", "Generated By:
#: <user> <time>", the company name): the report's, not records
_FOOTER = re.compile(
    r"(copyright\b|\(c\) ?\d{4}|confidential information\b|generated by:)", re.IGNORECASE
)


#: the C long the csv module stores its field limit in is 32 bits on Windows
_MAX_FIELD_LIMIT = 2**31 - 1


def _allow_fields_of(size: int) -> None:
    """Let a field be as long as the whole text: a CRM case description or an ERP memo can
    pass the csv module's 128 KB default, and no field can be longer than its file. (The
    limit is process-wide; it is only ever raised.)"""
    wanted = min(size + 1, _MAX_FIELD_LIMIT)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)


def _records(reader: Any, file: str) -> Iterator[list[str]]:
    """The reader's records; a csv.Error becomes a ParseError at the line it stopped on."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(str(exc), file=file, line=reader.line_num) from None
        yield raw


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, str | int | date | Decimal) or value is None:
        return value
    return str(value)


def _opening_sheet(workbook: Any) -> Any:
    """The sheet the workbook opens on (its active sheet) when visible, else its first
    visible sheet: a hidden lookup sheet or a cover sheet first in the book is not the data
    (as ``reconcile files`` picks it)."""
    active = workbook.active
    if active is not None and active.sheet_state == "visible":
        return active
    visible = [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]
    return visible[0] if visible else workbook.worksheets[0]


def read_xlsx(path: Path, *, sheet: str | None = None, data: bytes | None = None) -> Table:
    from openpyxl import load_workbook

    data = path.read_bytes() if data is None else data
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ParseError(
                f"no sheet {sheet!r}", file=str(path), expected=", ".join(workbook.sheetnames)
            )
        ws = workbook[sheet] if sheet else _opening_sheet(workbook)
        table = Table(str(path), hashlib.sha256(data).hexdigest(), [], [], [])
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell(v) for v in values]
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
                continue
            if not table.columns:
                table.columns = header_names(
                    [str(v) if v is not None else "" for v in cells], str(path), number
                )
                continue
            padded = (cells + [None] * len(table.columns))[: len(table.columns)]
            table.rows.append(dict(zip(table.columns, padded, strict=True)))
            table.lines.append(number)
    finally:
        workbook.close()
    if not table.columns:
        raise ParseError("empty sheet: no header row", file=str(path), line=1)
    return table


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    data: bytes | None = None,
) -> Table:
    """CSV or XLSX by suffix (``.xlsx``/``.xlsm`` are workbooks, anything else CSV)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet=sheet, data=data)
    return read_csv(path, encoding=encoding, delimiter=delimiter, data=data)
