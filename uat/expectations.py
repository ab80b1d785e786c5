"""Declarative expectations a UAT spec can state, each passing or failing with evidence
(the failing keys, up to N examples). No expressions, no eval.

Each is one query: over the entity's exceptions (``uat.frame``, with their causes); for
counts and amounts over every key of both sides (``uat.totals``: duplicates and pairs
matched within a tolerance count too); for blank fields over the side itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import pyarrow as pa

from billbridge.errors import ConfigError
from reconcile.engine import Side
from reconcile.engine.sides import LINE, register_side
from reconcile.engine.sql import ident, literal, stripped
from uat.entities import PreparedEntity
from uat.frame import Frame
from uat.kinds import EntityKind
from uat.rootcause import exact
from uat.scorecard import EntityScore, exact_match_rate
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
from uat.sqltext import decimal_sql
from uat.totals import Totals, key_totals
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
        # blank as people mean it: tabs and no-break spaces too (DuckDB's trim strips spaces)
        blank = f"nullif({stripped(f'CAST({ident(column)} AS VARCHAR)')}, '') IS NULL"
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


def _category_test(category: str, entity: PreparedEntity) -> str:
    """SQL: the exception is of ``category`` (its name or base). A key absent from one side
    is also missing / extra there when the engine files it under another category (a
    duplicate or merged key of the other side): the gate on missing keys must see it."""
    want = literal(category)
    tests = [f"{want} IN (category, base)"]
    d = entity.definition
    one_sided = (("MISSING_IN_B", "has_a", "has_b"), ("MISSING_IN_A", "has_b", "has_a"))
    for base, here, there in one_sided:
        if category in (base, d.category(base)):
            tests.append(f"coalesce({here} AND NOT {there}, false)")
    return f"({' OR '.join(tests)})"


def _keys_matching(t: Totals, where: str, limit: int) -> tuple[int, list[str]]:
    """How many keys satisfy the SQL condition ``where`` over ``t``, and the first ``limit``
    of them in key order."""
    ((n, keys),) = t.query(
        f"SELECT count(*), list(key_text ORDER BY key_text)[1:{int(limit)}] "
        f"FROM (SELECT *, {t.key_text()} AS key_text FROM t) WHERE {where}"
    )
    return int(n), list(keys or [])


def _selected(t: Totals, where: dict[str, str]) -> str:
    """Declarative equality filter: a field's key, legacy or new value equals the given one."""
    return " AND ".join(f"({t.has(name, want)})" for name, want in where.items()) or "TRUE"


def totals_needed(
    xs: Sequence[Expectation], kind: EntityKind
) -> tuple[list[str], list[str]] | None:
    """(amount fields, text fields) the per-key totals must hold for one entity's
    expectations; None when none of them reads totals."""
    amounts: dict[str, None] = {}
    texts: dict[str, None] = {}
    found = False
    for x in xs:
        if isinstance(x, CountEqual | AmountsMatch | Ties):
            found = True
        if isinstance(x, AmountsMatch):
            amounts[x.field] = None
            texts.update(dict.fromkeys(x.where))
        elif isinstance(x, Ties):
            amounts[x.field] = None
            texts.update(dict.fromkeys(x.by))
    if not found:
        return None
    return list(amounts), [f for f in texts if f not in kind.keys]


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
    # a filter or grouping field must be on a side, or it would silently select nothing
    read: list[tuple[tuple[str, ...], str]] = [(("where", f), f) for f in getattr(x, "where", {})]
    read += [(("by",), f) for f in getattr(x, "by", ())]
    for loc, name in read:
        if not any(entity.has_column(side, name) for side in ("legacy", "new")):
            raise ConfigError(
                f"{spec.where('expectations', i, *loc)}: neither side has a column "
                f"{entity.source_column('legacy', name)!r} for {name}"
            )


def evaluate(
    x: Expectation, entity: PreparedEntity, sc: EntityScore, totals: Totals | None = None
) -> ExpectationResult:
    """``totals``: the entity's per-key totals (``uat.totals``), which count_equal,
    amounts_match and ties read (built here when not given)."""
    frame = sc.attribution.frame
    if entity.legacy.num_rows == 0 and entity.new.num_rows == 0:
        # two empty extracts (the wrong period or company code on both) agree on nothing:
        # a gate that checked nothing must not pass, as a where: selecting nothing
        ev = f"neither system's extract has a record of {entity.spec.name}: nothing was checked"
        return _result(x, False, ev, [], 0)
    if isinstance(x, MatchRate):
        rate = exact_match_rate(sc.matched, sc.exceptions)
        ok = rate >= x.min_pct
        # the rounded rate where it tells the verdict, else digits enough to show it
        shown = sc.match_rate
        if (shown >= x.min_pct) != ok:
            shown = rate.quantize(Decimal("0.0001"), rounding=ROUND_DOWN).normalize()
        ev = f"match rate {shown:f}% ({sc.matched} of {sc.matched + sc.exceptions} keys)"
        failing = [] if ok else frame.table.column("key_text")[: x.examples].to_pylist()
        return _result(x, ok, ev, failing, 0 if ok else sc.exceptions)
    if isinstance(x, NoExceptions):
        tests = ["TRUE"]
        if x.category is not None:
            tests.append(_category_test(x.category, entity))
        if x.root_cause is not None:
            patterns = "list_transform(causes, lambda c: c.pattern)"
            tests.append(f"list_contains({patterns}, {literal(x.root_cause)})")
        n, keys = _matching(frame, " AND ".join(tests), x.examples)
        return _result(x, not n, f"{n} matching exception(s)", keys, n)
    if isinstance(x, NotBlank):
        side = entity.side(x.side)
        key_cols = [p for k in entity.kind.keys for p in (k, entity.column(x.side, k))]
        column = entity.source_column(x.side, x.field)
        n, keys = (0, []) if side.num_rows == 0 else _blank_keys(side, column, key_cols, x.examples)
        return _result(x, n == 0, f"{n} record(s) with a blank {x.field}", keys, n)
    if totals is None:  # the runner builds them once per entity; a lone call, here
        totals = entity_totals([x], entity, sc)
        assert totals is not None  # count_equal, amounts_match and ties need totals
    if isinstance(x, CountEqual):
        return _count_equal(x, totals)
    if isinstance(x, AmountsMatch):
        return _amounts_match(x, totals, money=_is_money(entity.kind, x.field))
    return _ties(x, totals, entity)


def _is_money(kind: EntityKind, name: str) -> bool:
    """Whether ``name`` is an amount of money (currency-bound) rather than a count: a
    quantity is the same quantity in any currency. Fields the kind does not know count as
    money (never added across currencies)."""
    try:
        return kind.field(name).kind == "amount"
    except KeyError:
        return True


def entity_totals(
    xs: Sequence[Expectation], entity: PreparedEntity, sc: EntityScore
) -> Totals | None:
    """The per-key totals ``xs`` (one entity's expectations) read, built once; None when
    none reads them. Over the exceptions' keys only when those are all that can fail."""
    needed = totals_needed(xs, entity.kind)
    if needed is None:
        return None
    unique = keys_unique(entity, sc)
    only = exception_keys(sc) if unique and _exceptions_suffice(xs, entity) else None
    # a key's rows may disagree on a ties grouping field (EUR and USD): summed per value
    split = [f for x in xs if isinstance(x, Ties) for f in x.by if f not in entity.kind.keys]
    return key_totals(entity, *needed, only=only, unique=unique, split=list(dict.fromkeys(split)))


def _exceptions_suffice(xs: Sequence[Expectation], entity: PreparedEntity) -> bool:
    """Whether every key that could fail ``xs`` is one of the engine's exceptions (the
    caller has checked that no key is on two records of a side): each is an
    amounts_match whose field the engine compares within at most its ``max_delta``, and
    the currency, unless a key, is compared too. A key the engine matched then has one
    record per side, the same currency and a delta within ``max_delta``: it passes, and
    the totals need not read the million keys that matched."""
    if entity.kind.aggregate:
        return False
    compared = {c.name: c for c in entity.definition.compare}
    currency = entity.kind.currency_field
    keyed = currency in entity.kind.keys
    if currency in entity.kind.columns and not keyed and currency not in compared:
        return False
    for x in xs:
        if isinstance(x, MatchRate | NoExceptions | NotBlank):
            continue  # read no totals
        if not isinstance(x, AmountsMatch):
            return False
        if x.where:  # its evidence counts the records the filter selects, matched or not
            return False
        c = compared.get(x.field)
        # a percentage or a count of minor units has no bound in the field's own unit
        if c is None or c.pct or c.minor_units or c.abs > x.max_delta:
            return False
    return True


def exception_keys(sc: EntityScore) -> pa.Table:
    """The keys (``k0..``) of the entity's exceptions, once each."""
    frame = sc.attribution.frame
    keys = ", ".join(f"k{j}" for j in range(len(frame.rows.key_names)))
    return frame.arrow(f"SELECT DISTINCT {keys} FROM x")


def keys_unique(entity: PreparedEntity, sc: EntityScore) -> bool:
    """Whether the engine found no key on two rows of a side (its duplicate categories
    are empty): per-key totals then need no grouping."""
    d = entity.definition
    repeated = {d.category(b) for b in ("DUPLICATE", "DUPLICATE_IN_A", "DUPLICATE_IN_B")}
    return not any(sc.categories.get(c) for c in repeated)


def _count_equal(x: CountEqual, t: Totals) -> ExpectationResult:
    """Distinct keys per side (after translation and, for summed kinds, aggregation); a key
    on one side only or on several records of a side is named as evidence."""
    ((legacy, new, several),) = t.query(
        f"SELECT count(na), count(nb), count(*) FILTER (WHERE {t.several()}) FROM t"
    )
    ok = legacy == new and not several
    ev = f"legacy {legacy} key(s), new {new}"
    ev += f", {several} key(s) on several records" if several else ""
    n, keys = (0, []) if ok else _keys_matching(t, t.unpaired(), x.examples)
    return _result(x, ok, ev, keys, n)


def _amounts_match(x: AmountsMatch, t: Totals, *, money: bool = True) -> ExpectationResult:
    """Every key whose amount (a sum, or any row) is over ``x.over`` has its new total
    within ``max_delta`` of the legacy one, in the same currency (``money``: a count such
    as a quantity is not currency-bound), on one record per side."""
    a, b = t.total("a", x.field), t.total("b", x.field)
    over = f"{t.largest(x.field)} > {decimal_sql(x.over)}"
    currency = f" OR {t.currency_differs()}" if money else ""
    differs = f"({t.unpaired()}{currency} OR abs({b} - {a}) > {decimal_sql(x.max_delta)})"
    n, keys = _keys_matching(t, f"{over} AND {_selected(t, x.where)} AND {differs}", x.examples)
    ev = f"{n} record(s) over {x.over} differ by more than {x.max_delta}"
    if not x.where:
        return _result(x, not n, ev, keys, n)
    # a filter that selects nothing checks nothing: that must not pass as a match
    ((chosen,),) = t.query(f"SELECT count(*) FROM t WHERE {_selected(t, x.where)}")
    only = ", ".join(f"{k}={v}" for k, v in x.where.items())
    if not chosen:
        ev = f"the filter {only} selects no record on either side: nothing was checked"
        return _result(x, False, ev, [], 0)
    return _result(x, not n, f"{chosen} record(s) with {only}; {ev}", keys, n)


def _ties(x: Ties, t: Totals, entity: PreparedEntity | None = None) -> ExpectationResult:
    """Per group the summed new − legacy of ``x.field`` over every key is zero. Each side's
    totals count under that side's own values of the ``by`` fields (an open item moved to
    another customer leaves one and reaches the other); a key absent on a side counts
    nothing there. A side without the field's column at all counts under the other side's
    value. A key whose rows on a side carry several values of a ``by`` field counts each
    value's rows under it (``Totals.parts``), not the key's total under its smallest value.
    The delta shows the digits of the source texts, at least the currency's minor units.
    Amounts never add across currencies: with a currency field, groups are per currency too
    (an item moved from EUR to USD breaks both, even grouped by customer alone)."""
    by = list(x.by or t.keys)
    money = entity is None or _is_money(entity.kind, x.field)
    if money and t.currency is not None and t.currency not in by:
        by.append(t.currency)

    def group(side: str, k: str, split: bool = False) -> str:
        key = t.key(k)
        if key is not None:
            return key
        other = "b" if side == "a" else "a"
        own = f"nullif({t.text(side, k)}, '')"
        if split and k in t.split:
            own = f"nullif(p.p{t.split.index(k)}, '')"
        elif entity is not None and not entity.has_column(_SIDE_NAMES[side], k):
            own = f"nullif({t.text(other, k)}, '')"
        return f"coalesce({own}, 'None')"

    j = t.amounts.index(x.field)
    # money shows at least its currency's minor units; a count its own digits
    digits = f"greatest(coalesce(dg{j}, 0), {t.minor_digits()})" if money else f"coalesce(dg{j}, 0)"
    names = [f"g{n}" for n in range(len(by))]
    keys = ", ".join(f"k{i}" for i in range(len(t.keys)))
    splits = t.parts is not None and any(k in t.split for k in by)
    parts = []
    for side, sign, present in (("a", "-", "na"), ("b", "", "nb")):
        groups = "".join(f"{group(side, k)} AS {name}, " for k, name in zip(by, names, strict=True))
        whole = f"FROM t WHERE {present} IS NOT NULL"
        if splits:
            own = f"(SELECT {keys} FROM p WHERE side = {literal(side)}) o"
            kept = f"(SELECT * FROM t ANTI JOIN {own} USING ({keys}))"
            whole = f"FROM {kept} WHERE {present} IS NOT NULL"
            split = "".join(
                f"{group(side, k, True)} AS {name}, " for k, name in zip(by, names, strict=True)
            )
            parts.append(
                f"SELECT {split}{sign}coalesce(p.s{j}, 0) AS d, {digits} AS n "
                f"FROM p JOIN t USING ({keys}) WHERE p.side = {literal(side)}"
            )
        parts.append(f"SELECT {groups}{sign}{t.total(side, x.field)} AS d, {digits} AS n {whole}")
    found = t.query(
        f"SELECT {', '.join(names)}, sum(d), max(n) FROM ({' UNION ALL '.join(parts)}) "
        "GROUP BY ALL HAVING sum(d) <> 0"
    )
    bad = [
        ", ".join(f"{k}={v}" for k, v in zip(by, row[:-2], strict=True))
        + f" (delta {exact(row[-2], row[-1]):f})"
        for row in sorted(found, key=lambda r: tuple(str(v) for v in r[:-2]))
    ]
    return _result(x, not bad, f"{len(bad)} group(s) do not tie", bad)


_SIDE_NAMES = {"a": "legacy", "b": "new"}
