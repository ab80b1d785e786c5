"""A composite key with some parts blank (an invoice's header row without a line number)
matches the same parts on the other side, as it groups with them on its own side; a key
blank in every part matches nothing (two records without any key are not one record)."""

from __future__ import annotations

from reconcile.definitions import parse_definitions
from reconcile.engine import reconcile
from reconcile.engine.three_way import reconcile_sides

TWO = """
name: lines
a: {label: old}
b: {label: new}
keys: [{name: inv}, {name: line}]
compare: [{name: amt, kind: amount}]
"""

THREE = """
name: lines3
a: {label: crm}
b: {label: billing}
c: {label: erp}
keys: [{name: inv}, {name: line}]
compare: [{name: amt, kind: amount}]
"""


def _rows(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"inv": i, "line": ln, "amt": a} for i, ln, a in rows]


def test_blank_key_parts_match_across_sides_but_an_all_blank_key_does_not() -> None:
    (d,) = parse_definitions(TWO)
    a = _rows(("INV-1", "1", "10"), ("", "1", "30"), ("INV-2", "", "40"), ("", "", "50"))
    b = _rows(("INV-1", "1", "10"), ("", "1", "30"), ("INV-2", "", "41"), ("", "", "50"))
    result = reconcile(d, a, b)
    found = sorted((e.category, e.keys["inv"], e.keys["line"]) for e in result.exceptions)
    assert found == [
        ("AMOUNT_MISMATCH", "INV-2", ""),
        ("MISSING_IN_A", "", ""),
        ("MISSING_IN_B", "", ""),
    ]
    assert result.counts["MATCHED"] == 2


def test_three_sides_match_blank_key_parts_too() -> None:
    (d,) = parse_definitions(THREE)
    rows = _rows(("INV-1", "1", "10"), ("INV-2", "", "40"))
    result = reconcile_sides(d, [rows, rows, _rows(("INV-1", "1", "10"), ("INV-2", "", "41"))])
    found = sorted((e.category, e.keys["inv"], e.keys["line"]) for e in result.exceptions)
    assert [(k[1], k[2]) for k in found] == [("INV-2", "")]
    assert "MISSING" not in found[0][0]
