"""Property: whatever the cells hold, the CSV reader returns them with the right lines."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.files.reader import read_table

cell = st.text(alphabet=st.sampled_from(list('ab ,;"\n\u00e9|\t1.')), max_size=8)
rows = st.lists(
    st.tuples(st.text(alphabet="XYZ", min_size=1, max_size=3), cell, cell), min_size=1, max_size=8
)


@settings(max_examples=120, deadline=None)
@given(rows, st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["\n", "\r\n"]))
def test_csv_cells_and_line_numbers_survive_any_content(
    data: list[tuple[str, str, str]], delimiter: str, terminator: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator)
    writer.writerow(["key", "a", "b"])
    writer.writerows(data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        table = read_table(path, delimiter=delimiter)
    assert [tuple(r.values()) for r in table.rows] == data
    expected, line = [], 2
    for row in data:
        expected.append(line)
        line += 1 + sum(c.count("\n") for c in row)
    assert table.lines == expected
    assert table.errors == []
