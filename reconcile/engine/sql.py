"""SQL fragments for the matching engine, built only from validated definitions.

Identifiers are quoted; literals come from typed definition values and are escaped. Amounts
are DECIMAL(38,10) (exact), never DOUBLE.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from canonical.currencies import MINOR_UNITS
from reconcile.definitions import CompareSpec, FilterSpec, KeySpec

DEC = "DECIMAL(38,10)"
#: an aggregated group's source lines (the first 50, in order): which rows make it up, as
#: a duplicate's lines show its rows
GROUP_LINES = "list(_line ORDER BY _line)[1:50] AS _line"
NUMERIC_KINDS = ("amount", "number")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return f"CAST('{value}' AS {DEC})"
    return "'" + str(value).replace("'", "''") + "'"


#: what ``trim`` strips from keys and codes: spaces, tabs, line breaks and the no-break
#: space that copying from a web page or a spreadsheet leaves behind
KEY_EDGE_CHARS = "' \t\r\n' || chr(160)"


def trimmed(expr: str, *, wide: bool = False) -> str:
    """``trim(expr)`` (spaces), copying only the strings that have an edge space: trim()
    copies every string, and most keys and codes have none. (LIKE tests the edges a third
    cheaper than prefix() and suffix() on 1M keys.)

    ``wide``: also tabs, line breaks and no-break spaces (:data:`KEY_EDGE_CHARS`). Testing for
    those costs a million-row join a few per cent, so the engine joins with the narrow
    test first and only redoes the join wide when an unmatched key shows one."""
    if wide:
        edge = (
            f"{expr} < '!' OR {expr} LIKE '% ' OR {expr} LIKE '%' || chr(9) "
            f"OR {expr} LIKE '%' || chr(160) OR starts_with({expr}, chr(160)) "
            f"OR {expr} LIKE '%' || chr(10) OR {expr} LIKE '%' || chr(13)"
        )
        return f"(CASE WHEN {edge} THEN trim({expr}, {KEY_EDGE_CHARS}) ELSE {expr} END)"
    edge = f"{expr} LIKE ' %' OR {expr} LIKE '% '"
    return f"(CASE WHEN {edge} THEN trim({expr}) ELSE {expr} END)"


def has_wide_edge(expr: str) -> str:
    """Whether a key's text still has an edge character a wide trim would strip."""
    return f"({expr} <> trim({expr}, {KEY_EDGE_CHARS}))"


#: every character ``str.isspace`` accepts: ``stripped`` trims what ``str.strip()`` trims
#: (DuckDB's ``trim`` alone removes spaces only)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_EDGE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]"
#: RE2 pattern: whitespace at either end
_EDGE_SPACE = literal(f"^{_EDGE}|{_EDGE}$")


def stripped(expr: str) -> str:
    """``expr.strip()`` as SQL (NULL stays NULL): every Unicode whitespace, NBSP and tab
    too, for codes typed or pasted by people (translation tables). Keys keep ``trimmed``:
    this costs about twice as much a value. ``trim`` with a character list costs ~2 µs a
    value, so only values with whitespace at an end (a regex test) are trimmed."""
    return (
        f"(CASE WHEN regexp_matches({expr}, {_EDGE_SPACE}) "
        f"THEN trim({expr}, {literal(PY_WHITESPACE)}) ELSE {expr} END)"
    )


FLOAT_TYPES = ("double", "float", "halffloat")


def key_text(column: str, source_type: str | None = None, *, table: str = "") -> str:
    """A key column as text. A float or decimal key that holds a whole number prints
    without its fraction: pandas writes an integer id column with a gap as float64
    (123.0), and that is the same record as the 123 of the other side. ``table``: the
    alias to qualify the column with."""
    col = f"{table}.{ident(column)}" if table else ident(column)
    if source_type in FLOAT_TYPES or (source_type or "").startswith("decimal"):
        whole = f"isfinite(CAST({col} AS DOUBLE)) AND {col} = trunc({col}) AND abs({col}) < 1e18"
        # a fraction prints without padding zeros (7.50 is the 7.5 of the other side)
        fraction = f"CAST({col} AS VARCHAR)"
        if source_type not in FLOAT_TYPES:
            fraction = f"rtrim({fraction}, '0')"
        return (
            f"(CASE WHEN {whole} THEN CAST(CAST({col} AS HUGEINT) AS VARCHAR) ELSE {fraction} END)"
        )
    return f"CAST({col} AS VARCHAR)"


def key_expr(
    spec: KeySpec,
    column: str,
    *,
    nullable: bool = True,
    source_type: str | None = None,
    wide: bool = False,
) -> str:
    """Normalised key text; a missing key becomes '' so it still lands in one category.

    ``nullable=False``: the column is known to hold no null (every step keeps a non-null
    value non-null), so the ``coalesce`` is left out: over a million keys on each side it
    cost a join a few per cent. ``wide``: see :func:`trimmed`."""
    expr = key_text(column, source_type)
    if spec.regex:
        group = 1 if "(" in spec.regex.replace(r"\(", "") else 0
        expr = f"regexp_extract({expr}, {literal(spec.regex)}, {group})"
    for step in spec.normalize:
        if step == "trim":
            expr = trimmed(expr, wide=wide)
        elif step == "casefold":
            expr = casefold(expr)
        elif step == "upper":
            expr = f"upper({expr})"
        elif step == "strip_leading_zeros":
            stripped = f"ltrim({expr}, '0')"
            expr = f"(CASE WHEN {stripped} = '' AND {expr} <> '' THEN '0' ELSE {stripped} END)"
        elif step == "digits_only":
            expr = f"regexp_replace({expr}, '[^0-9]', '', 'g')"
        elif step == "alnum_only":
            expr = f"regexp_replace({expr}, '[^0-9A-Za-z]', '', 'g')"
    return f"coalesce({expr}, '')" if nullable else expr


def casefold(expr: str) -> str:
    """Text with case differences removed, as Python's ``str.casefold`` does for the letters
    business names use: lower case, and the German sharp s as "ss" (``Straße`` and
    ``STRASSE`` are one name) and the Greek final sigma as sigma. DuckDB's ``lower`` alone
    keeps "ß"."""
    return f"replace(replace(lower({expr}), 'ß', 'ss'), 'ς', 'σ')"


def number_text(col: str) -> str:
    """Text as spreadsheets and ERPs export numbers, made castable: currency symbols (also
    inside a sign or bracket: ``($1.00)``, ``-$1.00``), ``(12.50)`` and ``12.50-``
    negatives, and "," thousands separators in whole groups of three (``1,234.56``,
    ``1,234,567``; ``1,234`` reads as 1234). Anything else with a comma ("1,5",
    "1.234,56") fails the cast and is reported: a file with decimal commas needs a
    mapping spec that declares its separators (``reconcile files --decimal-comma``:
    ``reconcile.engine.decimal_comma``)."""
    # a currency symbol at either end, or just inside a sign or bracket: ($1.00), -$1.00
    symbol = "'^([(+-]?)\\s*[$€£¥]\\s*|\\s*[$€£¥]\\s*([)-]?)$', '\\1\\2'"
    t = f"regexp_replace(trim({col}), {symbol}, 'g')"
    # the negatives as anchored replacements, each naming the text once: as a CASE of
    # tests and rewrites the text appeared 15 times, the SQL of one number column ~1.6 kB
    # (all of it bound again per column; the two patterns match disjoint texts, and "-x"
    # never matches the second)
    t = f"regexp_replace(regexp_replace({t}, '^\\(([^()]*)\\)$', '-\\1'), '^([0-9.,]+)-$', '-\\1')"
    grouped = (
        f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+(\\.[0-9]+)?(\\s*%)?') "
        f"THEN replace({t}, ',', '') ELSE {t} END"
    )
    # a percentage ("8.25%", as NetSuite and Excel export rates) is the fraction a workbook's
    # percent cell holds (0.0825): written in exponent form, the decimal cast stays exact
    return f"regexp_replace({grouped}, '^([+-]?[0-9]*\\.?[0-9]+)\\s*%$', '\\1e-2')"


def value_expr(spec: CompareSpec | None, expr: str, source_type: str, kind: str) -> str:
    """Typed, normalised value of a compared (or context) SQL expression."""
    col = expr
    is_text = source_type in ("VARCHAR", "STRING")
    if kind in NUMERIC_KINDS:
        if is_text:
            # a plain number casts as it is; only the other rows pay for the spreadsheet
            # formats' regexes (CASE evaluates ELSE only for the rows that reach it)
            plain = f"TRY_CAST(trim({col}) AS {DEC})"
            full = f"TRY_CAST(NULLIF({number_text(col)}, '') AS {DEC})"
            return f"(CASE WHEN {plain} IS NOT NULL THEN {plain} ELSE {full} END)"
        if source_type in FLOAT_TYPES:
            # a binary double holds 4843426.4400000008 for the 4843426.44 it was written
            # from; its shortest round-trip text is the number the exporting program meant
            return f"TRY_CAST(CAST({col} AS VARCHAR) AS {DEC})"
        return f"CAST({col} AS {DEC})"
    if kind == "date":
        return date_text(col) if is_text else f"CAST({col} AS DATE)"
    expr = f"CAST({col} AS VARCHAR)"
    if spec is None or spec.trim:
        expr = f"trim({expr})"
    if spec is not None and spec.casefold:
        expr = casefold(expr)
    return f"NULLIF({expr}, '')"


def date_text(col: str) -> str:
    """A date from text. DuckDB also reads "15-03-24" (year 15) and "24-03-15": a date
    before the year 1000 is such a misreading of a day-month-year export, not a date."""
    parsed = f"TRY_CAST(NULLIF(trim({col}), '') AS DATE)"
    return f"(CASE WHEN year({parsed}) >= 1000 THEN {parsed} END)"


#: more fractional digits than DECIMAL(38,10) keeps (it would round them away silently)
MAX_SCALE = 10


def unparsable(column: str, kind: str) -> str | None:
    """Predicate for text values that fail to cast, or None when nothing can fail."""
    col = ident(column)
    if kind in NUMERIC_KINDS:
        plain = f"TRY_CAST(trim({col}) AS {DEC}) IS NOT NULL"
        bad = (
            f"NULLIF(trim({col}), '') IS NOT NULL AND TRY_CAST({number_text(col)} AS {DEC}) IS NULL"
        )
        # LIKE first: only a value with 11+ characters after a point pays for the regex
        digits = "_" * (MAX_SCALE + 1)
        too_fine = (
            f"({col} LIKE '%.{digits}%' AND regexp_matches({col}, '\\.[0-9]{{{MAX_SCALE + 1},}}'))"
        )
        return f"(CASE WHEN {plain} THEN {too_fine} ELSE {bad} END)"
    if kind == "date":
        return f"NULLIF(trim({col}), '') IS NOT NULL AND {date_text(col)} IS NULL"
    return None


#: how exports write a boolean (Salesforce true, Excel TRUE, NetSuite T / Yes, 1)
_TRUE_TEXTS = ("true", "t", "yes", "y", "1")
_FALSE_TEXTS = ("false", "f", "no", "n", "0")


def filter_expr(spec: FilterSpec, column: str) -> str:
    col = f"CAST({ident(column)} AS VARCHAR)"
    if spec.op == "is_null":
        return f"NULLIF(trim({col}), '') IS NULL"
    if spec.op == "not_null":
        return f"NULLIF(trim({col}), '') IS NOT NULL"
    values = spec.value if spec.op in ("in", "not_in") else [spec.value]
    hit = " OR ".join(_equals(f"trim({col})", v) for v in values) or "FALSE"
    if spec.op in ("ne", "not_in"):  # a blank value is not the one excluded: it stays
        return f"NOT coalesce({hit}, false)"
    return f"coalesce({hit}, false)"


def _equals(text: str, value: Any) -> str:
    """``text`` (a trimmed value) equals the YAML ``value`` as the analyst meant it: an
    unquoted true/false (or YAML's Yes/No) as any boolean spelling, any case; a number as
    the same number however written (1.5 = 1.50); anything else as written."""
    if isinstance(value, bool):
        texts = _TRUE_TEXTS if value else _FALSE_TEXTS
        return f"lower({text}) IN ({', '.join(literal(t) for t in texts)})"
    if isinstance(value, int | float | Decimal):
        number = literal(str(value))
        return f"({text} = {number} OR TRY_CAST({text} AS {DEC}) = CAST({number} AS {DEC}))"
    return f"{text} = {literal(str(value))}"


def currency_unit_expr(currency_sql: str) -> str:
    """Size of one minor unit of the row's currency (0.01 USD, 1 JPY, 0.001 BHD)."""
    whens = " ".join(
        f"WHEN '{code}' THEN CAST('{Decimal(1).scaleb(-exp)}' AS {DEC})"
        for code, exp in sorted(MINOR_UNITS.items())
        if exp != 2
    )
    return f"(CASE upper({currency_sql}) {whens} ELSE CAST('0.01' AS {DEC}) END)"


def equal_expr(spec: CompareSpec, a: str, b: str, currency_sql: str | None) -> str:
    """Within tolerance: |a−b| ≤ abs + pct/100×|b| (+ minor units); null equals null."""
    if spec.kind in NUMERIC_KINDS:
        tol = []
        if spec.abs:
            tol.append(literal(spec.abs))
        if spec.pct:
            tol.append(f"{literal(spec.pct / 100)} * abs({b})")
        if spec.minor_units and currency_sql:
            tol.append(f"{spec.minor_units} * {currency_unit_expr(currency_sql)}")
        pred = f"abs({a} - {b}) <= {' + '.join(tol)}" if tol else f"{a} = {b}"
    elif spec.kind == "date" and spec.days:
        pred = f"abs(date_diff('day', {a}, {b})) <= {spec.days}"
    else:
        pred = f"{a} = {b}"
    return (
        f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN {a} IS NULL AND {b} IS NULL ELSE {pred} END)"
    )


def delta_expr(spec: CompareSpec, a: str, b: str) -> str | None:
    if spec.kind in NUMERIC_KINDS:
        return f"({a} - {b})"
    if spec.kind == "date":
        return f"date_diff('day', {b}, {a})"
    return None


def aggregate_fn(spec: CompareSpec) -> str:
    if spec.aggregate:
        return "any_value" if spec.aggregate == "any" else spec.aggregate
    return "sum" if spec.kind in NUMERIC_KINDS else "min"


def key_present(text_keys: list[str], typed: int, side: str) -> list[str]:
    """The condition that a key has a part (a typed key part, joined as its integer, is
    never blank): none when a part is typed, else one of the text parts is not ''."""
    if typed or not text_keys:
        return []
    return ["(" + " OR ".join(f"{side}.{k} <> ''" for k in text_keys) + ")"]
