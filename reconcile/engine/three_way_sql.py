"""Generated SQL of the three-sided engine: per-side grouping (many-to-one), one join of the
three sides on the normalised keys that keeps only keys not exactly equal on all sides,
classification with every pair's tolerance checks and deltas, and the exception rows.

Column aliases: keys ``k0..``; per side ``n_<s>`` (rows), ``line_<s>``, raw compared values
``<s>_r0..``, typed ``<s>_v0..``, context ``<s>_x0..`` (typed ``<s>_t0..``); per pair
``e_<pq><i>`` (equal within tolerance; NULL when a side of the pair is absent) and
``d_<pq><i>`` (delta p − q).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.definitions import CompareSpec, ReconDefinition
from reconcile.engine import sql

SIDES = ("a", "b", "c")
#: compared pairs, earlier side first: deltas are p − q and pct tolerances are of |q|
PAIRS = (("a", "b"), ("a", "c"), ("b", "c"))
MISMATCH_KINDS = (
    ("AMOUNT_MISMATCH", ("amount",)),
    ("DATE_MISMATCH", ("date",)),
    ("STATUS_MISMATCH", ("status",)),
)


def pair_name(p: str, q: str) -> str:
    """How details name a pair: ``"a-b"`` (its deltas are a − b)."""
    return f"{p}-{q}"


def typed_value(spec: CompareSpec, expr: str, source_type: str) -> str:
    """The typed value of a compared field (plain numbers take ``value_expr``'s fast path)."""
    return sql.value_expr(spec, expr, source_type, spec.kind)


@dataclass(frozen=True)
class Layout:
    """Types per side for one definition; casts raw values into typed ones."""

    definition: ReconDefinition
    #: side -> source column -> DuckDB type name
    types: dict[str, dict[str, str]]

    def source_type(self, side: str, column: str) -> str:
        """``AGG`` for an aggregated side: its grouped values are already typed."""
        if getattr(self.definition, side).aggregate:
            return "AGG"
        return self.types[side][column]

    def cast(self, side: str, i: int, expr: str) -> str:
        c = self.definition.compare[i]
        return typed_value(c, expr, self.source_type(side, c.col(side)))

    def raw_cast(self, side: str, i: int, expr: str) -> str:
        """Typed value from a side's source column (before any aggregation)."""
        c = self.definition.compare[i]
        return typed_value(c, expr, self.types[side][c.col(side)])

    def context(self, side: str, i: int, expr: str) -> str:
        x = self.definition.context[i]
        return sql.value_expr(None, expr, self.source_type(side, x.col(side)), "text")

    def raw_context(self, side: str, i: int, expr: str) -> str:
        x = self.definition.context[i]
        return sql.value_expr(None, expr, self.types[side][x.col(side)], "text")

    def same_type(self, i: int) -> bool:
        """All three raw values can be compared as they are (a cheap exact prefilter)."""
        c = self.definition.compare[i]
        found = {self.source_type(s, c.col(s)) for s in SIDES}
        return len(found) == 1 and "AGG" not in found

    @property
    def keys(self) -> list[str]:
        return [f"k{i}" for i in range(len(self.definition.keys))]

    def currency_sql(self) -> str | None:
        """The row's currency: a key, or the first side's compared or context value."""
        d = self.definition
        name = d.currency_field
        for i, k in enumerate(d.keys):
            if k.name == name:
                return f"k{i}"
        for i, c in enumerate(d.compare):
            if c.name == name:
                return f"coalesce(a_v{i}, b_v{i}, c_v{i})"
        for i, x in enumerate(d.context):
            if x.name == name:
                return f"coalesce(a_t{i}, b_t{i}, c_t{i})"
        return None


def grouped_sql(layout: Layout, side: str, exclude_dups: bool) -> str:
    """One row per key of a side: as it is, or summed (many-to-one) when aggregated."""
    d = layout.definition
    keys = ", ".join(layout.keys)
    source = f"n_{side}"
    if exclude_dups:
        source = f"(SELECT * FROM n_{side} ANTI JOIN _dk USING ({keys}))"
    if not getattr(d, side).aggregate:
        return f"SELECT *, 1 AS _n FROM {source}"
    aggs = [
        f"{sql.aggregate_fn(c)}({layout.raw_cast(side, i, f'r{i}')}) AS r{i}"
        for i, c in enumerate(d.compare)
    ]
    aggs += [f"min(x{i}) AS x{i}" for i in range(len(d.context))]
    return (
        f"SELECT {keys}, {', '.join([*aggs, sql.GROUP_LINES, 'count(*) AS _n'])} "
        f"FROM {source} GROUP BY {keys}"
    )


def join_sql(layout: Layout, exclude_dups: bool) -> str:
    """Every key of the three sides, keeping those not exactly equal everywhere.

    The exact test is on raw values when all sides share a type (false positives only: they
    are classified MATCHED later), otherwise on typed values.
    """
    d = layout.definition
    ks = layout.keys
    # a key blank in every part matches nothing; one with some parts blank matches them
    on_ab = " AND ".join([*(f"a.{k} = b.{k}" for k in ks), *sql.key_present(list(ks), 0, "a")])
    on_c = " AND ".join(
        [*(f"coalesce(a.{k}, b.{k}) = c.{k}" for k in ks), *sql.key_present(list(ks), 0, "c")]
    )
    cols = [f"coalesce(a.{k}, b.{k}, c.{k}) AS {k}" for k in ks]
    cols += [f"{s}._n AS n_{s}" for s in SIDES] + [f"{s}._line AS line_{s}" for s in SIDES]
    aliases = [*(f"r{i}" for i in range(len(d.compare))), *(f"x{i}" for i in range(len(d.context)))]
    cols += [f"{s}.{alias} AS {s}_{alias}" for alias in aliases for s in SIDES]
    exact = []
    for i in range(len(d.compare)):
        if layout.same_type(i):
            a, b, c = (f"{s}.r{i}" for s in SIDES)
        else:
            a, b, c = (layout.cast(s, i, f"{s}.r{i}") for s in SIDES)
        exact.append(f"{a} IS NOT DISTINCT FROM {b} AND {a} IS NOT DISTINCT FROM {c}")
    absent = " OR ".join(f"{s}._n IS NULL" for s in SIDES)
    many = "".join(f" OR {s}._n > 1" for s in SIDES if getattr(d, s).aggregate)
    sources = {s: f"({grouped_sql(layout, s, exclude_dups)}) {s}" for s in SIDES}
    return (
        f"SELECT {', '.join(cols)} FROM {sources['a']} FULL OUTER JOIN {sources['b']} ON {on_ab} "
        f"FULL OUTER JOIN {sources['c']} ON {on_c} "
        f"WHERE {absent} OR NOT ({' AND '.join(exact) or 'TRUE'}){many}"
    )


def _pair_checks(spec: CompareSpec, i: int, ccy: str | None) -> list[str]:
    out = []
    for p, q in PAIRS:
        both = f"n_{p} IS NOT NULL AND n_{q} IS NOT NULL"
        eq = sql.equal_expr(spec, f"{p}_v{i}", f"{q}_v{i}", ccy)
        delta = sql.delta_expr(spec, f"{p}_v{i}", f"{q}_v{i}") or "NULL"
        out += [f"CASE WHEN {both} THEN {eq} END AS e_{p}{q}{i}", f"{delta} AS d_{p}{q}{i}"]
    return out


def classify_sql(layout: Layout, flagged: str) -> str:
    """Typed values, every pair's tolerance check and delta, and the base category."""
    d = layout.definition
    n = len(d.compare)
    ccy = layout.currency_sql()

    def all_eq(kinds: tuple[str, ...] | None) -> str:
        picked = [
            f"e_{p}{q}{i}"
            for i, c in enumerate(d.compare)
            if kinds is None or c.kind in kinds
            for p, q in PAIRS
        ]
        return " AND ".join(picked) or "TRUE"

    only = " ".join(
        f"WHEN n_{s} IS NOT NULL AND n_{o1} IS NULL AND n_{o2} IS NULL THEN 'ONLY_IN_{s.upper()}'"
        for s, o1, o2 in (("a", "b", "c"), ("b", "a", "c"), ("c", "a", "b"))
    )
    missing = " ".join(f"WHEN n_{s} IS NULL THEN 'MISSING_IN_{s.upper()}'" for s in SIDES)
    # a group "does not add up" when a summed field of it differs from both other sides;
    # one that agrees with a side leaves the odd side's mismatch to be named instead
    summed = [i for i, c in enumerate(d.compare) if sql.aggregate_fn(c) == "sum"]

    def off(s: str, i: int) -> str:
        pairs = [p + q for p, q in PAIRS if s in (p, q)]
        return "(" + " AND ".join(f"NOT e_{pair}{i}" for pair in pairs) + ")"

    many = (
        " OR ".join(f"(n_{s} > 1 AND ({' OR '.join(off(s, i) for i in summed)}))" for s in SIDES)
        if summed
        else "FALSE"
    )
    kinds = " ".join(f"WHEN NOT ({all_eq(k)}) THEN '{name}'" for name, k in MISMATCH_KINDS)
    category = (
        f"CASE {only} {missing} WHEN {all_eq(None)} THEN 'MATCHED' "
        f"WHEN {many} THEN 'MANY_TO_ONE' {kinds} ELSE 'FIELD_MISMATCH' END"
    )
    exact = (
        " AND ".join(
            f"a_v{i} IS NOT DISTINCT FROM b_v{i} AND a_v{i} IS NOT DISTINCT FROM c_v{i}"
            for i in range(n)
        )
        or "TRUE"
    )
    checks = [part for i, c in enumerate(d.compare) for part in _pair_checks(c, i, ccy)]
    typed = ", ".join(
        ["*"]
        + [f"{layout.cast(s, i, f'{s}_r{i}')} AS {s}_v{i}" for i in range(n) for s in SIDES]
        + [
            f"{layout.context(s, i, f'{s}_x{i}')} AS {s}_t{i}"
            for i in range(len(d.context))
            for s in SIDES
        ]
    )
    checked = ", ".join(["*", f"({exact}) AS _exact", *checks])
    return (
        f"SELECT *, {category} AS _cat FROM (SELECT {checked} "
        f"FROM (SELECT {typed} FROM ({flagged})))"
    )


def fmt(expr: str, kind: str) -> str:
    """Exact text of a value: decimals without padding zeros (DECIMAL(38,10) has a point)."""
    if kind in sql.NUMERIC_KINDS:
        return f"rtrim(rtrim(CAST({expr} AS VARCHAR), '0'), '.')"
    return f"CAST({expr} AS VARCHAR)"


def exceptions_sql(layout: Layout) -> str:
    """Exception rows: keys, presence, value and delta text, currency and severity amount."""
    d = layout.definition
    cols = [*layout.keys, *(f"n_{s}" for s in SIDES), *(f"line_{s}" for s in SIDES), "_cat"]
    for i, c in enumerate(d.compare):
        cols += [f"{fmt(f'{s}_v{i}', c.kind)} AS t{s}{i}" for s in SIDES]
        for p, q in PAIRS:
            # date deltas are whole days (an integer, no padding to trim)
            delta = (
                f"CAST(d_{p}{q}{i} AS VARCHAR)" if c.kind == "date" else fmt(f"d_{p}{q}{i}", c.kind)
            )
            cols += [f"e_{p}{q}{i}", f"CASE WHEN d_{p}{q}{i} <> 0 THEN {delta} END AS td_{p}{q}{i}"]
    cols += [f"coalesce(a_t{i}, b_t{i}, c_t{i}) AS tx{i}" for i in range(len(d.context))]
    ccy = layout.currency_sql()
    cols.append(f"upper({ccy}) AS _ccy" if ccy else "NULL AS _ccy")
    amount = "NULL"
    for i, c in enumerate(d.compare):
        if c.name == d.amount_field:
            # on all three sides: the largest gap of a disagreeing pair; else the value
            gaps = ", ".join(
                f"CASE WHEN NOT e_{p}{q}{i} THEN abs(d_{p}{q}{i}) END" for p, q in PAIRS
            )
            value = f"abs(coalesce(a_v{i}, b_v{i}, c_v{i}))"
            everywhere = " AND ".join(f"n_{s} IS NOT NULL" for s in SIDES)
            amount = (
                f"CASE WHEN {everywhere} THEN coalesce(greatest({gaps}), {value}) ELSE {value} END"
            )
    cols.append(f"{amount} AS _amt")
    return f"SELECT {', '.join(cols)} FROM _cls WHERE _cat <> 'MATCHED'"


def summary_sql(layout: Layout) -> str:
    """Counts over the classified rows (exact matches never reach them and add nothing)."""
    d = layout.definition
    parts = [
        "count(*) FILTER (WHERE _cat = 'MATCHED' AND NOT _exact)",
        "count(*) FILTER (WHERE _cat = 'MATCHED' AND ("
        + " OR ".join(f"n_{s} > 1" for s in SIDES)
        + "))",
    ]
    for i, c in enumerate(d.compare):
        for p, q in PAIRS:
            parts.append(f"count(*) FILTER (WHERE NOT e_{p}{q}{i})")
            measurable = c.kind in (*sql.NUMERIC_KINDS, "date")
            both = f"n_{p} IS NOT NULL AND n_{q} IS NOT NULL"
            parts.append(f"max(abs(d_{p}{q}{i})) FILTER (WHERE {both})" if measurable else "NULL")
            parts.append(
                f"count(*) FILTER (WHERE {both} AND (({p}_v{i} IS NULL) <> ({q}_v{i} IS NULL)))"
            )
        parts.append(
            "count(*) FILTER (WHERE " + " OR ".join(f"NOT e_{p}{q}{i}" for p, q in PAIRS) + ")"
        )
    return f"SELECT {', '.join(parts)} FROM _cls"
