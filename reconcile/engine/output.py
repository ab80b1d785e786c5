"""Write a run's exceptions (CSV and XLSX) and its summary (JSON) into a folder."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from reconcile.engine.result import ReconResult


def write_outputs(
    result: ReconResult, out_dir: str | Path, *, stem: str | None = None
) -> list[Path]:
    """``<stem>exceptions.csv``, ``<stem>exceptions.xlsx``, ``<stem>summary.json``."""
    import xlsxwriter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{stem}-" if stem else ""
    table = result.exceptions_table()
    header = table.column_names
    rows = table.to_pylist()
    csv_path = out / f"{prefix}exceptions.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    xlsx_path = out / f"{prefix}exceptions.xlsx"
    book = xlsxwriter.Workbook(str(xlsx_path))
    try:
        sheet = book.add_worksheet("exceptions")
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, header, bold)
        for i, row in enumerate(rows, start=1):
            # text cells: amounts stay exact (Excel numbers are binary floats)
            sheet.write_row(i, 0, ["" if row[h] is None else str(row[h]) for h in header])
        sheet.freeze_panes(1, 0)
        if rows:
            sheet.autofilter(0, 0, len(rows), len(header) - 1)
    finally:
        book.close()
    summary_path = out / f"{prefix}summary.json"
    summary_path.write_text(json.dumps(result.summary, indent=2, sort_keys=False) + "\n")
    return [csv_path, xlsx_path, summary_path]
