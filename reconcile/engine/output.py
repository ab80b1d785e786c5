"""Write a run's exceptions (CSV and XLSX) and its summary (JSON) into a folder.

Both exception files hold the source text as it was read, never as something a spreadsheet
runs: the XLSX writes every cell as a string (no formulas, no links, amounts exact); the CSV
is UTF-8 with a BOM (Excel on Windows then reads accented names right) and a text cell that
would start a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading ``'``, unless it is
a number (``-12.50``, ``+3``, ``-1,234.56`` stay as they are).
"""

from __future__ import annotations

import csv
import json
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from billbridge.errors import BillbridgeError
from reconcile.engine.result import ReconResult

#: data rows an XLSX sheet holds (Excel's 1,048,576 rows, less the header); more go on to
#: the sheets exceptions_2, exceptions_3, ...
XLSX_ROWS = 1_048_575
#: what Excel and LibreOffice read as the start of a formula in a CSV cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: a number as the engine reads one, with thousands separators: left as it is
_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?")


def write_outputs(
    result: ReconResult, out_dir: str | Path, *, stem: str | None = None
) -> list[Path]:
    """``<stem>exceptions.csv``, ``<stem>exceptions.xlsx``, ``<stem>summary.json``, all or
    none: each is written to a temporary name in the folder, and only when all three are
    written are they renamed into place. On an error the temporary files are removed and
    earlier outputs stay as they were; the error (an ``OutputError``) names the path."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the folder ({_reason(exc)})") from None
    prefix = f"{stem}-" if stem else ""
    targets = [out / f"{prefix}{name}" for name in _OUTPUTS]
    for target in targets:
        if target.is_dir():
            raise OutputError(f"{target}: is a folder; cannot write the output there")
    table = result.exceptions_table()
    header = table.column_names
    rows = table.to_pylist()
    tag = f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temps = [t.with_name(f".{t.name}{tag}") for t in targets]
    writers = (
        lambda p: write_csv(p, header, rows),
        lambda p: write_xlsx(p, header, rows),
        lambda p: p.write_text(json.dumps(result.summary, indent=2, sort_keys=False) + "\n"),
    )
    doing = out  # the output being written, then renamed, to name it in an error
    try:
        for temp, target, write in zip(temps, targets, writers, strict=True):
            doing = target
            write(temp)
        for temp, target in zip(temps, targets, strict=True):
            doing = target
            os.replace(temp, target)
    except Exception as exc:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise OutputError(f"{doing}: cannot write it ({_reason(exc)})") from exc
    return targets


_OUTPUTS = ("exceptions.csv", "exceptions.xlsx", "summary.json")


class OutputError(BillbridgeError):
    """An output file could not be written (none of the run's outputs were)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def csv_cell(value: Any) -> Any:
    """A CSV cell Excel shows as the text it holds: a formula-like text gets a leading ``'``
    (Excel's own mark for "text"); numbers and everything else are left alone."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not (_NUMBER.fullmatch(value) and any(ch.isdigit() for ch in value))
    ):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows({h: csv_cell(row[h]) for h in header} for row in rows)


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """One sheet per XLSX_ROWS rows (``exceptions``, ``exceptions_2``, ...), each with the
    header; every cell a string, so source text never becomes a formula or a link and
    amounts stay exact (Excel numbers are binary floats). Rows are written in order, so
    each goes to disk as the next starts (constant_memory: a million rows held ~3 GB)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "constant_memory": True,
        },
    )
    try:
        bold = book.add_format({"bold": True})
        for n, chunk in enumerate(_chunks(rows, XLSX_ROWS) if rows else [rows], start=1):
            sheet = book.add_worksheet("exceptions" if n == 1 else f"exceptions_{n}")
            sheet.write_row(0, 0, header, bold)
            for i, row in enumerate(chunk, start=1):
                for j, h in enumerate(header):
                    value = row[h]
                    if value is not None and value != "":  # a blank cell, not an empty text
                        sheet.write_string(i, j, str(value))
            sheet.freeze_panes(1, 0)
            if chunk:
                sheet.autofilter(0, 0, len(chunk), len(header) - 1)
    finally:
        book.close()
