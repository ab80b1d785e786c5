"""Reconciliation definitions: YAML files validated by pydantic, errors naming file:line.

A definition names two sides (A and B) or three (A, B and C), the keys that pair their rows
(with normalisation), the compared fields with tolerances, optional filters, many-to-one
aggregation, category names and severity rules. See ``reconcile/builtin/*.yaml`` for annotated
examples and ``reconcile/README.md`` for three-sided definitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from billbridge.errors import ConfigError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: ``upper``: case-insensitive with the key shown upper case (ISO codes: usd is USD)
KeyNorm = Literal["trim", "casefold", "upper", "strip_leading_zeros", "digits_only", "alnum_only"]
Kind = Literal["amount", "number", "date", "status", "text"]
BASE_CATEGORIES = (
    "MISSING_IN_A",
    "MISSING_IN_B",
    "DUPLICATE",
    "DUPLICATE_IN_A",
    "DUPLICATE_IN_B",
    "AMOUNT_MISMATCH",
    "DATE_MISMATCH",
    "STATUS_MISMATCH",
    "FIELD_MISMATCH",
    "MANY_TO_ONE",
)
#: categories only a three-sided definition reports: MISSING_IN_C (in A and B, not in C),
#: ONLY_IN_X (on side X alone), DUPLICATE_IN_C
THREE_WAY_CATEGORIES = (
    "MISSING_IN_C",
    "ONLY_IN_A",
    "ONLY_IN_B",
    "ONLY_IN_C",
    "DUPLICATE_IN_C",
)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _ident(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} is not a plain field name (letters, digits, underscore)")
    return value


class FieldRef(_Spec):
    """A logical field and the column that holds it on each side (default: same name)."""

    name: str
    a: str | None = None
    b: str | None = None
    #: column on side C (three-sided definitions only)
    c: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _ident(value)

    def col(self, side: str) -> str:
        column = self.a if side == "a" else self.b if side == "b" else self.c
        return column or self.name


class KeySpec(FieldRef):
    normalize: tuple[KeyNorm, ...] = ("trim",)
    #: keep only the first match of this pattern (group 1 if the pattern has a group)
    regex: str | None = None

    @field_validator("regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class CompareSpec(FieldRef):
    kind: Kind = "text"
    #: absolute tolerance in the field's unit (amount: currency units, e.g. 0.01)
    abs: Decimal = Decimal(0)
    #: relative tolerance in percent of |B| (0.5 = 0.5 %); three-sided: of the later side of
    #: each pair (|B| for A-B, |C| for A-C and B-C)
    pct: Decimal = Decimal(0)
    #: absolute tolerance in minor units of the row's currency (1 = one cent, one yen)
    minor_units: int | None = None
    #: date window in days
    days: int = 0
    trim: bool = True
    casefold: bool = False
    #: how an aggregated side combines rows sharing a key (default: sum for amounts/numbers)
    aggregate: Literal["sum", "min", "max", "any"] | None = None

    @model_validator(mode="after")
    def _tolerance_fits_kind(self) -> CompareSpec:
        numeric = self.kind in ("amount", "number")
        if not numeric and (self.abs or self.pct or self.minor_units):
            raise ValueError(f"{self.name}: abs/pct/minor_units only apply to amount or number")
        if self.kind != "date" and self.days:
            raise ValueError(f"{self.name}: days only applies to kind date")
        if min(self.abs, self.pct) < 0 or self.days < 0 or (self.minor_units or 0) < 0:
            raise ValueError(f"{self.name}: tolerances cannot be negative")
        return self


class FilterSpec(_Spec):
    field: str
    op: Literal["eq", "ne", "in", "not_in", "is_null", "not_null"] = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> FilterSpec:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"filter on {self.field}: op {self.op} needs a list value")
        if self.op in ("eq", "ne") and self.value is None:
            raise ValueError(f"filter on {self.field}: op {self.op} needs a value")
        return self


class SideSpec(_Spec):
    label: str
    #: file to read (CSV, XLSX, Parquet); relative to the definition file
    path: str | None = None
    format: Literal["csv", "xlsx", "parquet"] | None = None
    sheet: str | None = None
    #: mapping spec applied to the file's rows before matching (mappings.load_spec)
    mapping: str | None = None
    filters: tuple[FilterSpec, ...] = ()
    #: several rows per key are summed into one (many-to-one), not reported as duplicates
    aggregate: bool = False
    #: the file writes numbers with a decimal comma (1.234,56): declared, never guessed
    decimal_comma: bool = False
    #: how the file writes dates that read both ways (01/02/2024); dates that say it
    #: themselves (31.01.2024, 1/31/2024, Jan 31, 2024) are read without it
    dates: Literal["day_first", "month_first"] | None = None

    @model_validator(mode="after")
    def _local_forms_need_a_raw_file(self) -> SideSpec:
        if self.mapping and (self.decimal_comma or self.dates):
            raise ValueError(
                f"side {self.label!r}: decimal_comma and dates apply to raw files; a mapping "
                "spec parses its own values"
            )
        return self


class SeverityRule(_Spec):
    level: str
    min_amount: Decimal | None = None
    min_age_days: int | None = None
    #: a rule for amounts in this currency only; rules without one size every other
    #: currency (``severity_rates`` writes these from the reporting-currency rules)
    currency: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return None if value is None else _currency_code(value)


def _currency_code(value: str) -> str:
    from canonical.currencies import MINOR_UNITS

    code = value.strip().upper()
    if code not in MINOR_UNITS:
        raise ValueError(f"unknown ISO 4217 currency code {value!r}")
    return code


#: Lerian Matcher defaults (reconciliation.md §3): amount OR age, highest level first.
DEFAULT_SEVERITY = (
    SeverityRule(level="CRITICAL", min_amount=Decimal(100_000), min_age_days=5),
    SeverityRule(level="HIGH", min_amount=Decimal(10_000), min_age_days=3),
    SeverityRule(level="MEDIUM", min_amount=Decimal(1_000), min_age_days=1),
    SeverityRule(level="LOW"),
)


class ReconDefinition(_Spec):
    name: str
    description: str = ""
    version: str = "1"
    a: SideSpec
    b: SideSpec
    #: a third side makes the definition three-sided (reconcile.engine.three_way)
    c: SideSpec | None = None
    keys: tuple[KeySpec, ...] = Field(min_length=1)
    compare: tuple[CompareSpec, ...] = ()
    #: fields carried into exception details without being compared (customer name, ...)
    context: tuple[FieldRef, ...] = ()
    #: compare field whose value (or gap) sizes an exception for severity
    amount_field: str | None = None
    #: compare, context or key field holding the ISO currency
    currency_field: str | None = None
    #: rename base categories, e.g. MISSING_IN_B: WON_NOT_PROVISIONED
    categories: dict[str, str] = Field(default_factory=dict)
    severity: tuple[SeverityRule, ...] = DEFAULT_SEVERITY
    #: amounts of other currencies sized in the severity rules' (reporting) currency: units
    #: of the reporting currency per unit, e.g. {EUR: 1.08, JPY: 0.0067}; a currency not
    #: listed is sized as it is
    severity_rates: dict[str, Decimal] = Field(default_factory=dict)

    @field_validator("severity_rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        out = {}
        for code, rate in value.items():
            if rate <= 0:
                raise ValueError(f"severity_rates.{code}: a rate must be positive, got {rate}")
            out[_currency_code(code)] = rate
        return out

    @model_validator(mode="after")
    def _per_currency_severity(self) -> ReconDefinition:
        """The rules again per rated currency, their amounts divided by its rate: a 100,000
        USD threshold is 14,925,373.13 JPY at 0.0067 (sized once, not per exception)."""
        if not self.severity_rates:
            return self
        general = [r for r in self.severity if r.currency is None]
        own = {r.currency for r in self.severity if r.currency is not None}
        extra = [
            r.model_copy(
                update={
                    "currency": code,
                    "min_amount": None
                    if r.min_amount is None
                    else (r.min_amount / rate).quantize(Decimal("0.0001")),
                }
            )
            for code, rate in sorted(self.severity_rates.items())
            if code not in own  # rules written for a currency win over its rate
            for r in general
        ]
        object.__setattr__(self, "severity", (*self.severity, *extra))
        object.__setattr__(self, "severity_rates", {})
        return self

    @model_validator(mode="after")
    def _consistent(self) -> ReconDefinition:
        names = [f.name for f in (*self.keys, *self.compare, *self.context)]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"field names used twice: {sorted(dupes)}")
        compare = {c.name for c in self.compare}
        # each at its own key, so a load error names the line to fix
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.amount_field and self.amount_field not in compare:
            listed = sorted(compare)
            problems.append(
                (("amount_field",), f"{self.amount_field!r} is not a compare field: {listed}")
            )
        if self.currency_field and self.currency_field not in names:
            problems.append(
                (("currency_field",), f"{self.currency_field!r} is not a defined field: {names}")
            )
        if not self.currency_field:
            problems += [
                (("compare", i, "minor_units"), "minor_units tolerances need currency_field")
                for i, c in enumerate(self.compare)
                if c.minor_units is not None
            ]
        _raise_at(problems)
        known = (*BASE_CATEGORIES, *THREE_WAY_CATEGORIES) if self.c else BASE_CATEGORIES
        _raise_at(
            (
                ("categories", name),
                f"unknown category {name!r}"
                + (" (three-sided only)" if name in THREE_WAY_CATEGORIES else "")
                + f"; use {known}",
            )
            for name in self.categories
            if name not in known
        )
        if self.c is None:
            # a c: column without a side C would be silently ignored
            _raise_at(
                ((group, i, "c"), "names a column on side C, but the definition has no side c")
                for group in ("keys", "compare", "context")
                for i, ref in enumerate(getattr(self, group))
                if ref.c is not None
            )
        return self

    @property
    def sides(self) -> tuple[str, ...]:
        """``("a", "b")`` or, for a three-sided definition, ``("a", "b", "c")``."""
        return ("a", "b", "c") if self.c is not None else ("a", "b")

    def category(self, base: str) -> str:
        """The name this definition reports a base category under."""
        if base in self.categories:
            return self.categories[base]
        if base.startswith("DUPLICATE_IN_"):
            return self.categories.get("DUPLICATE", "DUPLICATE")
        return base

    def field(self, name: str) -> FieldRef:
        for ref in (*self.keys, *self.compare, *self.context):
            if ref.name == name:
                return ref
        raise KeyError(name)


def _raise_at(problems: Iterable[tuple[tuple[str | int, ...], str]]) -> None:
    """Raise the problems at their own locations, so load errors name the line of each."""
    errors = [
        InitErrorDetails(type=PydanticCustomError("definition", message), loc=loc, input=None)
        for loc, message in problems
    ]
    if errors:
        raise ValidationError.from_exception_data("ReconDefinition", errors)


# -- loading ----------------------------------------------------------------------------
def _positions(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            out[(*path, key_node.value, "__key__")] = key_node.start_mark.line + 1
            _positions(value_node, (*path, key_node.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _positions(item, (*path, i), out)


def _line_for(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int:
    probe = path
    while probe:
        for candidate in ((*probe, "__key__"), probe):
            if candidate in lines:
                return lines[candidate]
        probe = probe[:-1]
    return lines.get((), 1)


def _errors(exc: ValidationError, file: str, lines: dict[Any, int], base: tuple[Any, ...]) -> str:
    parts = []
    errors = exc.errors()
    locs = [tuple(p for p in e["loc"] if not (isinstance(p, str) and "[" in p)) for e in errors]
    for err, loc in zip(errors, locs, strict=True):
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs):
            continue  # a follow-on of an error inside it (a list short of its bad item)
        where = f"{file}:{_line_for(lines, base + loc)}"
        field = ".".join(str(p) for p in loc) or "<definition>"
        parts.append(f"{where}: {field}: {err['msg']}")
    return "; ".join(parts)


def parse_definitions(text: str, file: str = "<definition>") -> list[ReconDefinition]:
    """Parse a YAML document holding one definition or ``reconciliations: [...]``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"{file}:{line}: not valid YAML: {exc}") from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _positions(node, (), lines)
    if isinstance(data, dict) and "reconciliations" in data:
        items = data["reconciliations"]
        if not isinstance(items, list):
            raise ConfigError(f"{file}:{_line_for(lines, ('reconciliations',))}: must be a list")
        bases: list[tuple[Any, ...]] = [("reconciliations", i) for i in range(len(items))]
    elif isinstance(data, dict):
        items, bases = [data], [()]
    else:
        raise ConfigError(f"{file}:1: expected a mapping with a reconciliation definition")
    result = []
    for item, base in zip(items, bases, strict=True):
        try:
            result.append(ReconDefinition.model_validate(item))
        except ValidationError as exc:
            raise ConfigError(_errors(exc, file, lines, base)) from None
    names = [d.name for d in result]
    if len(set(names)) != len(names):
        raise ConfigError(f"{file}: reconciliation names must be unique, got {names}")
    return result


def load_definitions(path: str | Path) -> list[ReconDefinition]:
    """Read definitions from a YAML file; side paths are resolved against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read reconciliation definitions {path}: {exc}") from None
    defs = parse_definitions(text, str(path))
    return [resolve_paths(d, path.parent) for d in defs]


def resolve_paths(definition: ReconDefinition, folder: Path) -> ReconDefinition:
    sides = {}
    for name in definition.sides:
        side: SideSpec = getattr(definition, name)
        update: dict[str, str] = {}
        for attr in ("path", "mapping"):
            value = getattr(side, attr)
            if value and not Path(value).is_absolute():
                update[attr] = str(folder / value)
        sides[name] = side.model_copy(update=update)
    return definition.model_copy(update=sides)
