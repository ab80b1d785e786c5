"""The mapping spec language as pydantic models: data an analyst edits, never code.

A spec says where records come from (``source``), what they become (``target``), which
source field identifies a record (``key``), and one rule per target field. A rule is a
small declarative dictionary (read a path, concatenate, constant, parse a date with an
explicit format, map values, look up a crosswalk table...). There is no expression
language, no ``eval`` and no templating; ``when`` predicates are fixed shapes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

#: The parse step a rule may declare.
ParseKind = Literal["string", "date", "datetime", "decimal", "integer", "boolean"]
CaseKind = Literal["upper", "lower", "title"]
#: where a rule's value comes from: exactly one per rule
SOURCE_KINDS = ("path", "concat", "const", "money", "sum", "min", "max")
AGGREGATES = ("sum", "min", "max")


class SpecModel(BaseModel):
    """Spec parts refuse unknown keys so a typo in the YAML is an error, not a no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


#: What ``parse: boolean`` reads by default, and what a condition on ``true``/``false`` accepts
TRUE_VALUES = ("true", "yes", "y", "1", "t")
FALSE_VALUES = ("false", "no", "n", "0", "f")


class Predicate(SpecModel):
    """``when``/``filter`` condition: exactly one of equals / in / present / blank.

    ``field`` is a source path; without it the predicate tests the rule's own source value.
    """

    field: str | None = None
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    present: bool | None = None
    blank: bool | None = None

    @model_validator(mode="after")
    def _exactly_one_test(self) -> Predicate:
        given = [
            name
            for name in ("equals", "in_", "not_in", "present", "blank")
            if name in self.model_fields_set
        ]
        if len(given) != 1:
            raise ValueError("a condition needs exactly one of: equals, in, not_in, present, blank")
        return self


class Lookup(SpecModel):
    """Look a value up in a crosswalk table (a CSV file declared under ``crosswalks``)."""

    table: str
    key: str
    value: str


class Rule(SpecModel):
    """How one target field gets its value. Shorthand in YAML: ``field: Source.Path``."""

    # where the value comes from (exactly one); a list of paths takes the first non-blank
    path: str | list[str] | None = None
    concat: list[str] | None = None
    const: Any = None
    money: MoneyRule | None = None
    #: aggregates over the record's rows (row-grouped exports) or a source list
    sum: str | None = None
    min: str | None = None
    max: str | None = None
    separator: str = " "
    # conditions and fallbacks
    when: Predicate | None = None
    default: Any = None
    # normalisation
    strip: bool = True
    collapse_whitespace: bool = False
    case: CaseKind | None = None
    # translation
    map: dict[str, Any] | None = None
    map_default: Any = None
    lookup: Lookup | None = None
    #: text added around a non-blank value (``prefix: "SF-"`` for NetSuite external ids)
    prefix: str | None = None
    suffix: str | None = None
    # parsing
    parse: ParseKind | None = None
    format: str | list[str] | None = None
    timezone: str | None = None
    decimal_separator: str = "."
    thousands_separator: str | None = None
    true_values: list[str] = Field(default_factory=lambda: list(TRUE_VALUES))
    false_values: list[str] = Field(default_factory=lambda: list(FALSE_VALUES))

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"path": value}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Rule:
        sources = [name for name in SOURCE_KINDS if name in self.model_fields_set]
        if len(sources) != 1:
            raise ValueError(
                f"a rule needs exactly one of: {', '.join(SOURCE_KINDS)} "
                f"(got {', '.join(sources) or 'none'})"
            )
        return self

    @property
    def source_kind(self) -> str:
        for name in SOURCE_KINDS:
            if name in self.model_fields_set:
                return name
        return "path"  # unreachable: the validator requires one

    def source_paths(self) -> list[str]:
        """Every source path this rule reads (for validation and preview)."""
        paths: list[str] = []
        if isinstance(self.path, str):
            paths.append(self.path)
        elif self.path is not None:
            paths.extend(self.path)
        if self.concat:
            paths.extend(self.concat)
        paths.extend(p for p in (self.sum, self.min, self.max) if p is not None)
        if self.money is not None:
            paths.extend(self.money.amount.source_paths())
            paths.extend(self.money.currency.source_paths())
        if self.when is not None and self.when.field:
            paths.append(self.when.field)
        return paths


class MoneyRule(SpecModel):
    """A Money value from an amount rule and a currency rule (both shorthand-able)."""

    amount: Rule
    currency: Rule


Rule.model_rebuild()

#: One rule, or alternatives tried in order: the first whose ``when`` holds and whose
#: value is not blank wins (``[{const: TERMED, when: ...}, {const: EVERGREEN}]``).
Rules = Annotated[
    Annotated[Rule, Tag("<rule>")] | Annotated[list[Rule], Tag("<rules>")],
    Discriminator(lambda v: "<rules>" if isinstance(v, list) else "<rule>"),
]


def alternatives(rules: Rules) -> list[Rule]:
    return rules if isinstance(rules, list) else [rules]


class Source(SpecModel):
    system: str
    #: Vendor object (``Opportunity``) or canonical entity when reading canonical records.
    object: str | None = None
    #: For file exports: a description of the export (report name, saved search...).
    export: str | None = None
    format: Literal["json", "csv", "xlsx", "canonical"] = "json"


class Target(SpecModel):
    #: Canonical entity name (``contract``) — or ``payload`` for a vendor request body.
    entity: str | None = None
    payload: str | None = None
    system: str | None = None

    @model_validator(mode="after")
    def _entity_or_payload(self) -> Target:
        if (self.entity is None) == (self.payload is None):
            raise ValueError("target needs exactly one of: entity, payload")
        return self


class Lines(SpecModel):
    """Expand line items: a nested source list (``from``) or, for flat exports, the rows."""

    target: str = "lines"
    from_: str | None = Field(default=None, alias="from")
    when: Predicate | None = None
    fields: dict[str, Rules]


class Rows(SpecModel):
    """Flat export with one row per line: rows sharing ``key`` form one record.

    Header fields read from one row must repeat on every row of the record; a record whose
    rows disagree is an error, except for the target fields listed in ``vary`` (then the
    first row wins). Use ``min``/``max``/``sum`` rules to combine row values instead.
    """

    vary: list[str] = Field(default_factory=list)


class MappingSpec(SpecModel):
    name: str
    description: str | None = None
    source: Source
    target: Target
    #: Source path(s) whose value is the record's ``source_id`` (joined with ``-``).
    key: str | list[str]
    filter: Predicate | None = None
    rows: Rows | None = None
    fields: dict[str, Rules]
    lines: list[Lines] = Field(default_factory=list)
    #: Crosswalk tables used by ``lookup`` rules: name -> CSV path relative to the spec.
    crosswalks: dict[str, str] = Field(default_factory=dict)

    _file: str = PrivateAttr(default="<spec>")
    _positions: dict[tuple[Any, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)
    _version: str = PrivateAttr(default="")
    _tables: dict[str, list[dict[str, str]]] = PrivateAttr(default_factory=dict)
    #: crosswalk name -> (file as shown in messages, line of each row), for validation
    _table_lines: dict[str, tuple[str, list[int]]] = PrivateAttr(default_factory=dict)

    @field_validator("lines", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @property
    def version(self) -> str:
        """sha256 of the canonical spec content (plus crosswalk tables)."""
        return self._version

    @property
    def file(self) -> str:
        return self._file

    @property
    def tables(self) -> dict[str, list[dict[str, str]]]:
        return self._tables

    def table_row_location(self, table: str, index: int) -> str | None:
        """``file:line`` of row ``index`` of a crosswalk loaded from a file."""
        file, lines = self._table_lines.get(table, ("", []))
        return f"{file}:{lines[index]}" if index < len(lines) else None

    @property
    def keys(self) -> list[str]:
        return [self.key] if isinstance(self.key, str) else list(self.key)

    def location(self, *path: Any) -> str:
        """``file:line:column`` of the YAML node at ``path`` (nearest known ancestor)."""
        parts = tuple(path)
        while parts:
            pos = self._positions.get(parts)
            if pos is not None:
                return f"{self._file}:{pos[0]}:{pos[1]}"
            parts = parts[:-1]
        return f"{self._file}:1:1"
