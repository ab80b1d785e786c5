"""Evaluate one rule against a scope: read, normalise, default, translate, parse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from canonical import Money
from canonical.currencies import UnknownCurrencyError
from mappings.model import AGGREGATES, FALSE_VALUES, TRUE_VALUES, Predicate, Rule
from mappings.paths import ABSENT, Scope, resolve
from mappings.transforms import (
    RuleFailure,
    is_blank,
    normalise_text,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_integer,
    to_text,
)


class _Skipped:
    def __repr__(self) -> str:
        return "<skipped>"


#: A rule whose ``when`` did not hold: the target field is left alone.
SKIPPED: Any = _Skipped()


@dataclass(frozen=True)
class Context:
    tables: Mapping[str, list[dict[str, str]]]
    #: The export rows of the record being mapped (row-grouped specs), for ``sum``.
    rows: Sequence[Mapping[str, Any]] | None = None


#: (id of a crosswalk table, column) -> (the table, its rows by that column's trimmed value)
_INDEXES: dict[tuple[int, str], tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]] = {}
#: indexes kept at most (a long-running process maps with many specs over time)
_MAX_INDEXES = 64


def _indexed(table: list[dict[str, str]], column: str) -> dict[str, list[dict[str, str]]]:
    """``table``'s rows by the trimmed value of ``column``, built once per table and column:
    a lookup scanned the whole table for every record (a 50k-row customer crosswalk over
    100k records was 5e9 comparisons). The entry keeps its table, so an id is never reused
    while its index is cached; tables are read once and never changed."""
    cached = _INDEXES.get((id(table), column))
    if cached is not None and cached[0] is table:
        return cached[1]
    index: dict[str, list[dict[str, str]]] = {}
    for row in table:
        index.setdefault((row.get(column) or "").strip(), []).append(row)
    if len(_INDEXES) >= _MAX_INDEXES:
        _INDEXES.clear()
    _INDEXES[(id(table), column)] = (table, index)
    return index


def _as_bool(value: Any) -> bool | None:
    """``value`` read as ``parse: boolean`` reads it by default; None when it is not one."""
    if is_blank(value):
        return None
    try:
        return parse_boolean(value, list(TRUE_VALUES), list(FALSE_VALUES))
    except RuleFailure:
        return None


def _comparable(expected: Any, value: Any) -> tuple[Any, Any]:
    """(expected, value) in the form they are compared: booleans as booleans when the spec
    wrote ``true``/``false`` (so ``FALSE`` or ``0`` from a re-saved CSV equals ``false``),
    everything else as trimmed text (``1`` equals ``"1"``)."""
    if isinstance(expected, bool):
        return expected, _as_bool(value)
    text = None if is_blank(value) else to_text(value).strip()
    return (None if expected is None else to_text(expected).strip()), text


def test(pred: Predicate, scope: Scope, own: Any) -> bool:
    """Does ``pred`` hold? See :func:`_comparable` for how values compare."""
    value = resolve(scope, pred.field) if pred.field else own
    fields = pred.model_fields_set
    if "present" in fields:
        return (not is_blank(value)) == pred.present
    if "blank" in fields:
        return is_blank(value) == pred.blank
    if "equals" in fields:
        expected, got = _comparable(pred.equals, value)
        return got == expected
    matched = any(
        got == expected
        for expected, got in (_comparable(v, value) for v in (pred.in_ or pred.not_in or []))
    )
    return matched if "in_" in fields else not matched


def explain(pred: Predicate, scope: Scope, own: Any) -> str:
    """Why ``pred`` does not hold, for previews: what was read and what was wanted."""
    value = resolve(scope, pred.field) if pred.field else own
    got = "blank" if is_blank(value) else repr(to_text(value).strip())
    fields = pred.model_fields_set
    if "present" in fields or "blank" in fields:
        wants_value = pred.present if "present" in fields else not pred.blank
        wanted = "a value" if wants_value else "blank"
    elif "equals" in fields:
        wanted = "blank" if pred.equals is None else _shown(pred.equals)
    else:
        options = ", ".join(_shown(v) for v in (pred.in_ or pred.not_in or []))
        wanted = f"{'one' if 'in_' in fields else 'none'} of [{options}]"
    options_given = [pred.equals, *(pred.in_ or pred.not_in or [])]
    if (
        any(isinstance(v, bool) for v in options_given)
        and got != "blank"
        and _as_bool(value) is None
    ):
        got += " (not a true/false value)"
    return f"{pred.field or 'the value'} is {got}; wanted {wanted}"


def _shown(value: Any) -> str:
    return to_text(value) if isinstance(value, bool) else repr(to_text(value))


def _seps(rule: Rule) -> dict[str, Any]:
    return {"decimal_sep": rule.decimal_separator, "thousands_sep": rule.thousands_separator}


def _read(rule: Rule, scope: Scope, ctx: Context) -> Any:
    kind = rule.source_kind
    if kind == "path":
        assert rule.path is not None
        if isinstance(rule.path, str):
            return resolve(scope, rule.path)
        for path in rule.path:
            value = resolve(scope, path)
            if not is_blank(value):
                return value
        return ABSENT
    if kind == "concat":
        parts = [resolve(scope, p) for p in rule.concat or []]
        texts = [
            normalise_text(to_text(p), strip=True, collapse=False, case=None)
            for p in parts
            if not is_blank(p)
        ]
        return rule.separator.join(texts) if texts else ABSENT
    if kind in AGGREGATES:
        column: str = getattr(rule, kind)
        if ctx.rows is not None and scope.parents == ():
            values = [resolve(Scope(row), column) for row in ctx.rows]
        else:
            found = resolve(scope, column)
            values = found if isinstance(found, list) else [found]
        present = [v for v in values if not is_blank(v)]
        if not present:
            return ABSENT
        if kind == "sum":
            return sum((parse_decimal(v, **_seps(rule)) for v in present), Decimal(0))
        # min/max compare parsed values (dates as dates, numbers as numbers)
        parsed = [_parse(rule, v) if rule.parse else v for v in present]
        try:
            return min(parsed) if kind == "min" else max(parsed)
        except TypeError:
            raise RuleFailure(f"cannot compare {kind} of {present!r}: add a 'parse'") from None
    raise AssertionError(kind)  # const and money are handled by evaluate


def _money(rule: Rule, scope: Scope, ctx: Context) -> tuple[Any, str, Any]:
    assert rule.money is not None
    amount_rule = rule.money.amount
    if amount_rule.parse is None and amount_rule.source_kind != "const":
        amount_rule = amount_rule.model_copy(update={"parse": "decimal"})
    amount, _, raw_amount = evaluate(amount_rule, scope, ctx)
    if amount is None or amount is SKIPPED:
        return None, "blank amount", raw_amount
    currency, _, raw_ccy = evaluate(rule.money.currency, scope, ctx)
    if is_blank(currency) or currency is SKIPPED:
        raise RuleFailure(f"amount {to_text(raw_amount)!r} has no currency (source blank)")
    try:
        return Money(parse_decimal(amount), to_text(currency)), "money", (raw_amount, raw_ccy)
    except (UnknownCurrencyError, ValueError) as exc:
        raise RuleFailure(str(exc)) from None


def _translate(rule: Rule, value: Any, ctx: Context) -> tuple[Any, list[str]]:
    actions = []
    if rule.map is not None:
        key = to_text(value)
        if key in rule.map:
            value = rule.map[key]
            actions.append(f"map {key!r} -> {value!r}")
        elif "map_default" in rule.model_fields_set:
            value = rule.map_default
            actions.append(f"map {key!r} unmapped -> map_default {value!r}")
        else:
            known = ", ".join(repr(k) for k in list(rule.map)[:8])
            raise RuleFailure(f"value {key!r} is not in the value map (known: {known})")
    if rule.lookup is not None:
        table = ctx.tables.get(rule.lookup.table)
        if table is None:
            raise RuleFailure(f"crosswalk table {rule.lookup.table!r} is not loaded")
        key = to_text(value)
        hits = _indexed(table, rule.lookup.key).get(key, [])
        if not hits:
            raise RuleFailure(
                f"{key!r} not found in crosswalk {rule.lookup.table!r} column {rule.lookup.key!r}"
            )
        if len(hits) > 1:
            raise RuleFailure(
                f"{key!r} matches {len(hits)} rows in crosswalk {rule.lookup.table!r}"
            )
        value = hits[0].get(rule.lookup.value)
        if is_blank(value):
            # an empty cell is a row someone has not finished, not a mapping to "": fail
            # like a miss rather than send a blank id or term to the target system
            raise RuleFailure(
                f"{key!r} found in crosswalk {rule.lookup.table!r} column {rule.lookup.key!r}, "
                f"but its {rule.lookup.value!r} is blank"
            )
        actions.append(f"lookup {rule.lookup.table}[{key!r}] -> {value!r}")
    return value, actions


def _parse(rule: Rule, value: Any) -> Any:
    kind = rule.parse
    if kind is None:
        return value
    if kind == "string":
        return to_text(value)
    if kind == "decimal":
        return parse_decimal(value, **_seps(rule))
    if kind == "integer":
        return parse_integer(value, **_seps(rule))
    if kind == "boolean":
        return parse_boolean(value, rule.true_values, rule.false_values)
    if kind == "date":
        return parse_date(value, rule.format)
    return parse_datetime(value, rule.format, rule.timezone)


def evaluate(rule: Rule, scope: Scope, ctx: Context) -> tuple[Any, str, Any]:
    """-> (value, what was done, raw input). ``None`` means "leave unset";
    :data:`SKIPPED` means the ``when`` did not hold."""
    kind = rule.source_kind
    if kind == "const":
        raw = rule.const
    elif kind == "money":
        raw = None
    else:
        raw = _read(rule, scope, ctx)
    if rule.when is not None and not test(rule.when, scope, raw):
        return SKIPPED, f"skipped (when not met: {explain(rule.when, scope, raw)})", raw
    if kind == "const":
        return rule.const, "constant", raw
    if kind == "money":
        value, action, raw = _money(rule, scope, ctx)
        if value is None and "default" in rule.model_fields_set:
            return rule.default, "default (amount blank)", raw
        return value, action, raw
    value = normalise_text(raw, strip=rule.strip, collapse=rule.collapse_whitespace, case=rule.case)
    if is_blank(value):
        if "default" in rule.model_fields_set:
            return rule.default, "default (source blank)", raw
        return None, "blank", raw
    value, actions = _translate(rule, value, ctx)
    if rule.prefix is not None or rule.suffix is not None:
        value = f"{rule.prefix or ''}{to_text(value)}{rule.suffix or ''}"
        actions.append("prefix/suffix")
    if rule.parse is not None:
        value = _parse(rule, value)
        actions.append(f"parse {rule.parse}")
    return value, ", ".join(["read", *actions]), raw
