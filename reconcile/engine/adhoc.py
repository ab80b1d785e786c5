"""Ad-hoc definitions for ``billbridge reconcile files``: keys and compare specs from the CLI.

Spec syntax: ``--key COL[=RIGHTCOL][,COL...]`` and ``--compare COL[=RIGHTCOL][:abs=X|:pct=P|
:days=N|:text]``. Without a kind option a column's kind is inferred from both sides' values:
all numbers -> number, all ISO dates -> date, otherwise text. Without ``--compare`` every
column the two files share (other than the keys) is compared exactly.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa

from billbridge.errors import ConfigError
from reconcile.definitions import CompareSpec, KeySpec, ReconDefinition, SideSpec
from reconcile.engine.sides import LINE, Side


def _split(spec: str) -> tuple[str, str | None]:
    left, _, right = spec.partition("=")
    if not left.strip():
        raise ConfigError(f"empty column name in {spec!r}")
    return left.strip(), (right.strip() or None)


def parse_keys(specs: list[str]) -> list[KeySpec]:
    keys = []
    for spec in ",".join(specs).split(","):
        if spec.strip():
            name, right = _split(spec)
            keys.append(KeySpec(name=_safe(name), a=name, b=right or name))
    if not keys:
        raise ConfigError("give at least one --key column")
    return keys


def _safe(name: str) -> str:
    """A field name usable in a definition from any column header."""
    out = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"c_{out}"


def parse_compare(spec: str) -> dict[str, Any]:
    column, *options = spec.split(":")
    name, right = _split(column)
    out: dict[str, Any] = {"name": _safe(name), "a": name, "b": right or name}
    for opt in options:
        key, _, value = opt.partition("=")
        key = key.strip().lower()
        try:
            if key in ("abs", "pct"):
                out[key] = Decimal(value)
                out.setdefault("kind", "amount")
            elif key == "days":
                out["days"] = int(value)
                out["kind"] = "date"
            elif key in ("text", "date", "number", "amount", "status"):
                out["kind"] = key
            else:
                raise ConfigError(f"--compare {spec!r}: unknown option {opt!r}")
        except (InvalidOperation, ValueError):
            raise ConfigError(f"--compare {spec!r}: {opt!r} needs a number") from None
    return out


def infer_kind(sides: list[tuple[Side, str]]) -> str:
    """number, date or text for one column given (side, column) on each side."""
    kinds = set()
    for side, column in sides:
        t = side.schema.field(column).type
        if pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t):
            kinds.add("number")
        elif pa.types.is_date(t) or pa.types.is_timestamp(t):
            kinds.add("date")
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            kinds.add(_infer_text(side.column(column), column))
        else:
            kinds.add("text")
    return kinds.pop() if len(kinds) == 1 else "text"


def _infer_text(table: pa.Table, column: str) -> str:
    con = duckdb.connect()
    try:
        con.register("t", table)
        col = '"' + column.replace('"', '""') + '"'
        row = con.execute(
            f"SELECT count(v), count(TRY_CAST(v AS DECIMAL(38,10))), count(TRY_CAST(v AS DATE)) "
            f"FROM (SELECT NULLIF(trim({col}), '') AS v FROM t)"
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    total, numbers, dates = row
    if total and numbers == total:
        return "number"
    if total and dates == total:
        return "date"
    return "text"


def definition_for_files(
    left: Side, right: Side, keys: list[str], compares: list[str], name: str = "files"
) -> ReconDefinition:
    key_specs = parse_keys(keys)
    specs = [parse_compare(c) for c in compares]
    if not specs:
        key_cols = {k.col("a") for k in key_specs} | {k.col("b") for k in key_specs}
        shared = [
            c
            for c in left.column_names
            if c in right.column_names and c not in key_cols and c != LINE
        ]
        specs = [{"name": _safe(c), "a": c, "b": c} for c in shared]
    for side, data in (("a", left), ("b", right)):
        cols = set(data.column_names)
        for ref in [*(k.col(side) for k in key_specs), *(s[side] for s in specs)]:
            if ref not in cols:
                have = sorted(cols - {LINE})
                raise ConfigError(f"{data.source}: no column {ref!r}; it has {have}")
    for s in specs:
        if "kind" not in s:
            s["kind"] = infer_kind([(left, s["a"]), (right, s["b"])])
    return ReconDefinition(
        name=name,
        a=SideSpec(label=left.source),
        b=SideSpec(label=right.source),
        keys=tuple(key_specs),
        compare=tuple(CompareSpec(**s) for s in specs),
    )
