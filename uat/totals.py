"""Every key of both systems with its row count and summed amounts, re-joined from the
prepared sides (codes translated, keys normalised as the engine does).

The engine's exceptions show one row per side of a duplicate key and never the pairs it
found equal within a field's tolerance, so gates on amounts ("every open item over 10k
matches to the cent", "the trial balance ties") and on counts read this instead. It costs
one GROUP BY per side and a join, so it is built once per entity and only when an
expectation, or the amount at risk of a duplicate key, asks for it; over the exceptions'
keys alone (``only``) when nothing else can fail (``expectations.entity_totals``).

Columns of ``Totals.table``: ``k0..`` the key texts; ``na``/``nb`` the rows per side (NULL:
the key is not on that side); per amount field ``j``: ``sa<j>``/``sb<j>`` the sums (exact
DECIMAL), ``ma<j>``/``mb<j>`` the largest |row|, ``dg<j>`` the most fraction digits its
source texts show; per text field ``j``: ``ta<j>``/``tb<j>`` its smallest value and
``la<j>``/``lb<j>`` its distinct values.

``Totals.parts``: the keys whose ``split`` fields (a ``ties`` grouping) take several values
on a side, that side's rows summed per (key, values): ``side`` (a/b), ``k0..``, ``p<m>``
per split field, ``s<j>`` per amount. Built only when such a key exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from reconcile.definitions import FieldRef, ReconDefinition
from reconcile.engine import Side, sql
from reconcile.engine.plan import Plan, minor_digits_sql
from reconcile.engine.prepare import (
    INTEGER_TYPES,
    arrow_table,
    check_columns,
    database,
    normalised_view,
    source_types,
)
from reconcile.engine.sides import register_side
from uat.entities import PreparedEntity
from uat.sqltext import strip_sql
from uat.translate import Merge

SIDES = (("legacy", "a"), ("new", "b"))
#: digits after the point of a number's source text ("1,200.50" -> 2, "(12.50)" -> 2)
DIGITS = "length(regexp_extract(CAST({} AS VARCHAR), '\\.([0-9]+)', 1))"


@dataclass(frozen=True)
class Totals:
    keys: tuple[str, ...]
    amounts: tuple[str, ...]
    texts: tuple[str, ...]
    #: the kind sums its rows per key (a key on several rows is no duplicate)
    aggregate: bool
    #: the kind's currency field (None: it has none)
    currency: str | None
    table: pa.Table
    #: the text fields whose distinct values per key are in the table (``has``)
    listed: frozenset[str] = frozenset()
    #: the fields ``parts`` is grouped by (``p<m>``)
    split: tuple[str, ...] = ()
    #: per side the keys whose split fields vary there, summed per their values (as ``p``)
    parts: pa.Table | None = None

    def query(self, sql_text: str) -> list[tuple[Any, ...]]:
        """Run ``sql_text`` with the table as ``t`` (and ``parts`` as ``p``)."""
        con = database().cursor()
        try:
            con.register("t", self.table)
            if self.parts is not None:
                con.register("p", self.parts)
            return con.execute(sql_text).fetchall()
        finally:
            con.close()

    def key(self, name: str) -> str | None:
        return f"k{self.keys.index(name)}" if name in self.keys else None

    def total(self, side: str, name: str) -> str:
        """The sum of ``name`` over the key's rows on ``side`` (a/b); 0 when absent."""
        return f"coalesce(s{side}{self.amounts.index(name)}, 0)"

    def largest(self, name: str) -> str:
        """The largest |amount| of the key: its sums and, unless summed, any single row."""
        j = self.amounts.index(name)
        terms = [f"abs(coalesce(s{s}{j}, 0))" for s in "ab"]
        if not self.aggregate:
            terms += [f"coalesce(m{s}{j}, 0)" for s in "ab"]
        return f"greatest({', '.join(terms)})"

    def text(self, side: str, name: str) -> str:
        """A field's value on ``side``: the key's own, else the smallest of its rows'."""
        return self.key(name) or f"t{side}{self.texts.index(name)}"

    def has(self, name: str, want: str) -> str:
        """The key, or a row of either side, has ``want`` as ``name``."""
        key = self.key(name)
        if name == self.currency:  # a currency code in any case (the texts are upper case)
            want = want.upper()
            key = None if key is None else f"upper({key})"
        if key is not None:
            return f"coalesce({key} = {sql.literal(want)}, false)"
        j = self.texts.index(name)
        if name not in self.listed:  # not asked for as a filter: its smallest value
            return " OR ".join(f"coalesce(t{s}{j} = {sql.literal(want)}, false)" for s in "ab")
        return " OR ".join(
            f"coalesce(list_contains(l{s}{j}, {sql.literal(want)}), false)" for s in "ab"
        )

    def several(self) -> str:
        """The key is on several rows of a side (a duplicate; never for a summed kind)."""
        return "FALSE" if self.aggregate else "(coalesce(na, 0) > 1 OR coalesce(nb, 0) > 1)"

    def unpaired(self) -> str:
        """The key is not one record on each side: on one side only, or a duplicate."""
        return f"(na IS NULL OR nb IS NULL OR {self.several()})"

    def currency_differs(self) -> str:
        """Both sides name a currency and not the same one (amounts then never subtract)."""
        if self.currency is None or self.currency in self.keys:
            return "FALSE"
        a, b = (f"upper({self.text(s, self.currency)})" for s in "ab")
        return f"coalesce({a} <> {b}, false)"

    def minor_digits(self) -> str:
        """Minor-unit digits of the key's currency (legacy first; 0 without one)."""
        if self.currency is None:
            return "0"
        code = f"upper(coalesce({self.text('a', self.currency)}, {self.text('b', self.currency)}))"
        return minor_digits_sql(code)

    def key_text(self) -> str:
        """ "name=value, ..." as the reports show a record."""
        parts = [f"{sql.literal(k + '=')} || k{i}" for i, k in enumerate(self.keys)]
        return " || ', ' || ".join(parts) or "''"


def _definition(entity: PreparedEntity, texts: Sequence[str]) -> ReconDefinition:
    """The entity's definition with its non-compared ``texts`` as context, so the engine's
    own normalised views (keys, raw values) carry them."""
    kept = entity.definition.context  # the currency carried as context stays where it is
    known = {*entity.spec.compared(), *(x.name for x in kept)}
    context = [
        *kept,
        *(
            FieldRef(
                name=name,
                a=entity.source_column("legacy", name),
                b=entity.source_column("new", name),
            )
            for name in texts
            if name not in known
        ),
    ]
    return entity.definition.model_copy(update={"context": tuple(context)})


def _source(con: Any, ab: str, data: Side, d: ReconDefinition) -> dict[str, str]:
    """Register ``data`` as ``src_<ab>``; a context column it lacks reads as NULL (a filter
    field on one system only). Returns the column types."""
    register_side(con, f"raw_{ab}", data)
    types = source_types(data)
    missing = [x.col(ab) for x in d.context if x.col(ab) not in types]
    nulls = "".join(f", CAST(NULL AS VARCHAR) AS {sql.ident(c)}" for c in missing)
    con.execute(f"CREATE TEMP VIEW src_{ab} AS SELECT *{nulls} FROM raw_{ab}")
    return {**types, **dict.fromkeys(missing, "VARCHAR")}


def _text_value(
    d: ReconDefinition, ab: str, name: str, types: dict[str, str], currency: str | None = None
) -> str:
    """A text field of ``n_<ab>`` as the engine reads it: compared text as compared
    (trimmed, casefolded as declared), anything else as trimmed text; the ``currency``
    field upper-cased (a code in any case is that currency, shown as ISO writes it)."""
    if name == currency:
        return f"upper({_text_value(d, ab, name, types)})"
    for i, c in enumerate(d.compare):
        if c.name == name:
            if c.kind in ("text", "status"):
                return sql.value_expr(c, f"r{i}", types[c.col(ab)], c.kind)
            return f"NULLIF(trim(CAST(r{i} AS VARCHAR)), '')"
    i = [x.name for x in d.context].index(name)
    return sql.value_expr(None, f"x{i}", types[d.context[i].col(ab)], "text")


def _digits(raw: str, source_type: str) -> str:
    """Fraction digits of a number as its source writes it: a decimal type's scale, none
    for an integer, else (text, floats) counted in its text."""
    found = re.fullmatch(r"decimal\d*\(\d+, *(\d+)\)", source_type)
    if found:
        return found.group(1)
    if source_type in INTEGER_TYPES:
        return "0"
    return DIGITS.format(raw)


def _side_sql(
    d: ReconDefinition,
    ab: str,
    types: dict[str, str],
    fields: tuple[Sequence[str], Sequence[str]],
    only: bool,
    listed: frozenset[str] = frozenset(),
    unique: bool = False,
) -> str:
    """One side of ``n_<ab>`` grouped per key: rows, sums, largest row, digits, texts
    (and the distinct values of those in ``listed``)."""
    amounts, texts = fields
    keys = [f"k{i}" for i in range(len(d.keys))]
    aggs = ["count(*) AS n"]
    for j in range(len(amounts)):
        aggs += [f"sum(v{j}) AS s{j}", f"max(abs(v{j})) AS m{j}", f"max(e{j}) AS e{j}"]
    for j, name in enumerate(texts):
        aggs.append(f"min(t{j}) AS t{j}")
        if name in listed:
            # a list per key costs a million-key side most of a second: only for the
            # fields an expectation filters or groups on
            aggs.append(f"list(DISTINCT t{j}) FILTER (WHERE t{j} IS NOT NULL) AS l{j}")
    rows = _rows_sql(d, ab, types, fields, only)
    if unique:
        # every key on one row (the engine proved it): each row is its key's group
        return f"SELECT {', '.join(keys + [_single(a) for a in aggs])} FROM ({rows})"
    return f"SELECT {', '.join(keys + aggs)} FROM ({rows}) GROUP BY ALL"


def _rows_sql(
    d: ReconDefinition,
    ab: str,
    types: dict[str, str],
    fields: tuple[Sequence[str], Sequence[str]],
    only: bool,
) -> str:
    """The rows of ``n_<ab>``: keys, per amount its value ``v<j>`` and digits ``e<j>``, per
    text its value ``t<j>`` (``only``: the keys in ``keys_wanted``)."""
    amounts, texts = fields
    keys = [f"k{i}" for i in range(len(d.keys))]
    cols = list(keys)
    index = {c.name: i for i, c in enumerate(d.compare)}
    for j, name in enumerate(amounts):
        c = d.compare[index[name]]  # the spec checks amounts are compared
        raw = f"r{index[name]}"
        cols += [
            f"{sql.value_expr(c, raw, types[c.col(ab)], c.kind)} AS v{j}",
            f"{_digits(raw, types[c.col(ab)])} AS e{j}",
        ]
    for j, name in enumerate(texts):
        cols.append(f"{_text_value(d, ab, name, types, d.currency_field)} AS t{j}")
    rows = f"SELECT {', '.join(cols)} FROM n_{ab}"
    if only:
        rows = f"SELECT * FROM ({rows}) SEMI JOIN keys_wanted USING ({', '.join(keys)})"
    return rows


def _parts(
    con: Any,
    table: pa.Table,
    d: ReconDefinition,
    types: dict[str, dict[str, str]],
    fields: tuple[Sequence[str], Sequence[str]],
    split: Sequence[str],
    only: bool,
) -> pa.Table | None:
    """Per side the keys whose ``split`` fields take several values there (read from the
    distinct-value lists the table already holds), that side's rows summed per (key,
    values); None when no key varies (the usual case: no second pass over the rows)."""
    amounts, texts = fields
    keys = [f"k{i}" for i in range(len(d.keys))]
    js = [texts.index(f) for f in split]
    if not js:
        return None
    out = []
    for _, ab in SIDES:
        varies = " OR ".join(f"coalesce(len(l{ab}{j}), 0) > 1" for j in js)
        con.register("t_all", table)
        wanted = arrow_table(con, f"SELECT {', '.join(keys)} FROM t_all WHERE {varies}")
        if not wanted.num_rows:
            continue
        con.register(f"vary_{ab}", wanted)
        rows = _rows_sql(d, ab, types[ab], fields, only)
        cols = [*keys, *(f"t{j} AS p{m}" for m, j in enumerate(js))]
        sums = [f"sum(v{j}) AS s{j}" for j in range(len(amounts))]
        out.append(
            arrow_table(
                con,
                f"SELECT {sql.literal(ab)} AS side, {', '.join(cols + sums)} FROM ({rows}) "
                f"SEMI JOIN vary_{ab} USING ({', '.join(keys)}) GROUP BY ALL",
            )
        )
    return pa.concat_tables(out) if out else None


def _single(aggregate: str) -> str:
    """An aggregate over a group of one row, as a plain expression of that row."""
    expr, _, name = aggregate.rpartition(" AS ")
    if expr == "count(*)":
        return f"CAST(1 AS BIGINT) AS {name}"
    if expr.startswith("list(DISTINCT "):
        value = expr.removeprefix("list(DISTINCT ").split(")", 1)[0]
        return f"CASE WHEN {value} IS NOT NULL THEN [{value}] ELSE [] END AS {name}"
    inner = expr[expr.index("(") + 1 : expr.rindex(")")]
    return f"{inner} AS {name}"


def _joined_sql(
    d: ReconDefinition,
    types: dict[str, dict[str, str]],
    fields: tuple[Sequence[str], Sequence[str]],
    only: bool,
    listed: frozenset[str] = frozenset(),
    unique: bool = False,
) -> str:
    amounts, texts = fields
    n = len(d.keys)
    cols = [f"coalesce(a.k{i}, b.k{i}) AS k{i}" for i in range(n)] + ["a.n AS na", "b.n AS nb"]
    for j in range(len(amounts)):
        cols += [f"{s}.s{j} AS s{s}{j}" for s in "ab"] + [f"{s}.m{j} AS m{s}{j}" for s in "ab"]
        cols.append(f"greatest(a.e{j}, b.e{j}) AS dg{j}")
    for j, name in enumerate(texts):
        cols += [f"{s}.t{j} AS t{s}{j}" for s in "ab"]
        if name in listed:
            cols += [f"{s}.l{j} AS l{s}{j}" for s in "ab"]
    legacy, new = (_side_sql(d, ab, types[ab], fields, only, listed, unique) for _, ab in SIDES)
    # the engine's join condition (a blank key pairs with nothing)
    on = Plan(d, types).join_on("a", "b")
    return f"SELECT {', '.join(cols)} FROM ({legacy}) a FULL OUTER JOIN ({new}) b ON {on}"


def _used_translations(
    data: Side, d: ReconDefinition, ab: str, amounts: Sequence[str], texts: Sequence[str]
) -> Side:
    """``data`` translating only the columns the totals read (keys, their amounts and
    texts): each code table is a join over the whole side (a fifth of the totals' time
    for two unused ones on a million rows)."""
    used = {k.col(ab) for k in d.keys}
    used |= {c.col(ab) for c in d.compare if c.name in (*amounts, *texts)}
    used |= {x.col(ab) for x in d.context if x.name in texts}
    kept = tuple(t for t in data.translations if t[0] in used)
    return data if kept == data.translations else replace(data, translations=kept)


def key_totals(
    entity: PreparedEntity,
    amounts: Sequence[str] = (),
    texts: Sequence[str] = (),
    only: pa.Table | None = None,
    *,
    unique: bool = False,
    split: Sequence[str] = (),
) -> Totals:
    """The keys of both sides with the sums of ``amounts`` (compared amount fields) and the
    values of ``texts`` (non-key fields); ``only``: just these keys (columns ``k0..``).
    ``split`` (of ``texts``): fields a key's rows may disagree on (a ``ties`` grouping);
    a key whose rows do is also summed per their values (``Totals.parts``).
    ``unique``: the engine found no key twice on a side, so no side is grouped (a row is
    its key's group; grouping a million keys per side was most of the cost).
    Keys are the engine's (``normalised_view``, trimmed wide as its slow path does)."""
    currency = entity.kind.currency_field
    currency = currency if currency in entity.kind.columns else None
    # the fields asked for may be filtered on (``has``): their values are listed per key
    listed = frozenset(texts)
    texts = list(dict.fromkeys([*texts, *([currency] if currency else [])]))
    texts = [t for t in texts if t not in entity.kind.keys]
    d = _definition(entity, texts)
    con = database().cursor()  # own temp schema
    try:
        types = {}
        for side, ab in SIDES:
            # an empty side gets the columns it lacks as nulls, as the engine gives them
            data = _used_translations(
                check_columns(entity.definition, ab, entity.side(side)), d, ab, amounts, texts
            )
            types[ab] = _source(con, ab, data, d)
            normalised_view(con, d, ab, frozenset(), data, wide=True)
        if only is not None:
            con.register("keys_wanted", only)
        unique = unique and not entity.kind.aggregate
        joined = _joined_sql(d, types, (amounts, texts), only is not None, listed, unique)
        table = arrow_table(con, joined)
        # a key on one row per side cannot vary; a grouped side lists the split values
        split = [f for f in split if f in texts] if not unique else []
        parts = _parts(con, table, d, types, (amounts, texts), split, only is not None)
    finally:
        con.close()
    return Totals(
        keys=entity.kind.keys,
        amounts=tuple(amounts),
        texts=tuple(texts),
        aggregate=entity.kind.aggregate,
        currency=currency,
        table=table,
        listed=listed,
        split=tuple(split),
        parts=parts,
    )


def merged_keys(entity: PreparedEntity, merges: Sequence[Merge], keys: pa.Table) -> pa.Table:
    """Of ``keys`` (columns ``k0..``: keys repeated on a side after translation), those
    whose legacy rows carry two or more different legacy codes that a translation table
    merges into the key's code (``field``, ``k0..``): a consolidation, not a double
    booking. A key repeated with one legacy code (``ABO-1, A-100`` booked twice) is not
    listed, even when the table merges that code with another one elsewhere.

    The legacy side is read with the merged field untranslated (its code as written, plus
    the engine's key normalisation of the other keys), each code looked up as the engine
    does (stripped, the case aliases the translation added)."""
    d = entity.definition
    names = [k.name for k in d.keys]
    out: list[pa.Table] = []
    for merge in merges:
        if merge.field not in names or not merge.all_codes:
            continue
        jf = names.index(merge.field)
        column = d.keys[jf].col("a")
        legacy = check_columns(d, "a", entity.legacy)
        tables = [t for c, t in legacy.translations if c == column]
        if not tables:
            continue
        plain = replace(
            legacy, translations=tuple(t for t in legacy.translations if t[0] != column)
        )
        orig = FieldRef(name="__original_code", a=column, b=d.keys[jf].col("b"))
        dd = d.model_copy(update={"context": (orig, *d.context)})  # x0: the code
        codes = _merge_codes(pa.concat_tables(tables), merge.all_codes)
        con = database().cursor()
        try:
            types = _source(con, "a", plain, dd)
            normalised_view(con, dd, "a", frozenset(), plain, wide=True)
            con.register("merge_codes", codes)
            con.register("keys_wanted", keys.select([f"k{j}" for j in range(len(names))]))
            ks = [f"m.new AS k{j}" if j == jf else f"n.k{j}" for j in range(len(names))]
            code = strip_sql(sql.key_text("x0", types.get(column), table="n"))  # 1200.0: 1200
            found = arrow_table(
                con,
                f"SELECT {sql.literal(merge.field)} AS field, * FROM (SELECT {', '.join(ks)} "
                f"FROM n_a n JOIN merge_codes m ON m.code = {code} GROUP BY ALL "
                f"HAVING count(DISTINCT m.canon) > 1) "
                f"SEMI JOIN keys_wanted USING ({', '.join(f'k{j}' for j in range(len(names)))})",
            )
        finally:
            con.close()
        out.append(found)
    if not out:
        schema = [("field", pa.string()), *((f"k{j}", pa.string()) for j in range(len(names)))]
        return pa.table({n: pa.array([], t) for n, t in schema})
    return pa.concat_tables(out, promote_options="permissive")


def _merge_codes(table: pa.Table, merged: Mapping[str, tuple[str, ...]]) -> pa.Table:
    """(code as the data has it, the table's legacy code it stands for, new code) of the
    codes ``table`` (old -> new, with any case aliases) translates into a merged code."""
    wanted = table.filter(pc.is_in(table.column("new"), pa.array(list(merged), pa.string())))
    rows = []
    for code, new in zip(
        wanted.column("old").to_pylist(), wanted.column("new").to_pylist(), strict=True
    ):
        olds = merged[new]
        canon = code if code in olds else next((o for o in olds if o.lower() == code.lower()), code)
        rows.append((code, canon, new))
    return pa.table(
        {
            name: pa.array([r[i] for r in rows], pa.string())
            for i, name in enumerate(("code", "canon", "new"))
        }
    )
