"""Generated SQL of the matching engine: column aliases per definition and the statements
for grouping (many-to-one), the join with its exact-equality prefilter, classification and the
exception rows (display text, ids and fingerprints computed in DuckDB).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from canonical.currencies import MINOR_UNITS
from reconcile.definitions import ReconDefinition
from reconcile.engine import sql
from reconcile.engine.severity import severity_sql

SIDES = ("a", "b")


@dataclass(frozen=True)
class Plan:
    """Column aliases used in the generated SQL for one definition: keys k0.., raw compared
    values r0.. (typed values v0.. after casting), raw context x0.."""

    definition: ReconDefinition
    #: side -> source column -> DuckDB type name ("AGG" for an aggregated side's output)
    types: dict[str, dict[str, str]]
    #: keys joined as the source's integers, not as text (``prepare.integer_keys``)
    typed_keys: frozenset[int] = frozenset()

    def join_on(self, left: str = "a", right: str = "b") -> str:
        """The keyed join's condition. A key blank in every part ('') matches nothing: two
        records that both lack an invoice number are not the same record (each is reported
        on its own side, and blanks repeated on one side as a duplicate). A composite key
        with some parts blank (an invoice's header row without a line number) matches the
        same parts on the other side, as it groups with them on its own side."""
        texts = [k for i, k in enumerate(self.keys) if i not in self.typed_keys]
        equal = [f"{left}.{k} = {right}.{k}" for k in self.keys]
        return " AND ".join(equal + sql.key_present(texts, len(self.typed_keys), left))

    def cast(self, side: str, i: int, expr: str) -> str:
        """Typed value of compare field ``i`` from its raw expression on ``side``."""
        c = self.definition.compare[i]
        return sql.value_expr(c, expr, self.source_type(side, c.col(side)), c.kind)

    def raw_cast(self, side: str, i: int, expr: str) -> str:
        """Typed value from a side's source column (before any aggregation)."""
        c = self.definition.compare[i]
        return sql.value_expr(c, expr, self.types[side][c.col(side)], c.kind)

    def context(self, side: str, i: int, expr: str) -> str:
        x = self.definition.context[i]
        return sql.value_expr(None, expr, self.source_type(side, x.col(side)), "text")

    def source_type(self, side: str, column: str) -> str:
        if getattr(self.definition, side).aggregate:
            return "AGG"
        return self.types[side][column]

    def same_type(self, i: int) -> bool:
        """Raw values can be compared as they are (a cheap exact-equality prefilter)."""
        c = self.definition.compare[i]
        return self.source_type("a", c.col("a")) == self.source_type("b", c.col("b")) != "AGG"

    def tolerated_in_join(self, i: int) -> bool:
        """Compare field ``i``'s tolerance can be checked on the raw values in the join: both
        sides hold the same decimal or date type, and the tolerance
        needs no currency (minor units). Its typed value is then the raw value."""
        c = self.definition.compare[i]
        if not self.same_type(i):
            return False
        kind = self.source_type("a", c.col("a"))
        if c.kind in sql.NUMERIC_KINDS:
            # decimals only: their difference widens, an integer one could overflow
            return kind.startswith("decimal") and bool(c.abs or c.pct) and not c.minor_units
        return c.kind == "date" and kind.startswith("date32") and bool(c.days)

    def raw_decimal_scale(self, i: int) -> int | None:
        """The scale of compare field ``i``'s raw values when it is a number both sides hold
        as the same decimal type (its typed value is then the raw value), else None."""
        c = self.definition.compare[i]
        if c.kind not in sql.NUMERIC_KINDS or not self.same_type(i):
            return None
        found = re.fullmatch(r"decimal\d*\(\d+, *(\d+)\)", self.source_type("a", c.col("a")))
        return int(found.group(1)) if found else None

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.definition.keys))]

    @property
    def contexts(self) -> list[str]:
        return [f"x{i}" for i in range(len(self.definition.context))]

    def currency_sql(self) -> str | None:
        name = self.definition.currency_field
        if name is None:
            return None
        d = self.definition
        for i, spec in enumerate(d.keys):
            if spec.name == name:
                return f"k{i}"
        for i, cmp in enumerate(d.compare):
            if cmp.name == name:
                return f"coalesce(a_v{i}, b_v{i})"
        for i, ctx in enumerate(d.context):
            if ctx.name == name:
                return f"coalesce(a_t{i}, b_t{i})"
        return None


def grouped_sql(d: ReconDefinition, plan: Plan, side: str, exclude_dups: bool) -> str:
    keys = ", ".join(plan.keys)
    source = f"n_{side}"
    if exclude_dups:
        source = f"(SELECT * FROM n_{side} ANTI JOIN _dk USING ({keys}))"
    if not getattr(d, side).aggregate:
        return f"SELECT *, 1 AS _n FROM {source}"
    types = plan.types[side]
    aggs = [
        f"{sql.aggregate_fn(c)}({sql.value_expr(c, f'r{i}', types[c.col(side)], c.kind)}) AS r{i}"
        for i, c in enumerate(d.compare)
    ]
    aggs += [f"min(x{i}) AS x{i}" for i in range(len(d.context))]
    return (
        f"SELECT {keys}, {', '.join([*aggs, sql.GROUP_LINES, 'count(*) AS _n'])} "
        f"FROM {source} GROUP BY {keys}"
    )


def _join_parts(
    d: ReconDefinition, plan: Plan, exclude_dups: bool
) -> tuple[list[tuple[str, str]], str, list[str]]:
    """([(expression, name)] projected, FROM clause, per compare field its exact-equality
    predicate) of the keyed join."""
    on = plan.join_on()
    cols = [(f"coalesce(a.{k}, b.{k})", k) for k in plan.keys]
    cols += [("a._n", "n_a"), ("b._n", "n_b"), ("a._line", "line_a"), ("b._line", "line_b")]
    for alias in (*(f"r{i}" for i in range(len(d.compare))), *plan.contexts):
        cols += [(f"a.{alias}", f"a_{alias}"), (f"b.{alias}", f"b_{alias}")]
    # exact prefilter on raw values when both sides have the same type (false positives
    # only: they are classified MATCHED below); otherwise on the typed values
    exact = [
        f"a.r{i} IS NOT DISTINCT FROM b.r{i}"
        if plan.same_type(i)
        else f"{plan.cast('a', i, f'a.r{i}')} IS NOT DISTINCT FROM {plan.cast('b', i, f'b.r{i}')}"
        for i in range(len(d.compare))
    ]
    source = (
        f"({grouped_sql(d, plan, 'a', exclude_dups)}) a "
        f"FULL OUTER JOIN ({grouped_sql(d, plan, 'b', exclude_dups)}) b ON {on}"
    )
    return cols, source, exact


def _select(cols: list[tuple[str, str]]) -> str:
    return ", ".join(f"{expr} AS {name}" for expr, name in cols)


def join_sql(d: ReconDefinition, plan: Plan, exclude_dups: bool) -> str:
    """The join rows that are exclusive or not exactly equal (the rest never leaves DuckDB)."""
    cols, source, exact = _join_parts(d, plan, exclude_dups)
    many = " OR a._n > 1 OR b._n > 1" if (d.a.aggregate or d.b.aggregate) else ""
    same = " AND ".join(exact) or "TRUE"
    flag = f"a._n IS NULL OR b._n IS NULL OR NOT ({same}){many}"
    return f"SELECT {_select(cols)} FROM {source} WHERE {flag}"


def tolerated_columns(d: ReconDefinition, plan: Plan) -> list[str]:
    """The counted join's figures besides the flagged rows: ``_pairs`` (pairs equal within
    tolerance, or exactly), ``_within`` (of them, within tolerance only) and, per field
    tolerated inside the join, ``_tmax<i>`` and (numbers) ``_tsum<i>`` of those pairs'
    |a - b|."""
    out = ["_pairs", "_within"]
    for i, c in enumerate(d.compare):
        if plan.tolerated_in_join(i):
            # a date's day counts have a largest, not a total (summary.tolerated_diff_total)
            out += [f"_tmax{i}", f"_tsum{i}"] if c.kind in sql.NUMERIC_KINDS else [f"_tmax{i}"]
    return out


def counted_join_sql(d: ReconDefinition, plan: Plan) -> str:
    """The flagged join rows (``_f``) and, on each, the figures of ``tolerated_columns``.

    ``_pairs`` with the side row counts proves, in the same pass, that no key repeats (see
    ``match._repeats``), so the separate duplicate scan is only needed when one does.
    Tolerances the raw values can take (``Plan.tolerated_in_join``) are applied here, so
    pairs equal within them never leave the join: they are only counted and summed.

    The join rows are grouped by their state ``_s`` (0 exactly equal, 1 within tolerance, 2
    flagged): three groups, and ``_s`` is named once. An ungrouped aggregate that tested
    ``_s`` in every figure had DuckDB's optimizer compare that state (a test per compared
    field) once per figure: 30 s of planning on 150 columns with tolerances. Group 1's
    figures are those of its pairs alone; the others' are dropped. With nothing flagged a
    row of nulls still carries the figures. A definition with few figures (figures x fields
    up to ``_UNGROUPED_MAX``) keeps the ungrouped pass, a few per cent faster.
    """
    tested = len(tolerated_columns(d, plan)) - 2
    if tested * len(d.compare) <= _UNGROUPED_MAX:
        return _ungrouped_join_sql(d, plan)
    cols, source, state = _join_state(d, plan)
    sums, figures = [], []
    for i, c in enumerate(d.compare):
        if plan.tolerated_in_join(i):
            # |a - b| only where this field is within its tolerance (every field is, in
            # group 1): a flagged pair's difference may not fit its type, nor their sum
            ok = sql.equal_expr(c, f"a_r{i}", f"b_r{i}", None)
            delta = f"CASE WHEN {ok} THEN abs({sql.delta_expr(c, f'a_r{i}', f'b_r{i}')}) END"
            sums.append(f"max({delta}) AS _tmax{i}")
            figures.append(f"any_value(_tmax{i}) FILTER (WHERE _s = 1) AS _tmax{i}")
            if c.kind in sql.NUMERIC_KINDS:
                sums.append(f"sum({delta}) AS _tsum{i}")
                figures.append(f"any_value(_tsum{i}) FILTER (WHERE _s = 1) AS _tsum{i}")
    fields = ", ".join(f"'{name}': {name}" for _, name in cols)
    inner = f"SELECT {_select(cols)}, {state} AS _s FROM {source}"
    groups = ", ".join(
        [
            "_s",
            "count(*) AS _c",
            *sums,
            f"list({{{fields}, '_f': true}}) FILTER (WHERE _s = 2) AS _l",
        ]
    )
    aggregates = ", ".join(
        [
            "CAST(coalesce(sum(_c) FILTER (WHERE _s < 2), 0) AS BIGINT) AS _pairs",
            "CAST(coalesce(sum(_c) FILTER (WHERE _s = 1), 0) AS BIGINT) AS _within",
            *figures,
            "any_value(_l) FILTER (WHERE _s = 2) AS _flagged",
        ]
    )
    return (
        f"SELECT {', '.join(tolerated_columns(d, plan))}, "
        f"unnest(coalesce(_flagged, [NULL]), recursive := true) "
        f"FROM (SELECT {aggregates} FROM (SELECT {groups} FROM ({inner}) GROUP BY _s))"
    )


def _join_state(d: ReconDefinition, plan: Plan) -> tuple[list[tuple[str, str]], str, str]:
    """The counted join's columns, its FROM, and each row's state ``_s``: 0 exactly equal,
    1 within the tolerances the join applies, 2 flagged (on one side only, or differing)."""
    cols, source, exact = _join_parts(d, plan, False)
    within = [
        sql.equal_expr(c, f"a.r{i}", f"b.r{i}", None) if plan.tolerated_in_join(i) else exact[i]
        for i, c in enumerate(d.compare)
    ]
    state = (
        "CASE WHEN a._n IS NULL OR b._n IS NULL THEN 2 "
        f"WHEN {' AND '.join(exact) or 'TRUE'} THEN 0 "
        + (f"WHEN {' AND '.join(within)} THEN 1 " if within != exact else "")
        + "ELSE 2 END"
    )
    return cols, source, state


#: figures x compared fields up to which the counted join tests the state in each figure
#: (one ungrouped pass, a few per cent faster on a million rows than grouping by state)
_UNGROUPED_MAX = 400


def _ungrouped_join_sql(d: ReconDefinition, plan: Plan) -> str:
    """``counted_join_sql`` as one ungrouped aggregate whose figures each test the state
    (a GROUP BY that kept each flagged row apart cost the join a tenth more)."""
    cols, source, state = _join_state(d, plan)
    diffs, figures = [], []
    for i, c in enumerate(d.compare):
        if plan.tolerated_in_join(i):
            delta = sql.delta_expr(c, f"a_r{i}", f"b_r{i}")
            diffs.append(f"CASE WHEN _s = 1 THEN abs({delta}) END AS _t{i}")
            figures.append(f"max(_t{i}) AS _tmax{i}")
            if c.kind in sql.NUMERIC_KINDS:
                figures.append(f"sum(_t{i}) AS _tsum{i}")
    fields = ", ".join(f"'{name}': {name}" for _, name in cols)
    inner = f"SELECT {_select(cols)}, {state} AS _s FROM {source}"
    if diffs:
        inner = f"SELECT *, {', '.join(diffs)} FROM ({inner})"
    aggregates = ", ".join(
        [
            "count(*) FILTER (WHERE _s < 2) AS _pairs",
            "count(*) FILTER (WHERE _s = 1) AS _within",
            *figures,
            f"list({{{fields}, '_f': true}}) FILTER (WHERE _s = 2) AS _flagged",
        ]
    )
    return (
        f"SELECT {', '.join(tolerated_columns(d, plan))}, "
        f"unnest(coalesce(_flagged, [NULL]), recursive := true) "
        f"FROM (SELECT {aggregates} FROM ({inner}))"
    )


def classify_sql(d: ReconDefinition, plan: Plan, flagged: str) -> str:
    """Typed values, tolerance checks, deltas and the base category of the flagged rows."""
    ccy = plan.currency_sql()
    eqs = [sql.equal_expr(c, f"a_v{i}", f"b_v{i}", ccy) for i, c in enumerate(d.compare)]
    deltas = [sql.delta_expr(c, f"a_v{i}", f"b_v{i}") or "NULL" for i, c in enumerate(d.compare)]

    def all_eq(kinds: tuple[str, ...] | None) -> str:
        picked = [f"eq{i}" for i, c in enumerate(d.compare) if kinds is None or c.kind in kinds]
        return " AND ".join(picked) or "TRUE"

    # a group "does not add up" when a summed field differs; a group that sums right but
    # differs elsewhere (a date) is that kind's mismatch, which names the real difference
    summed = [f"eq{i}" for i, c in enumerate(d.compare) if sql.aggregate_fn(c) == "sum"]
    adds_up = " AND ".join(summed) or "TRUE"
    category = (
        "CASE WHEN n_b IS NULL THEN 'MISSING_IN_B' WHEN n_a IS NULL THEN 'MISSING_IN_A' "
        f"WHEN {all_eq(None)} THEN 'MATCHED' "
        f"WHEN (n_a > 1 OR n_b > 1) AND NOT ({adds_up}) THEN 'MANY_TO_ONE' "
        f"WHEN NOT ({all_eq(('amount',))}) THEN 'AMOUNT_MISMATCH' "
        f"WHEN NOT ({all_eq(('date',))}) THEN 'DATE_MISMATCH' "
        f"WHEN NOT ({all_eq(('status',))}) THEN 'STATUS_MISMATCH' "
        "ELSE 'FIELD_MISMATCH' END"
    )
    exact = " AND ".join(f"a_v{i} IS NOT DISTINCT FROM b_v{i}" for i in range(len(eqs))) or "TRUE"
    inner = ", ".join(
        ["*", f"({exact}) AS _exact"]
        + [f"{e} AS eq{i}" for i, e in enumerate(eqs)]
        + [f"{x} AS d{i}" for i, x in enumerate(deltas)]
    )
    typed = ", ".join(
        ["*"]
        + [f"{plan.cast(s, i, f'{s}_r{i}')} AS {s}_v{i}" for i in range(len(eqs)) for s in SIDES]
        + [
            f"{plan.context(s, i, f'{s}_x{i}')} AS {s}_t{i}"
            for i in range(len(d.context))
            for s in SIDES
        ]
    )
    return (
        f"SELECT *, {category} AS _cat FROM (SELECT {inner} FROM (SELECT {typed} FROM ({flagged})))"
    )


def _fmt(expr: str, kind: str, scale: int = 10) -> str:
    """Exact text of a value: decimals without padding zeros. Numeric values are decimals
    of ``scale`` digits (DECIMAL(38,10) unless the raw column's), whose text has a point
    when the scale is positive, so trailing zeros and then a bare point can go (a regular
    expression: rtrim was slower); a day count (a date's delta) keeps its own zeros."""
    if kind in sql.NUMERIC_KINDS and scale > 0:
        return f"regexp_replace(CAST({expr} AS VARCHAR), '\\.?0+$', '')"
    return f"CAST({expr} AS VARCHAR)"


def _shown(plan: Plan, i: int) -> tuple[str, str, str, int]:
    """(A value, B value, delta, decimal scale) compare field ``i``'s text is made from."""
    scale = plan.raw_decimal_scale(i)
    if scale is None:
        return f"a_v{i}", f"b_v{i}", f"d{i}", 10
    return f"a_r{i}", f"b_r{i}", f"(a_r{i} - b_r{i})", scale


def field_columns(d: ReconDefinition) -> list[str]:
    """The columns ``exceptions_sql(..., by_field=True)`` adds after the row's: the base
    category, whether each side has the record, then per compared field ``i`` its text on
    side A and B and whether it differs."""
    out = ["_base", "_has_a", "_has_b"]
    for i in range(len(d.compare)):
        out += [f"_a{i}", f"_b{i}", f"_d{i}"]
    return out


def exceptions_sql(
    d: ReconDefinition, plan: Plan, *, by_field: bool = False, ordered: bool = True
) -> str:
    """Exception rows with display text, amount, currency, category name, id, fingerprint.

    ``by_field``: also the values the details JSON is made of, as columns (``field_columns``):
    a caller that looks at single fields then reads no JSON."""
    cols = [*plan.keys, "n_a", "n_b", "line_a", "line_b", "_cat"]
    fp_parts = ["CAST(coalesce(n_a, 0) AS VARCHAR)", "CAST(coalesce(n_b, 0) AS VARCHAR)"]
    # a decimal column both sides share is shown from its raw values (the same numbers as
    # DECIMAL(38,10), and several times cheaper to print than 128-bit decimals)
    values = [_shown(plan, i) for i in range(len(d.compare))]
    for i, c in enumerate(d.compare):
        a, b, delta, scale = values[i]
        cols += [
            f"eq{i}",
            f"{_fmt(a, c.kind, scale)} AS ta{i}",
            f"{_fmt(b, c.kind, scale)} AS tb{i}",
            f"CASE WHEN {delta} <> 0 THEN {_fmt(delta, c.kind, scale)} END AS td{i}",
        ]
        fp_parts += [f"coalesce(ta{i}, chr(0))", f"coalesce(tb{i}, chr(0))"]
    cols += [f"coalesce(a_t{i}, b_t{i}) AS tx{i}" for i in range(len(d.context))]
    ccy = plan.currency_sql()
    cols.append(f"upper({ccy}) AS _ccy" if ccy else "NULL AS _ccy")
    amount, amount_scale = "NULL", 10
    # amounts in two currencies never subtract: a record whose currency changed is at risk
    # for its A amount, in A's currency (the currency the exception carries)
    same_ccy = next(
        (
            f"NOT coalesce(upper(a_v{j}) <> upper(b_v{j}), false)"
            for j, c in enumerate(d.compare)
            if c.name == d.currency_field
        ),
        "TRUE",
    )
    for i, c in enumerate(d.compare):
        if c.name == d.amount_field:
            a, b, delta, amount_scale = values[i]
            amount = (
                f"CASE WHEN n_a IS NOT NULL AND n_b IS NOT NULL AND NOT eq{i} AND {delta} IS NOT "
                f"NULL AND {same_ccy} THEN abs({delta}) ELSE abs(coalesce({a}, {b})) END"
            )
    cols.append(f"{amount} AS _amt")
    names = " ".join(
        f"WHEN {sql.literal(base)} THEN {sql.literal(d.category(base))}"
        for base in ("MISSING_IN_A", "MISSING_IN_B", "MANY_TO_ONE", "AMOUNT_MISMATCH",
                     "DATE_MISMATCH", "STATUS_MISMATCH", "FIELD_MISMATCH")
    )  # fmt: skip
    key_parts = [
        f"{sql.literal(k.name + '=')} || CAST(k{i} AS VARCHAR)"
        for i, k in sorted(enumerate(d.keys), key=lambda p: p[1].name)
    ]
    id_payload = ", ".join([sql.literal(d.name), "_name", *key_parts])
    rows = (
        f"SELECT *, sha256(concat_ws(chr(31), {id_payload})) AS _id, "
        f"sha256(concat_ws(chr(31), {', '.join(fp_parts)})) AS _fp "
        f"FROM (SELECT *, CASE _cat {names} END AS _name FROM "
        f"(SELECT {', '.join(cols)} FROM _cls WHERE _cat <> 'MATCHED'))"
    )
    # the columns of reconcile.engine.rows, in its tuple order; integer keys read as text
    lean = ["_id", "_name", "_fp", f"{details_json_sql(d)} AS _details"]
    lean.append(f"{severity_sql('_amt', d.severity, '_ccy')} AS _sev")
    lean += [f"{_minor_unit_text('_at', '_md')} AS _amt", "_ccy"]
    lean += [f"CAST({k} AS VARCHAR) AS {k}" for k in plan.keys]
    if by_field:
        both = "n_a IS NOT NULL AND n_b IS NOT NULL"
        lean += ["_cat AS _base", "n_a IS NOT NULL AS _has_a", "n_b IS NOT NULL AS _has_b"]
        for i in range(len(d.compare)):
            # as the details have them: "a"/"b" values, the field listed in diff_columns
            lean += [f"CASE WHEN n_a IS NOT NULL THEN ta{i} END AS _a{i}",
                     f"CASE WHEN n_b IS NOT NULL THEN tb{i} END AS _b{i}",
                     f"({both} AND NOT coalesce(eq{i}, false)) AS _d{i}"]  # fmt: skip
    return (
        f"SELECT {', '.join(lean)} FROM (SELECT *, {_fmt('_amt', 'amount', amount_scale)} AS _at, "
        f"{minor_digits_sql('_ccy')} AS _md FROM ({rows}))"
        + (" ORDER BY _name, _id" if ordered else "")
    )


def minor_digits_sql(currency: str) -> str:
    """Minor-unit digits of the currency code ``currency`` (0 for an unknown code): the
    codes with other than two digits listed by digits, then the two-digit ones. (A CASE
    over IN lists: a few ms less per 20k-exception run than the VALUES table it replaces,
    which the query joined.)"""
    by_digits: dict[int, list[str]] = {}
    for code, digits in sorted(MINOR_UNITS.items()):
        by_digits.setdefault(digits, []).append(code)
    whens = " ".join(
        f"WHEN {currency} IN ({', '.join(sql.literal(c) for c in codes)}) THEN {digits}"
        for digits, codes in sorted(by_digits.items(), key=lambda p: (p[0] == 2, p[0]))
        if digits
    )
    return f"(CASE {whens} ELSE 0 END)"


def _minor_unit_text(text: str, digits: str) -> str:
    """Exact amount text padded to at least the currency's minor-unit digits ("1.5" USD ->
    "1.50", "100" -> "100.00"; "5681.944" stays), as the exception store keeps amounts."""
    frac = f"(CASE WHEN contains({text}, '.') THEN length({text}) - strpos({text}, '.') ELSE 0 END)"
    pad = f"(coalesce({digits}, 0) - {frac})"
    dotted = f"(CASE WHEN contains({text}, '.') THEN {text} ELSE {text} || '.' END)"
    return f"(CASE WHEN {pad} > 0 THEN {dotted} || repeat('0', {pad}) ELSE {text} END)"


def _object(pairs: list[tuple[str, str]]) -> str:
    """JSON object text of (name, SQL value) pairs; '{}' when there are none."""
    if not pairs:
        return "'{}'"
    return (
        "CAST(json_object("
        + ", ".join(f"{sql.literal(n)}, {v}" for n, v in pairs)
        + ") AS VARCHAR)"
    )


def _json_text(value: str) -> str:
    """SQL literal of ``value`` as JSON text (a string, escaped as JSON wants)."""
    return sql.literal(json.dumps(value, ensure_ascii=False))


def details_json_sql(d: ReconDefinition) -> str:
    """An exception's ``details`` (see ``ExceptionCandidate``) as JSON text, written by DuckDB:
    building 20k nested dicts in Python was most of a large run's time.

    The outer object is glued from JSON pieces: nesting ``json_object`` calls re-parses each
    inner object (a third of the exception query's time). Field names are JSON-escaped here;
    values go through ``json_object`` or are numbers, booleans and category names."""
    names = [c.name for c in d.compare]
    both = "(n_a IS NOT NULL AND n_b IS NOT NULL)"
    differing = ", ".join(
        f"CASE WHEN eq{i} THEN NULL ELSE {_json_text(n)} END" for i, n in enumerate(names)
    )
    deltas = ", ".join(
        f"CASE WHEN td{i} <> '' THEN {sql.literal(json.dumps(n, ensure_ascii=False) + ':')} "
        f"|| '\"' || td{i} || '\"' END"
        for i, n in enumerate(names)
    )
    side_a = _object([(n, f"ta{i}") for i, n in enumerate(names)])
    side_b = _object([(n, f"tb{i}") for i, n in enumerate(names)])
    context = _object([(x.name, f"tx{i}") for i, x in enumerate(d.context)])
    rule = "keys:" + "+".join(k.name for k in d.keys)
    parts = [
        """'{"base_category":"'""", "_cat", """'","is_exclusive_a":'""",
        "CASE WHEN n_a IS NOT NULL AND n_b IS NULL THEN 'true' ELSE 'false' END",
        """',"is_exclusive_b":'""",
        "CASE WHEN n_b IS NOT NULL AND n_a IS NULL THEN 'true' ELSE 'false' END",
        """',"diff_columns":['""",
        f"CASE WHEN {both} THEN concat_ws(',', {differing}) ELSE '' END" if names else "''",
        """'],"a":'""", f"CASE WHEN n_a IS NOT NULL THEN {side_a} ELSE '{{}}' END",
        """',"b":'""", f"CASE WHEN n_b IS NOT NULL THEN {side_b} ELSE '{{}}' END",
        """',"delta":{'""",
        f"CASE WHEN {both} THEN concat_ws(',', {deltas}) ELSE '' END" if names else "''",
        """'},"rows":{"a":'""", "CAST(coalesce(n_a, 0) AS VARCHAR)", """',"b":'""",
        "CAST(coalesce(n_b, 0) AS VARCHAR)", """'},"lines":{"a":'""",
        "coalesce(CAST(line_a AS VARCHAR), 'null')", """',"b":'""",
        "coalesce(CAST(line_b AS VARCHAR), 'null')", """'},"context":'""", context,
        sql.literal(
            f',"match_rule":{json.dumps(rule, ensure_ascii=False)}'
            f',"rule_version":{json.dumps(d.version, ensure_ascii=False)}}}'
        ),
    ]  # fmt: skip
    return f"concat({', '.join(parts)})"
