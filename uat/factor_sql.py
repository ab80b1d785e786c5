"""The "scaled by a constant factor" rule when the results were rounded (``uat.cause_sql``).

A migration that converted amounts (×1.1 on unit prices, cents to units ÷100, a
redenomination ÷7.5345) writes new = round(old × f, minor unit): the ratios new/old scatter
around f, so no two need agree. A record fits f when |new − old × f| is at most half a
minor unit of its currency (of the new currency when the record's currency changed; half
the rounding step for a currency without known minor units; exact for quantities).

The factor is found from the records themselves, the large amounts deciding it:

1. each record eligible for the rule (a differing non-zero value on both sides that no
   earlier rule explains: untranslated code, rate change, rounding drift) names the
   shortest factor it fits: ×f or ÷g with the fewest decimal places (at most 6), × on a
   tie. A large amount fits only the true factor; a small one fits shorter ones too
   (10.00 -> 10.33 names ×1.033 where the migration used ×1.0325);
2. a factor named by at least max(min_group, 2) records is a candidate (the 20 most named);
3. each eligible record takes the candidate it fits that the most records fit (then the
   most named, the shortest): 10.00 -> 10.33 fits ×1.0325, which the large amounts named.

A factor nobody else names is no pattern; an odd record that does not fit is no part of
the group. Arithmetic is exact in HUGEINT: |new| × 10^16 (``rn``) and |old| × 10^10
(``rd``) from ``uat.cause_sql``, factors in millionths; amounts from 10^15 and factors from
10^6 on are left to the exact-ratio rule, so no product leaves the HUGEINT range.
"""

from __future__ import annotations

from decimal import Decimal

from canonical.currencies import MINOR_UNITS
from reconcile.engine.sql import literal
from uat.sqltext import decimal_sql, half_even_sql

#: factors are counted in millionths (6 places)
ONE = 1_000_000
#: amounts below this are tested (|old| × 10^10 × a factor below 10^12 stays in HUGEINT)
MAX_AMOUNT = Decimal(10) ** 15
#: factors (and divisors) below 10^6, in millionths
MAX_FACTOR = 10**12
#: candidate factors per field
CANDIDATES = 20
#: the factor's operation, in order of preference on a tie
TIMES, DIVIDED = 1, 2


def half_unit_sql(currency: str, fallback: Decimal) -> str:
    """Half a minor unit of ``currency`` (SQL text) × 10^10 as an integer; ``fallback``
    (× 10^10, truncated) for a blank or unknown code."""
    code = f"upper(trim({currency}))"
    by_digits: dict[int, list[str]] = {}
    for ccy, digits in sorted(MINOR_UNITS.items()):
        by_digits.setdefault(digits, []).append(ccy)
    whens = " ".join(
        f"WHEN {code} IN ({', '.join(map(literal, codes))}) THEN {5 * 10 ** (9 - digits)}"
        for digits, codes in sorted(by_digits.items())
    )
    return f"CAST(CASE {whens} ELSE {int(fallback.scaleb(10))} END AS HUGEINT)"


def half_unit_decimal_sql(currency: str, fallback: Decimal) -> str:
    """Half a minor unit of ``currency`` (SQL text) as an exact DECIMAL (EUR 0.005, JPY 0.5);
    ``fallback`` for a blank or unknown code."""
    code = f"upper(trim({currency}))"
    by_digits: dict[int, list[str]] = {}
    for ccy, digits in sorted(MINOR_UNITS.items()):
        by_digits.setdefault(digits, []).append(ccy)
    whens = " ".join(
        f"WHEN {code} IN ({', '.join(map(literal, codes))}) "
        f"THEN {decimal_sql(Decimal('0.5').scaleb(-digits))}"
        for digits, codes in sorted(by_digits.items())
    )
    return f"(CASE {whens} ELSE {decimal_sql(fallback)} END)"


def _fits(op: str, f: str, row: str = "") -> str:
    """Record ``row`` fits ``op`` (TIMES / DIVIDED) by ``f`` (signed millionths) within
    ``hu`` (half a unit × 10^10): |new − old × f| <= h, or |new − old ÷ g| <= h multiplied
    out as |new × g − old| <= h × g (``rn``: |new| × 10^16, ``bu``: × 10^10)."""
    an, bn, rn, bu, rd, hu = (f"{row}{c}" for c in ("an", "bn", "rn", "bu", "rd", "hu"))
    g = f"CAST(abs({f}) AS HUGEINT)"
    times = f"abs({rn} - {rd} * {g}) <= {hu} * {ONE}"
    divided = f"abs({bu} * {g} - {rd} * {ONE}) <= {hu} * {g}"
    return (
        f"(sign({an}) * sign({bn}) = sign({f}) AND "
        f"CASE {op} WHEN {TIMES} THEN {times} ELSE {divided} END)"
    )


def eligible(n: int, explained: list[str]) -> str:
    """SQL: the rule may name field ``n`` of the record (``explained``: the conditions of
    the earlier rules)."""
    limit = decimal_sql(MAX_AMOUNT)
    ok = [f"rn{n} IS NOT NULL", f"abs(an{n}) < {limit}", f"abs(bn{n}) < {limit}"]
    ok += [f"NOT coalesce({x}, false)" for x in explained]
    return " AND ".join(ok)


def factor_cte(fields: list[tuple[int, str]]) -> str:
    """CTE ``f``: per numeric field ``fld`` (``fields``: (n, half unit SQL over ``v``, 0 for
    exact)) the records it is eligible for (``e<n>`` of ``v``) that name a factor, with
    their half unit ``hu`` and the factor: ``op``, ``f`` (signed millionths), ``p`` (places).
    A record that names none fits none with at most 6 places either (nor ×1 or ×0, which
    are no factor).

    Only these few records pay for the arithmetic, all fields in one pass (a pipeline per
    field cost more than the work). Each record tries both operations at 0-6 places as
    rows: one expression in the SQL text, not fourteen (planning a long statement costs
    more than running it); ratios below 10^12 millionths round in BIGINT."""
    # a new value finer than the minor unit was not rounded to it: it must fit exactly
    rounded = "h > 0 AND bu % (2 * h) = 0"
    base = " UNION ALL ".join(
        f"SELECT {n} AS fld, i, an{n} AS an, bn{n} AS bn, rn{n} AS rn, rd{n} AS rd, "
        f"ru{n} AS ru, {half} AS h FROM v WHERE e{n}"
        for n, half in fields
    )
    rq = f"sign(an) * sign(bn) * {half_even_sql(f'rd * {ONE}', 'bu')}"
    records = (
        f"SELECT fld, i, an, bn, rn, bu, rd, "
        f"CASE WHEN {rounded} THEN h ELSE CAST(0 AS HUGEINT) END AS hu, "
        f"CASE WHEN abs(ru) < {MAX_FACTOR} THEN CAST(ru AS BIGINT) END AS xt, "
        f"CASE WHEN abs(rq) < {MAX_FACTOR} THEN CAST(rq AS BIGINT) END AS xd "
        f"FROM (SELECT *, {rq} AS rq FROM (SELECT *, rn // {ONE} AS bu FROM ({base})))"
    )
    steps = ", ".join(f"({p}, {10 ** (6 - p)})" for p in range(7))
    tries = (
        f"SELECT r.*, o.op, s.p, s.step, CASE o.op WHEN {TIMES} THEN xt ELSE xd END AS x "
        f"FROM r, (VALUES ({TIMES}), ({DIVIDED})) o(op), (VALUES {steps}) s(p, step)"
    )
    rounded_f = f"sign(x) * {half_even_sql('abs(x)', 'step')} * step"
    factors = f"SELECT *, {rounded_f} AS f FROM ({tries}) WHERE x IS NOT NULL"
    named = (
        f"SELECT fld, i, any_value(an) AS an, any_value(bn) AS bn, any_value(rn) AS rn, "
        f"any_value(bu) AS bu, any_value(rd) AS rd, any_value(hu) AS hu, "
        f"first(op ORDER BY p, op) AS op, first(f ORDER BY p, op) AS f, min(p) AS p "
        f"FROM ({factors}) WHERE f NOT IN (0, {ONE}) AND {_fits('op', 'f')} GROUP BY fld, i"
    )
    return f"f AS MATERIALIZED (WITH r AS ({records}) {named})"


def _label(op: str, f: str) -> str:
    """'×1.1', '÷100', '÷7.5345': the factor as a person writes it."""
    exact = f"CAST(CAST({f} AS DECIMAL(38,0)) * CAST('0.000001' AS DECIMAL(7,6)) AS VARCHAR)"
    text = f"rtrim(rtrim({exact}, '0'), '.')"
    return f"CASE {op} WHEN {TIMES} THEN '×' ELSE '÷' END || {text}"


def factor_join(fields: list[int], group: int) -> tuple[list[str], str]:
    """(columns ``fx<n>``, a join over ``v``): per field the label of the candidate factor
    the record fits that the most records fit; NULL when it fits none (reads ``f``)."""
    named = (
        f"SELECT fld, op, f, min(p) AS p, count(*) AS named FROM f GROUP BY 1, 2, 3 "
        f"HAVING count(*) >= {group}"
    )
    candidates = (
        f"SELECT * FROM ({named}) QUALIFY row_number() OVER "
        f"(PARTITION BY fld ORDER BY named DESC, p, op, f) <= {CANDIDATES}"
    )
    fitting = (
        f"SELECT r.fld, r.i, c.op, c.f, c.p, c.named, "
        f"count(*) OVER (PARTITION BY c.fld, c.op, c.f) AS fit FROM f r "
        f"JOIN ({candidates}) c ON c.fld = r.fld AND {_fits('c.op', 'c.f', 'r.')}"
    )
    picked = (
        f"SELECT fld, i, first({_label('op', 'f')} ORDER BY fit DESC, named DESC, p, op, f) "
        f"AS fx FROM ({fitting}) GROUP BY fld, i"
    )
    pivot = ", ".join(f"any_value(fx) FILTER (WHERE fld = {n}) AS fx{n}" for n in fields)
    columns = [f"fj.fx{n}" for n in fields]
    return columns, f"LEFT JOIN (SELECT i, {pivot} FROM ({picked}) GROUP BY i) fj ON fj.i = v.i"
