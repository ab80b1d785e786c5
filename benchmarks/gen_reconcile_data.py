"""Generate two Parquet sides for the reconciliation benchmark.

1,000,000 invoices per side before removals: 0.5% of rows only on each side, ~1% of the common
rows with a real difference (amount, date or status), and 0.001 noise on another 5% of the
amounts that a 0.005 tolerance must absorb. Amounts are DECIMAL(18,3), never float.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

SQL = """
CREATE TABLE base AS
SELECT
    'INV-' || lpad(CAST(i AS VARCHAR), 8, '0') AS invoice_number,
    'CUST-' || CAST(i % 50000 AS VARCHAR) AS customer_id,
    CASE i % 10 WHEN 0 THEN 'EUR' WHEN 1 THEN 'GBP' WHEN 2 THEN 'JPY' ELSE 'USD' END AS currency,
    CAST(CAST(hash(i) % 10000000 AS DECIMAL(18,3)) / 100 AS DECIMAL(18,3)) AS subtotal,
    DATE '2024-01-01' + CAST(i % 365 AS INTEGER) AS issue_date,
    CASE i % 7 WHEN 0 THEN 'paid' ELSE 'posted' END AS status,
    i
FROM range({n}) t(i);

CREATE TABLE side_a AS
SELECT invoice_number, customer_id, currency, subtotal,
       CAST(subtotal * 0.2 AS DECIMAL(18,3)) AS tax, issue_date, status
FROM base WHERE i % 200 <> 1;

-- side B: 0.5% missing (i % 200 = 2), 1% real differences, 5% sub-tolerance noise
CREATE TABLE side_b AS
SELECT invoice_number, customer_id, currency,
       CAST(CASE WHEN i % 300 = 5 THEN subtotal + 1.5
                 WHEN i % 20 = 7 THEN subtotal + 0.001
                 ELSE subtotal END AS DECIMAL(18,3)) AS subtotal,
       CAST(subtotal * 0.2 AS DECIMAL(18,3)) AS tax,
       CASE WHEN i % 300 = 6 THEN issue_date + 3 ELSE issue_date END AS issue_date,
       CASE WHEN i % 300 = 8 THEN 'void' ELSE status END AS status
FROM base WHERE i % 200 <> 2;
"""


def generate(out: Path, n: int = 1_000_000) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(SQL.format(n=n))
    a, b = out / "side_a.parquet", out / "side_b.parquet"
    # shuffle so neither side is sorted by key (a real export rarely is)
    con.execute(
        f"COPY (SELECT * FROM side_a ORDER BY hash(invoice_number)) TO '{a}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT * FROM side_b ORDER BY hash(invoice_number || 'b')) "
        f"TO '{b}' (FORMAT parquet)"
    )
    con.close()
    return a, b


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/bb-recon-bench"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(generate(args.out, args.rows))
