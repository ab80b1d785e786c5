"""Declarative expectations a UAT spec can state, each passing or failing with evidence
(the failing keys, up to N examples). No expressions, no eval.

Each is one query: over the entity's exceptions (``uat.frame``, with their causes) or, for
blank fields, over the side itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from billbridge.errors import ConfigError
from reconcile.engine import Side
from reconcile.engine.sides import LINE, register_side
from reconcile.engine.sql import DEC, ident, literal
from uat.entities import PreparedEntity
from uat.frame import Frame
from uat.rootcause import exact
from uat.scorecard import EntityScore
from uat.spec import (
    AmountsMatch,
    CountEqual,
    Expectation,
    MatchRate,
    NoExceptions,
    NotBlank,
    Ties,
    UatSpec,
)
from uat.sqltext import decimal_sql, fraction_digits_sql
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


def _matching(frame: Frame, where: str, limit: int) -> tuple[int, list[str]]:
    """How many exceptions satisfy the SQL condition ``where``, and the first ``limit``
    record keys among them (the engine's order)."""
    ((n, keys),) = frame.query(
        f"SELECT count(*), list(key_text ORDER BY i)[1:{int(limit)}] FROM x WHERE {where}"
    )
    return int(n), list(keys or [])


def _number(frame: Frame, side: str, name: str) -> str:
    """SQL for field ``name`` on ``side`` as a number; 0 when absent or blank."""
    return f"coalesce(TRY_CAST({frame.value(side, name)} AS {DEC}), 0)"


def _digits(frame: Frame, side: str, name: str) -> str:
    """Fraction digits of a non-zero value (a zero counts as the exact 0, as ``or 0`` has
    it in Python)."""
    value = frame.value(side, name)
    return (
        f"(CASE WHEN TRY_CAST({value} AS {DEC}) <> 0 THEN {fraction_digits_sql(value)} ELSE 0 END)"
    )


def _selected(frame: Frame, where: dict[str, str]) -> str:
    """Declarative equality filter: a field's key, legacy or new value equals the given one."""
    tests = [
        f"coalesce({literal(want)} IN ({frame.key(name)}, {frame.value('a', name)}, "
        f"{frame.value('b', name)}), false)"
        for name, want in where.items()
    ]
    return " AND ".join(tests) or "TRUE"


def check_expectation(spec: UatSpec, i: int, x: Expectation, entity: PreparedEntity) -> None:
    """Refuse, before anything runs, an expectation reading a column its side lacks: a
    ConfigError naming the spec's file, line and field (not a database error mid-run)."""
    if isinstance(x, NotBlank) and not entity.has_column(x.side, x.field):
        side = entity.side(x.side)
        column = entity.source_column(x.side, x.field)
        raise ConfigError(
            f"{spec.where('expectations', i, 'field')}: {x.side} side ({side.source}) has no "
            f"column {column!r}"
        )


def evaluate(x: Expectation, entity: PreparedEntity, sc: EntityScore) -> ExpectationResult:
    frame = sc.attribution.frame
    if isinstance(x, MatchRate):
        ok = sc.match_rate >= x.min_pct
        ev = f"match rate {sc.match_rate}% ({sc.matched} of {sc.matched + sc.exceptions} keys)"
        failing = [] if ok else frame.table.column("key_text")[: x.examples].to_pylist()
        return _result(x, ok, ev, failing, 0 if ok else sc.exceptions)
    if isinstance(x, NoExceptions):
        tests = ["TRUE"]
        if x.category is not None:
            tests.append(f"{literal(x.category)} IN (category, base)")
        if x.root_cause is not None:
            patterns = "list_transform(causes, lambda c: c.pattern)"
            tests.append(f"list_contains({patterns}, {literal(x.root_cause)})")
        n, keys = _matching(frame, " AND ".join(tests), x.examples)
        return _result(x, not n, f"{n} matching exception(s)", keys, n)
    if isinstance(x, CountEqual):
        ok = sc.rows_legacy == sc.rows_new
        ev = f"legacy {sc.rows_legacy} record(s), new {sc.rows_new}"
        where = "base IN ('MISSING_IN_A', 'MISSING_IN_B')"
        keys = [] if ok else _matching(frame, where, x.examples)[1]
        return _result(x, ok, ev, keys, abs(sc.rows_legacy - sc.rows_new))
    if isinstance(x, NotBlank):
        side = entity.side(x.side)
        key_cols = [p for k in entity.kind.keys for p in (k, entity.column(x.side, k))]
        column = entity.source_column(x.side, x.field)
        n, keys = (0, []) if side.num_rows == 0 else _blank_keys(side, column, key_cols, x.examples)
        return _result(x, n == 0, f"{n} record(s) with a blank {x.field}", keys, n)
    if isinstance(x, AmountsMatch):
        a, b = _number(frame, "a", x.field), _number(frame, "b", x.field)
        over = f"greatest(abs({a}), abs({b})) > {decimal_sql(x.over)}"
        # a record on one side only never matches; else new − legacy within max_delta
        differs = f"(NOT has_a OR NOT has_b OR abs({b} - {a}) > {decimal_sql(x.max_delta)})"
        n, keys = _matching(
            frame, f"{over} AND {_selected(frame, x.where)} AND {differs}", x.examples
        )
        ev = f"{n} record(s) over {x.over} differ by more than {x.max_delta}"
        return _result(x, not n, ev, keys, n)
    return _ties(x, entity, frame)


def _ties(x: Ties, entity: PreparedEntity, frame: Frame) -> ExpectationResult:
    """Per group the summed new − legacy of ``x.field`` over the exceptions is zero."""
    by = x.by or entity.kind.keys
    # a group's value: the key, else the legacy value, else the new one ("None" if absent)
    groups = [
        f"coalesce(nullif({frame.key(k)}, ''), nullif({frame.value('a', k)}, ''), "
        f"coalesce({frame.value('b', k)}, 'None'))"
        for k in by
    ]
    delta = f"{_number(frame, 'b', x.field)} - {_number(frame, 'a', x.field)}"
    digits = f"greatest({_digits(frame, 'a', x.field)}, {_digits(frame, 'b', x.field)})"
    names = [f"g{j}" for j in range(len(by))]
    found = frame.query(
        f"SELECT {', '.join(names)}, sum(d), max(n) FROM (SELECT "
        + "".join(f"{g} AS {name}, " for g, name in zip(groups, names, strict=True))
        + f"{delta} AS d, {digits} AS n FROM x) GROUP BY ALL HAVING sum(d) <> 0"
    )
    bad = [
        ", ".join(f"{k}={v}" for k, v in zip(by, row[:-2], strict=True))
        + f" (delta {exact(row[-2], row[-1]):f})"
        for row in sorted(found)
    ]
    return _result(x, not bad, f"{len(bad)} group(s) do not tie", bad)
