"""CSV/XLSX exports read through a mapping spec (read-only connector)."""

from __future__ import annotations

from connectors.files.connector import FileConnector
from connectors.files.reader import Table, read_table

__all__ = ["FileConnector", "Table", "read_table"]
