"""Ad-hoc definitions for ``billbridge reconcile files``: keys and compare specs from the CLI.

Spec syntax: ``--key COL[=RIGHTCOL][,COL...]`` and ``--compare COL[=RIGHTCOL][:abs=X|:pct=P|
:days=N|:amount|:number|:date|:status|:text]``. Columns named on the command line are taken
as written. Without ``--compare`` every column the two files share (other than the keys) is
compared; names pair up ignoring case and surrounding spaces (``Amount`` and ``amount ``),
and columns left without a partner are listed (``only_in_a``/``only_in_b``).

Without a kind option a column's kind is inferred from both sides' values, with the
engine's own parse (``reconcile.engine.sql.unparsable``: ``1,234.50``, ``(12.50)`` and
``$5`` are numbers): number when one side is all numbers and the other at least mostly
(its odd value is then reported at its line, not compared as text), date likewise, else
text. A side whose column is all blank says nothing about the kind.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from pydantic import ValidationError

from billbridge.errors import ConfigError
from reconcile.definitions import CompareSpec, KeySpec, ReconDefinition, SideSpec
from reconcile.engine import sql
from reconcile.engine.sides import LINE, Side, register_side

#: the largest tolerance DECIMAL(38,10) holds (28 integer digits), and its finest step
_MAX_TOLERANCE = Decimal(10) ** 28
_TOLERANCE_STEP = Decimal("1e-10")
#: a window wider than the calendar (0001-01-01 to 9999-12-31) means nothing
_MAX_DAYS = 3_652_059
#: kinds the inference picks, in the order it tries them
_INFERRED = ("number", "date")


@dataclass(frozen=True)
class FilesPlan:
    """The ad-hoc definition and what the CLI reports beside it."""

    definition: ReconDefinition
    #: columns of one side that are neither keys nor compared, with no partner on the other
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    #: column (either side's name) -> kind inferred from the values (number or date)
    inferred: dict[str, str] = field(default_factory=dict)


def _split(spec: str) -> tuple[str, str | None]:
    left, _, right = spec.partition("=")
    if not left.strip():
        raise ConfigError(f"empty column name in {spec!r}")
    return left.strip(), (right.strip() or None)


class _Names:
    """Field names for column headers: letters, digits and underscores, each used once
    (``Discount %`` and ``Discount $`` become ``Discount__`` and ``Discount___2``)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, column: str) -> str:
        # ASCII letters only: accents dropped (Fällig -> Fallig), other characters "_"
        ascii_text = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in ascii_text)
        if not any(ch.isalnum() for ch in base):
            base = "column"  # nothing readable in ASCII (金额)
        base = base if not base[0].isdigit() else f"c_{base}"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name


#: key normalisations ``--key COL:step[:step]`` takes (trim is always on)
KEY_STEPS = ("casefold", "strip_leading_zeros", "digits_only", "alnum_only")


def parse_keys(specs: list[str], names: _Names | None = None) -> list[KeySpec]:
    """``COL[=RIGHTCOL][:step...]``: ``00123`` and ``123`` match with
    ``:strip_leading_zeros``, ``SKU-3`` and ``sku-3`` with ``:casefold``."""
    names = names or _Names()
    keys = []
    for spec in ",".join(specs).split(","):
        if spec.strip():
            pair, *steps = spec.split(":")
            column, right = _split(pair)
            bad = [st for st in steps if st.strip() not in KEY_STEPS]
            if bad:
                raise ConfigError(
                    f"--key {spec.strip()!r}: unknown normalisation {bad[0].strip()!r} "
                    f"(one of {', '.join(KEY_STEPS)})"
                )
            normalize = ("trim", *dict.fromkeys(st.strip() for st in steps))
            keys.append(
                KeySpec(name=names(column), a=column, b=right or column, normalize=normalize)
            )
    if not keys:
        raise ConfigError("give at least one --key column")
    return keys


def _tolerance(spec: str, opt: str, value: str, scale: Decimal = Decimal(1)) -> Decimal:
    """A tolerance the SQL can hold exactly: finite, 0 or more, below 1e28, at most 10
    decimals (``scale``: what the SQL multiplies it by, 1/100 for a percentage)."""
    try:
        number = Decimal(value.strip())
        fits = (
            number.is_finite()
            and 0 <= number < _MAX_TOLERANCE
            and (number * scale) == (number * scale).quantize(_TOLERANCE_STEP)
        )
    except InvalidOperation:
        fits = False
    if not fits:
        raise ConfigError(
            f"--compare {spec!r}: {opt!r} needs a number from 0 to below 1e28 "
            "with at most 10 decimals"
        )
    return number


def parse_compare(spec: str) -> dict[str, Any]:
    column, *options = spec.split(":")
    name, right = _split(column)
    out: dict[str, Any] = {"a": name, "b": right or name}
    for opt in options:
        key, _, value = opt.partition("=")
        key = key.strip().lower()
        if key in ("abs", "pct"):
            scale = Decimal("0.01") if key == "pct" else Decimal(1)
            out[key] = _tolerance(spec, opt, value, scale)
            out.setdefault("kind", "amount")
        elif key == "days":
            if not value.strip().isdigit() or int(value) > _MAX_DAYS:
                raise ConfigError(
                    f"--compare {spec!r}: {opt!r} needs a whole number of days (0-{_MAX_DAYS})"
                )
            out["days"] = int(value)
            out["kind"] = "date"
        elif key in ("text", "date", "number", "amount", "status"):
            out["kind"] = key
        else:
            raise ConfigError(f"--compare {spec!r}: unknown option {opt!r}")
    return out


def _norm(column: str) -> str:
    """What two headers must share to pair up: case and surrounding spaces do not count."""
    return column.strip().casefold()


def _pair_columns(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, str]]:
    """Columns of A and B that hold the same field: same name, else the same name but for
    case and surrounding spaces when that pairing is unique on both sides."""
    pairs = [(c, c) for c in a if c in b]
    left = [c for c in a if c not in b]
    right = [c for c in b if c not in a]
    for column in left:
        mates = [m for m in right if _norm(m) == _norm(column)]
        twins = [c for c in left if _norm(c) == _norm(column)]
        if len(mates) == 1 and len(twins) == 1:
            pairs.append((column, mates[0]))
    order = {c: i for i, c in enumerate(a)}
    return sorted(pairs, key=lambda p: order[p[0]])


def _without(columns: Iterable[str], used: set[str], partners: Iterable[str]) -> list[str]:
    """``columns`` neither used nor named (ignoring case and spaces) among ``partners``."""
    other = {_norm(c) for c in partners}
    return [c for c in columns if c not in used and _norm(c) not in other]


@dataclass(frozen=True)
class _Profile:
    """A column's non-blank values and how many parse as numbers and as dates."""

    values: int
    numbers: int
    dates: int

    def share(self, kind: str) -> Decimal:
        parsed = self.numbers if kind == "number" else self.dates
        return Decimal(parsed) / Decimal(self.values)


def _typed_profile(side: Side, column: str) -> _Profile | None:
    """The profile of a column of a non-text Arrow type (None: text, to be counted)."""
    t = side.schema.field(column).type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return None
    nulls = (
        side.table.column(column).null_count
        if side.table is not None
        else side.parquet_nulls.get(column)
    )
    values = int(side.num_rows > 0 and nulls != side.num_rows)
    numeric = pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_floating(t)
    dated = pa.types.is_date(t) or pa.types.is_timestamp(t)
    return _Profile(values, values if numeric else 0, values if dated else 0)


#: cheap tests every value the engine reads as a date or a number passes (sql.date_text:
#: a year from 1000 on, first; sql.number_text: a digit, sign, point, currency symbol or
#: parenthesis first): only the values that pass pay for the engine's own parse, which on
#: text (names, ids) costs ten times as much. The date test leaves plain numbers alone.
_MAYBE_DATE = sql.literal(r"^\s*[0-9]{4}[-/]")
_MAYBE_NUMBER = sql.literal(r"^\s*[-+.$€£¥(0-9]")


def _value_kind() -> str:
    """SQL: 'd' for a value ``v`` the engine reads as a date, 'n' as a number, else NULL."""
    date = (
        f"CASE WHEN regexp_matches(v, {_MAYBE_DATE}) THEN NOT ({sql.unparsable('v', 'date')}) END"
    )
    number = (
        f"CASE WHEN regexp_matches(v, {_MAYBE_NUMBER}) "
        f"THEN NOT ({sql.unparsable('v', 'number')}) END"
    )
    return f"CASE WHEN {date} THEN 'd' WHEN {number} THEN 'n' END"


def profiles(side: Side, columns: Sequence[str]) -> dict[str, _Profile]:
    """Profiles of ``columns``: the text ones counted in one query over the side's values
    unpivoted (the expression planned once: a column of aggregates per column took ~0.15 s
    each on a wide export, and a query per column as long, opening its connection)."""
    from reconcile.engine.prepare import database

    out: dict[str, _Profile] = {}
    text = []
    for column in dict.fromkeys(columns):
        typed = _typed_profile(side, column)
        if typed is None:
            text.append(column)
            out[column] = _Profile(0, 0, 0)  # all blank: UNPIVOT leaves no row for it
        else:
            out[column] = typed
    if not text:
        return out
    names = ", ".join(sql.ident(c) for c in text)
    values = ", ".join(f"CAST({sql.ident(c)} AS VARCHAR) AS {sql.ident(c)}" for c in text)
    query = (
        "SELECT name, count(*), count(*) FILTER (WHERE k = 'n'), count(*) FILTER (WHERE k = 'd') "
        f"FROM (SELECT name, {_value_kind()} AS k FROM (UNPIVOT (SELECT {values} FROM side) "
        f"ON {names} INTO NAME name VALUE v) WHERE NULLIF(trim(v), '') IS NOT NULL) GROUP BY name"
    )
    con = database().cursor()
    try:
        register_side(con, "side", side)
        found = con.execute(query).fetchall()
    finally:
        con.close()
    for name, values_n, numbers, dates in found:
        out[name] = _Profile(int(values_n), int(numbers), int(dates))
    return out


def pick_kind(found: Sequence[_Profile]) -> str:
    """number or date when every side with values is at least mostly that and one is all
    of it (the other side's odd values are then reported at their line), else text."""
    sides = [p for p in found if p.values]
    for kind in _INFERRED:
        shares = [p.share(kind) for p in sides]
        if shares and max(shares) == 1 and min(shares) > Decimal("0.5"):
            return kind
    return "text"


def _checked(what: str, build: Any, **fields: Any) -> Any:
    """``build(**fields)``, a pydantic error as one line naming ``what``."""
    try:
        return build(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{what}: {message}") from None


def _compare_specs(
    left: Side, right: Side, keys: list[KeySpec], compares: list[str], names: _Names
) -> list[dict[str, Any]]:
    """The compare specs (``a``, ``b``, options) from ``--compare``, else every pair of
    columns the sides share (other than keys); each named once."""
    if compares:
        specs: list[dict[str, Any]] = []
        seen: dict[tuple[str, str], str] = {}
        for text in compares:
            spec = parse_compare(text)
            pair = (spec["a"], spec["b"])
            if pair in seen:
                raise ConfigError(f"--compare {text!r}: column compared twice ({seen[pair]!r})")
            seen[pair] = text
            specs.append({"name": names(spec["a"]), **spec, "_given": text})
        return specs
    key_a = {k.col("a") for k in keys}
    key_b = {k.col("b") for k in keys}
    pairs = _pair_columns(
        [c for c in left.column_names if c not in key_a and c != LINE],
        [c for c in right.column_names if c not in key_b and c != LINE],
    )
    return [{"name": names(a), "a": a, "b": b} for a, b in pairs]


def _check_columns(data: Side, refs: Iterable[str]) -> None:
    cols = set(data.column_names)
    for ref in refs:
        if ref not in cols:
            have = sorted(cols - {LINE})
            where = ""
            if data.sheet is not None:
                where = f" (sheet {data.sheet.name!r}"
                if data.sheet.others:
                    where += (
                        f"; the workbook also has {data.sheet.describe_others()}, "
                        "read with --sheet NAME"
                    )
                where += ")"
            raise ConfigError(f"{data.source}: no column {ref!r}; it has {have}{where}")


def plan_files(
    left: Side, right: Side, keys: list[str], compares: list[str], name: str = "files"
) -> FilesPlan:
    """The definition ``reconcile files`` runs, with the columns it leaves out."""
    names = _Names()
    key_specs = parse_keys(keys, names)
    specs = _compare_specs(left, right, key_specs, compares, names)
    for side, data in (("a", left), ("b", right)):
        _check_columns(data, [*(k.col(side) for k in key_specs), *(s[side] for s in specs)])
    used_a = {k.col("a") for k in key_specs} | {s["a"] for s in specs} | {LINE}
    used_b = {k.col("b") for k in key_specs} | {s["b"] for s in specs} | {LINE}
    only_a = _without(left.column_names, used_a, [c for c in right.column_names if c != LINE])
    only_b = _without(right.column_names, used_b, [c for c in left.column_names if c != LINE])
    if not specs and (only_a or only_b):
        raise ConfigError(
            f"no column to compare: {left.source} and {right.source} share none besides the "
            f"keys (only in A: {only_a}; only in B: {only_b}); pair them with --compare A=B"
        )
    inferred = _infer(left, right, [s for s in specs if "kind" not in s])
    _fold_booleans(left, right, specs)
    compare = []
    for s in specs:
        given = s.pop("_given", s["a"])  # the option as typed, to name it in an error
        compare.append(_checked(f"--compare {given!r}", CompareSpec, **s))
    # severity and the exception's amount come from the first money column (:amount, :abs,
    # :pct); an inferred number may be a quantity, so it never sizes anything
    amount = next((c.name for c in compare if c.kind == "amount"), None)
    definition = _checked(
        "definition",
        ReconDefinition,
        name=name,
        a=SideSpec(label=left.source),
        b=SideSpec(label=right.source),
        keys=tuple(key_specs),
        compare=tuple(compare),
        amount_field=amount,
    )
    return FilesPlan(definition, only_a, only_b, inferred)


def _fold_booleans(left: Side, right: Side, specs: list[dict[str, Any]]) -> None:
    """A typed boolean (a workbook's TRUE cell, a Parquet bool) reads as ``true``: compared
    with the text of another export (``TRUE``, ``True``), case does not count."""
    types = {"a": left.schema, "b": right.schema}
    for s in specs:
        if s.get("kind", "text") != "text":
            continue
        for side in "ab":
            schema = types[side]
            i = schema.get_field_index(s[side])
            if i >= 0 and pa.types.is_boolean(schema.field(i).type):
                s["casefold"] = True


def _infer(left: Side, right: Side, specs: list[dict[str, Any]]) -> dict[str, str]:
    """Set the kind of each spec without one; return the columns inferred number or date."""
    found_a = profiles(left, [s["a"] for s in specs])
    found_b = profiles(right, [s["b"] for s in specs])
    inferred = {}
    for s in specs:
        s["kind"] = pick_kind([found_a[s["a"]], found_b[s["b"]]])
        if s["kind"] != "text":
            inferred[s["a"]] = inferred[s["b"]] = s["kind"]
    return inferred


def definition_for_files(
    left: Side, right: Side, keys: list[str], compares: list[str], name: str = "files"
) -> ReconDefinition:
    return plan_files(left, right, keys, compares, name).definition
