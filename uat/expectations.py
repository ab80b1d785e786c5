"""Declarative expectations a UAT spec can state, each passing or failing with evidence
(the failing keys, up to N examples). No expressions, no eval."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from reconcile.engine import Side
from reconcile.engine.sides import LINE, register_side
from reconcile.engine.sql import ident, literal
from uat.entities import PreparedEntity
from uat.rootcause import Attributed, to_decimal
from uat.scorecard import EntityScore
from uat.spec import (
    AmountsMatch,
    CountEqual,
    Expectation,
    MatchRate,
    NoExceptions,
    NotBlank,
    Ties,
)
from uat.translate import database


@dataclass(frozen=True)
class ExpectationResult:
    name: str
    entity: str
    type: str
    passed: bool
    evidence: str
    failing: int = 0
    examples: list[str] = field(default_factory=list)


def describe(x: Expectation) -> str:
    if x.name:
        return x.name
    if isinstance(x, MatchRate):
        return f"{x.entity}: match rate ≥ {x.min_pct}%"
    if isinstance(x, NoExceptions):
        what = x.category or x.root_cause or "any kind"
        return f"{x.entity}: no exceptions of {what}"
    if isinstance(x, CountEqual):
        return f"{x.entity}: record counts equal"
    if isinstance(x, NotBlank):
        return f"{x.entity}: no record without {x.field} ({x.side} system)"
    if isinstance(x, AmountsMatch):
        only = "".join(f" with {k}={v}" for k, v in x.where.items())
        return f"{x.entity}: every {x.field} over {x.over}{only} matches within {x.max_delta}"
    return f"{x.entity}: {x.field} ties per {', '.join(x.by) or 'key'}"


def _result(
    x: Expectation, ok: bool, evidence: str, failing: list[str] | int, n: int | None = None
) -> ExpectationResult:
    keys = failing if isinstance(failing, list) else []
    count = n if n is not None else (len(keys) if isinstance(failing, list) else failing)
    return ExpectationResult(describe(x), x.entity, x.type, ok, evidence, count, keys[: x.examples])


def _blank_keys(side: Side, column: str, keys: list[str], limit: int) -> tuple[int, list[str]]:
    """Rows whose ``column`` is blank: how many, and the first ``limit`` keys."""
    con = database().cursor()
    try:
        register_side(con, "src", side)  # with its translations: keys read as matched
        src = "src"
        blank = f"nullif(trim(CAST({ident(column)} AS VARCHAR)), '') IS NULL"
        row = con.execute(f"SELECT count(*) FROM {src} WHERE {blank}").fetchone()
        count = int(row[0]) if row else 0
        key_sql = " || ', ' || ".join(
            f"{literal(k + '=')} || coalesce(CAST({ident(c)} AS VARCHAR), '')"
            for k, c in zip(keys[::2], keys[1::2], strict=True)
        )
        order = LINE if LINE in side.column_names else "1"
        found = con.execute(
            f"SELECT {key_sql} FROM {src} WHERE {blank} ORDER BY {order} LIMIT {int(limit)}"
        ).fetchall()
    finally:
        con.close()
    return count, [str(r[0]) for r in found]


def _selected(item: Attributed, where: dict[str, str]) -> bool:
    """Declarative equality filter: a field's key, legacy or new value equals the given one."""
    c = item.candidate
    for name, want in where.items():
        seen = (
            c.keys.get(name),
            c.details.get("a", {}).get(name),
            c.details.get("b", {}).get(name),
        )
        if want not in seen:
            return False
    return True


def _signed_delta(item: Attributed, name: str) -> Decimal:
    """new − legacy for ``name``; a record on one side only counts its full value."""
    a, b = item.candidate.details.get("a", {}), item.candidate.details.get("b", {})
    return (to_decimal(b.get(name)) or Decimal(0)) - (to_decimal(a.get(name)) or Decimal(0))


def evaluate(x: Expectation, entity: PreparedEntity, sc: EntityScore) -> ExpectationResult:
    items = sc.attributed
    if isinstance(x, MatchRate):
        ok = sc.match_rate >= x.min_pct
        ev = f"match rate {sc.match_rate}% ({sc.matched} of {sc.matched + sc.exceptions} keys)"
        failing = [] if ok else [i.key_text for i in items[: x.examples]]
        return _result(x, ok, ev, failing, 0 if ok else len(items))
    if isinstance(x, NoExceptions):
        hits = [
            i for i in items
            if (x.category is None or x.category in
                (i.candidate.category, i.candidate.details.get("base_category")))
            and (x.root_cause is None or any(c.pattern == x.root_cause for c in i.causes))
        ]  # fmt: skip
        return _result(
            x,
            not hits,
            f"{len(hits)} matching exception(s)",
            [i.key_text for i in hits[: x.examples]],
            len(hits),
        )
    if isinstance(x, CountEqual):
        ok = sc.rows_legacy == sc.rows_new
        only = [
            i for i in items
            if i.candidate.details.get("base_category") in ("MISSING_IN_A", "MISSING_IN_B")
        ][: x.examples]  # fmt: skip
        ev = f"legacy {sc.rows_legacy} record(s), new {sc.rows_new}"
        keys = [] if ok else [i.key_text for i in only]
        return _result(x, ok, ev, keys, abs(sc.rows_legacy - sc.rows_new))
    if isinstance(x, NotBlank):
        side = entity.legacy if x.side == "legacy" else entity.new
        key_cols = [p for k in entity.kind.keys for p in (k, entity.column(x.side, k))]
        column = (entity.spec.legacy if x.side == "legacy" else entity.spec.new).columns.get(
            x.field, x.field
        )
        n, keys = _blank_keys(side, column, key_cols, x.examples)
        return _result(x, n == 0, f"{n} record(s) with a blank {x.field}", keys, n)
    if isinstance(x, AmountsMatch):
        bad = []
        for i in items:
            a, b = i.candidate.details.get("a", {}), i.candidate.details.get("b", {})
            zero = Decimal(0)
            size = max(
                abs(to_decimal(a.get(x.field)) or zero), abs(to_decimal(b.get(x.field)) or zero)
            )
            if size <= x.over or not _selected(i, x.where):
                continue
            one_sided = not a or not b
            if one_sided or abs(_signed_delta(i, x.field)) > x.max_delta:
                bad.append(i.key_text)
        ev = f"{len(bad)} record(s) over {x.over} differ by more than {x.max_delta}"
        return _result(x, not bad, ev, bad)
    return _ties(x, entity, items)


def _ties(x: Ties, entity: PreparedEntity, items: list[Attributed]) -> ExpectationResult:
    by = x.by or entity.kind.keys
    sums: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for i in items:
        d = i.candidate.details
        key = tuple(
            str(i.candidate.keys.get(k) or d.get("a", {}).get(k) or d.get("b", {}).get(k))
            for k in by
        )
        sums[key] += _signed_delta(i, x.field)
    bad = [
        ", ".join(f"{k}={v}" for k, v in zip(by, key, strict=True)) + f" (delta {d:f})"
        for key, d in sorted(sums.items())
        if d != 0
    ]
    return _result(x, not bad, f"{len(bad)} group(s) do not tie", bad)
