"""The three-sided engine's duplicate scan: keys that repeat on a non-aggregated side.

Columns, registration, value checks and the normalised views are shared with the two-sided
engine (:mod:`reconcile.engine.prepare`).
"""

from __future__ import annotations

import duckdb

from reconcile.definitions import ReconDefinition
from reconcile.engine.prepare import one_row


def duplicate_keys(
    con: duckdb.DuckDBPyConnection, d: ReconDefinition
) -> tuple[int, dict[str, int]]:
    """Keys that repeat on a non-aggregated side -> temp table ``_dk``; rows per side.

    A cheap exact test first: as many distinct 64-bit key hashes as rows means no key repeats.
    Only when it fails are the repeated keys themselves grouped.
    """
    keys = ", ".join(f"k{i}" for i in range(len(d.keys)))
    rows: dict[str, int] = {}
    repeated = []
    for side in d.sides:
        if getattr(d, side).aggregate:
            rows[side] = int(one_row(con, f"SELECT count(*) FROM n_{side}")[0])
            continue
        total, distinct = one_row(
            con, f"SELECT count(*), count(DISTINCT hash({keys})) FROM n_{side}"
        )
        rows[side] = int(total)
        if total != distinct:
            repeated.append(f"SELECT {keys} FROM n_{side} GROUP BY {keys} HAVING count(*) > 1")
    if not repeated:
        return 0, rows
    con.execute(f"CREATE TEMP TABLE _dk AS SELECT DISTINCT * FROM ({' UNION ALL '.join(repeated)})")
    return int(one_row(con, "SELECT count(*) FROM _dk")[0]), rows
