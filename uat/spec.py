"""UAT spec: YAML validated by pydantic; every error names file:line and the field.

A spec names, per entity, a legacy and a new-system source, the code translation tables
applied to the legacy side, tolerances, root-cause settings and declarative expectations.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from billbridge.errors import ConfigError
from reconcile.definitions import _line_for, _positions
from uat.kinds import KINDS, EntityKindName

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceError(ConfigError):
    """A source the spec names is wrong (no such file, sheet, mapping, connector, column).
    ``field`` is the spec key under the source's node, so the caller can name file:line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SourceSpec(_Spec):
    """Where one side of an entity comes from: a file (raw columns or a mapping spec) or a
    live source hook registered under ``connector``."""

    path: str | None = None
    format: Literal["csv", "xlsx", "parquet"] | None = None
    sheet: str | None = None
    #: mapping spec: a shipped name (``exports/legacy_customers``) or a YAML path
    mapping: str | None = None
    #: canonical field -> source column (raw files; unnamed fields use their own name)
    columns: dict[str, str] = Field(default_factory=dict)
    connector: str | None = None
    #: the raw file writes numbers with a decimal comma (1.234,56): declared, never guessed
    decimal_comma: bool = False
    #: how the raw file writes dates that read both ways (01/02/2024); dates that say it
    #: themselves (31.01.2024, 1/31/2024, Jan 31, 2024) are read without it
    dates: Literal["day_first", "month_first"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SourceSpec:
        if (self.path is None) == (self.connector is None):
            raise ValueError("give exactly one of path or connector")
        if self.mapping and self.columns:
            raise ValueError("columns apply to raw files; a mapping spec names its own fields")
        if (self.mapping or self.connector) and (self.decimal_comma or self.dates):
            raise ValueError(
                "decimal_comma and dates apply to raw files; a mapping spec or connector "
                "parses its own values"
            )
        if self.connector and (self.mapping or self.format or self.sheet):
            raise ValueError("a connector source takes no mapping, format or sheet")
        return self


class TranslationSpec(_Spec):
    """A CSV of old code -> new code."""

    path: str
    old: str = "old"
    new: str = "new"


class ToleranceSpec(_Spec):
    abs: Decimal = Decimal(0)
    pct: Decimal = Decimal(0)
    days: int = 0

    @model_validator(mode="after")
    def _positive(self) -> ToleranceSpec:
        if min(self.abs, self.pct) < 0 or self.days < 0:
            raise ValueError("tolerances cannot be negative")
        return self


class EntitySpec(_Spec):
    name: str
    kind: EntityKindName
    legacy: SourceSpec
    new: SourceSpec
    #: field -> translation table name, applied to the legacy side before matching
    translate: dict[str, str] = Field(default_factory=dict)
    #: compared fields (default: all of the kind's fields)
    fields: tuple[str, ...] | None = None
    tolerances: dict[str, ToleranceSpec] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"{value!r} is not a plain name (letters, digits, _ and -)")
        return value

    @field_validator("fields")
    @classmethod
    def _fields_once(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not value:
            raise ValueError(
                "lists no field, so nothing would be compared; name the fields to compare, "
                "or leave fields: out to compare all of the kind's fields"
            )
        repeated = sorted({f for f in value or () if (value or ()).count(f) > 1})
        if repeated:
            names = ", ".join(map(repr, repeated))
            raise ValueError(f"{names} listed more than once; name each compared field once")
        return value

    def compared(self) -> tuple[str, ...]:
        kind = KINDS[self.kind]
        return self.fields or tuple(f.name for f in kind.fields)


class RateChange(_Spec):
    old: Decimal
    new: Decimal


class RootCauseSpec(_Spec):
    #: tax rate changes the migration knows about (0.19 -> 0.16)
    rate_changes: tuple[RateChange, ...] = ()
    #: a gap up to this is "rounding drift" (0: none tolerated; never negative)
    rounding: Decimal = Field(default=Decimal("0.01"), ge=0)
    #: occurrences needed before a constant date shift or scale factor is a pattern
    min_group: int = Field(default=2, ge=1)
    #: root causes listed per entity on the summary
    top: int = Field(default=10, ge=1)


class _Expect(_Spec):
    entity: str
    name: str | None = None
    #: failing keys listed as evidence
    examples: int = Field(default=10, ge=1, le=1000)


class MatchRate(_Expect):
    type: Literal["match_rate"]
    min_pct: Decimal = Field(ge=0, le=100)


Category = Literal[
    "MISSING_IN_A", "MISSING_IN_B", "DUPLICATE", "DUPLICATE_IN_A", "DUPLICATE_IN_B",
    "AMOUNT_MISMATCH", "DATE_MISMATCH", "STATUS_MISMATCH", "FIELD_MISMATCH", "MANY_TO_ONE",
]  # fmt: skip
#: root-cause patterns (uat.rootcause)
Pattern = Literal[
    "missing_in_new", "extra_in_new", "duplicate", "untranslated_code", "tax_rate_change",
    "rounding_drift", "scaled_by_factor", "date_shift", "date_differs", "value_differs",
    "merged_by_translation",
]  # fmt: skip


class NoExceptions(_Expect):
    """No exceptions of a category (or of a root-cause pattern; neither: none at all).

    Names are checked, so a misspelt category cannot make a gate pass silently."""

    type: Literal["no_exceptions"]
    category: Category | None = None
    root_cause: Pattern | None = None


class CountEqual(_Expect):
    type: Literal["count_equal"]


class NotBlank(_Expect):
    type: Literal["not_blank"]
    field: str
    side: Literal["legacy", "new"] = "new"


class AmountsMatch(_Expect):
    """Every record whose ``field`` is over ``over`` matches within ``max_delta``."""

    type: Literal["amounts_match"]
    field: str
    over: Decimal = Decimal(0)
    max_delta: Decimal = Field(default=Decimal(0), ge=0)
    #: only records whose fields equal these values (either system), e.g. {currency: EUR}
    where: dict[str, str] = Field(default_factory=dict)


class Ties(_Expect):
    """Per group (default: the entity's keys) the summed delta of ``field`` is zero."""

    type: Literal["ties"]
    field: str
    by: tuple[str, ...] = ()


Expectation = Annotated[
    MatchRate | NoExceptions | CountEqual | NotBlank | AmountsMatch | Ties,
    Field(discriminator="type"),
]


class UatSpec(_Spec):
    name: str
    description: str = ""
    translations: dict[str, TranslationSpec] = Field(default_factory=dict)
    rootcause: RootCauseSpec = RootCauseSpec()
    entities: tuple[EntitySpec, ...] = Field(min_length=1)
    expectations: tuple[Expectation, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"{value!r} is not a plain name (letters, digits, _ and -)")
        return value

    #: the file and the line of each part, for errors found when its sources are read
    _file: str = PrivateAttr("<spec>")
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)

    def entity(self, name: str) -> EntitySpec:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    def where(self, *loc: Any) -> str:
        """``file:line: dotted.location`` of a part of the spec, as spec errors start."""
        return f"{self._file}:{_line_for(self._lines, loc)}: {'.'.join(map(str, loc))}"


# -- loading ----------------------------------------------------------------------------
def _entity_fields(i: int, e: EntitySpec) -> list[tuple[tuple[Any, ...], str]]:
    kind = KINDS[e.kind]
    known, compared = set(kind.columns), {f.name for f in kind.fields}
    groups: list[tuple[tuple[Any, ...], list[str], set[str]]] = [
        (("translate",), list(e.translate), known),
        (("fields",), list(e.fields or ()), compared),
        (("tolerances",), list(e.tolerances), compared),
        (("legacy", "columns"), list(e.legacy.columns), known),
        (("new", "columns"), list(e.new.columns), known),
    ]
    out: list[tuple[tuple[Any, ...], str]] = []
    for where, names, allowed in groups:
        for name in names:
            if name not in allowed:
                msg = f"{e.kind} has no field {name!r}; use one of {sorted(allowed)}"
                out.append((("entities", i, *where, name), msg))
    chosen = set(e.compared())
    for name, tol in e.tolerances.items():
        if name not in compared:
            continue
        loc = ("entities", i, "tolerances", name)
        if name not in chosen:
            msg = f"{name!r} is not compared (fields: {list(e.compared())}), so its tolerance "
            msg += "would do nothing; compare it or drop the tolerance"
            out.append((loc, msg))
            continue
        fkind = kind.field(name).kind
        if fkind not in ("amount", "number") and (tol.abs or tol.pct):
            out.append((loc, "abs/pct only apply to amounts and numbers"))
        if fkind != "date" and tol.days:
            out.append((loc, "days only applies to dates"))
    return out


def _real_loc(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop the parts of a pydantic location that are not in the document (union tags)."""
    out: list[Any] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part == node.get("type"):
            continue
        else:
            node = None
        out.append(part)
    return tuple(out)


def _validation_message(exc: ValidationError, file: str, lines: dict[Any, int], data: Any) -> str:
    errors = exc.errors()
    # a failed item also fails its tuple's min_length; that second error only confuses
    real = [e for e in errors if e["type"] != "too_short"] or errors
    parts = []
    for err in real:
        loc = _real_loc(tuple(err["loc"]), data)
        field = ".".join(str(p) for p in loc) or "<spec>"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{file}:{_line_for(lines, loc)}: {field}: {msg}")
    return "; ".join(parts)


def _cross_check(spec: UatSpec) -> list[tuple[tuple[Any, ...], str]]:
    """References between parts of the spec: (location, message) per problem."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    names = [e.name for e in spec.entities]
    for i, e in enumerate(spec.entities):
        if names.count(e.name) > 1:
            problems.append((("entities", i, "name"), f"entity name {e.name!r} used twice"))
        for fname, table in e.translate.items():
            if table not in spec.translations:
                problems.append(
                    (
                        ("entities", i, "translate", fname),
                        f"no translation table {table!r}; declared: {sorted(spec.translations)}",
                    )
                )
    for i, e in enumerate(spec.entities):
        problems += _entity_fields(i, e)
    for i, x in enumerate(spec.expectations):
        if x.entity not in names:
            problems.append(((("expectations", i, "entity")), f"unknown entity {x.entity!r}"))
            continue
        entity = spec.entity(x.entity)
        kind = KINDS[entity.kind]
        fields = [("field", getattr(x, "field", None))]
        fields += [("by", f) for f in getattr(x, "by", ())]
        fields += [("where", f) for f in getattr(x, "where", {})]
        for where, f in fields:
            if f is not None and f not in kind.columns:
                problems.append((("expectations", i, where), f"{kind.name} has no field {f!r}"))
        numeric = [f.name for f in kind.fields if f.kind in ("amount", "number")]
        amount = x.field if isinstance(x, AmountsMatch | Ties) else None
        if amount in kind.columns and (amount not in entity.compared() or amount not in numeric):
            msg = f"{amount!r} is not a compared amount of {x.entity!r}"
            problems.append((("expectations", i, "field"), msg))
    return problems


def _yaml_message(exc: yaml.YAMLError, text: str, file: str) -> str:
    """One line naming where the YAML breaks. A construct left open (a quote, a bracket)
    is only noticed at the end of the file: then its start is the line to fix."""
    mark = getattr(exc, "problem_mark", None)
    start = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None)
    line = mark.line + 1 if mark is not None else 1
    at_end = mark is not None and not text[mark.index :].strip()
    if start is not None and (at_end or mark is None):
        line = start.line + 1
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    where = f" ({context}, line {start.line + 1})" if context and start is not None else ""
    return f"{file}:{line}: not valid YAML: {problem}{where}"


def _duplicate_keys(node: yaml.Node, path: tuple[Any, ...], file: str) -> list[str]:
    """PyYAML keeps the last of two equal keys without a word; a spec must not (a second
    ``legacy:`` would silently replace the first). One message per repeated key."""
    out: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line, name = key.start_mark.line + 1, (key.tag, key.value)
                if name in first:
                    where = ".".join(map(str, (*path, key.value)))
                    was = first[name]
                    out.append(f"{file}:{line}: {where}: duplicate key (first at line {was})")
                first.setdefault(name, line)
            out += _duplicate_keys(value, (*path, getattr(key, "value", "?")), file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out += _duplicate_keys(item, (*path, i), file)
    return out


def parse_spec(text: str, file: str = "<spec>") -> UatSpec:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc, text, file)) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        duplicates = _duplicate_keys(node, (), file)
        if duplicates:
            raise ConfigError("; ".join(duplicates))
        _positions(node, (), lines)
    if not isinstance(data, dict):
        raise ConfigError(f"{file}:1: expected a mapping with a UAT spec")
    try:
        spec = UatSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_validation_message(exc, file, lines, data)) from None
    spec._file, spec._lines = file, lines
    problems = _cross_check(spec)
    if problems:
        raise ConfigError("; ".join(f"{spec.where(*loc)}: {msg}" for loc, msg in problems))
    return spec


def load_spec(path: str | Path) -> tuple[UatSpec, Path]:
    """Read a spec file; returns the spec and the folder its relative paths start from."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read UAT spec {path}: {exc}") from None
    return parse_spec(text, str(path)), path.parent
