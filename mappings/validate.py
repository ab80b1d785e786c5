"""Static checks of a spec: every problem at once, each at ``file:line:column``.

Catches unknown source fields (against a connector's field list or a sample file's
header), unknown target fields, type mismatches, required target fields left unmapped,
and rules that can never apply. Suggestions use difflib's closest match.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from canonical import ENTITIES
from connectors.base import FieldInfo
from mappings.model import Lines, MappingSpec, Predicate, Rule, Rules
from mappings.paths import root_field, split_path
from mappings.targets import (
    ENGINE_FIELDS,
    FREE_DICTS,
    PAYLOADS,
    FieldType,
    field_type,
    model_fields,
    target_model,
)

#: parse kind -> target kinds it can feed
_PARSE_FEEDS = {
    "date": {"date", "any", "text"},
    "datetime": {"datetime", "any", "text"},
    "decimal": {"decimal", "any"},
    "integer": {"integer", "decimal", "any"},
    "boolean": {"boolean", "any"},
    "string": {"text", "any", "enum"},
}


@dataclass(frozen=True)
class Problem:
    location: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.field}: {self.message}"


def suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Checker:
    def __init__(self, spec: MappingSpec, source_fields: Sequence[str] | None) -> None:
        self.spec = spec
        self.source_fields = list(source_fields) if source_fields is not None else None
        self.problems: list[Problem] = []

    def add(self, path: tuple[Any, ...], field: str, message: str) -> None:
        self.problems.append(Problem(self.spec.location(*path), field, message))

    # source side ---------------------------------------------------------
    def source_path(
        self, where: tuple[Any, ...], field: str, path: str, *, nested: bool, header: bool = True
    ) -> None:
        """``nested``: read inside a line item; ``header``: relative paths read the record's
        own fields (false for items of a nested list, whose fields are not described)."""
        ups, from_record, _rest = split_path(path)
        if ups and not nested:
            self.add(where, field, f"{path!r} reads an enclosing item, but this rule has none")
            return
        if self.source_fields is None or (not header and not from_record):
            return
        name = root_field(path)
        if name is None or name in self.source_fields or path in self.source_fields:
            return
        self.add(where, field, f"unknown source field {name!r}" + suggest(name, self.source_fields))

    def predicate(
        self, where: tuple[Any, ...], field: str, pred: Predicate, nested: bool, header: bool
    ) -> None:
        if pred.field:
            self.source_path((*where, "field"), field, pred.field, nested=nested, header=header)
        if "in_" in pred.model_fields_set and not pred.in_:
            self.add(where, field, "condition 'in: []' can never be true")

    # target side ---------------------------------------------------------
    def rule(
        self,
        where: tuple[Any, ...],
        name: str,
        rule: Rule,
        ftype: FieldType | None,
        *,
        nested: bool,
        header: bool = True,
    ) -> None:
        for path_index, path in enumerate(_own_paths(rule)):
            sub = (*where, rule.source_kind)
            if isinstance(rule.path, list) or rule.concat:
                sub = (*sub, path_index)
            self.source_path(sub, name, path, nested=nested, header=header)
        if rule.money is not None:
            for part in ("amount", "currency"):
                sub_rule: Rule = getattr(rule.money, part)
                self.rule(
                    (*where, "money", part),
                    f"{name}.{part}",
                    sub_rule,
                    None,
                    nested=nested,
                    header=header,
                )
        if rule.when is not None:
            self.predicate((*where, "when"), name, rule.when, nested, header)
        self.never_applies(where, name, rule)
        if ftype is not None:
            self.types(where, name, rule, ftype)

    def never_applies(self, where: tuple[Any, ...], name: str, rule: Rule) -> None:
        fields = rule.model_fields_set
        if rule.source_kind == "const":
            if rule.when is not None and not rule.when.field:
                self.add(
                    (*where, "when"),
                    name,
                    "'when' on a constant tests nothing that varies: give it a 'field'",
                )
            if "default" in fields:
                self.add(
                    (*where, "default"), name, "a constant is never blank: 'default' is unused"
                )
            for opt in ("map", "lookup", "parse", "format"):
                if opt in fields:
                    self.add((*where, opt), name, f"'{opt}' does nothing on a constant")
        if "map_default" in fields and rule.map is None:
            self.add((*where, "map_default"), name, "'map_default' without a 'map'")
        if rule.map is not None:
            for key in rule.map:
                if _unreachable(key, rule):
                    self.add(
                        (*where, "map", key),
                        name,
                        f"value map key {key!r} can never match: values are normalised first "
                        f"(case: {rule.case}, strip: {rule.strip})",
                    )
        if ("format" in fields or "timezone" in fields) and rule.parse not in ("date", "datetime"):
            self.add(where, name, "'format'/'timezone' only apply with 'parse: date' or datetime")
        if rule.lookup is not None:
            table = self.spec.tables.get(rule.lookup.table)
            if table is None:
                self.add(
                    (*where, "lookup", "table"),
                    name,
                    f"crosswalk {rule.lookup.table!r} is not declared under 'crosswalks'"
                    + suggest(rule.lookup.table, self.spec.tables),
                )
            elif table:
                for column in (rule.lookup.key, rule.lookup.value):
                    if column not in table[0]:
                        self.add(
                            (*where, "lookup"),
                            name,
                            f"crosswalk {rule.lookup.table!r} has no column {column!r}"
                            + suggest(column, table[0]),
                        )
                self.blank_cells(where, name, rule)

    def blank_cells(self, where: tuple[Any, ...], name: str, rule: Rule) -> None:
        """Rows whose looked-up value is blank: every record hitting one fails."""
        assert rule.lookup is not None
        lookup = rule.lookup
        rows = self.spec.tables.get(lookup.table) or []
        if not rows or lookup.key not in rows[0] or lookup.value not in rows[0]:
            return
        rule_at = self.spec.location(*where, "lookup")
        for index, row in enumerate(rows):
            key = (row.get(lookup.key) or "").strip()
            if key and not (row.get(lookup.value) or "").strip():
                self.problems.append(
                    Problem(
                        self.spec.table_row_location(lookup.table, index) or rule_at,
                        name,
                        f"crosswalk {lookup.table!r} row {key!r} has a blank {lookup.value!r}: "
                        f"records with that value will fail (lookup at {rule_at})",
                    )
                )

    def types(self, where: tuple[Any, ...], name: str, rule: Rule, ftype: FieldType) -> None:
        if ftype.kind == "money" and rule.source_kind not in ("money", "const"):
            self.add(where, name, "a Money field needs a 'money' rule with amount and currency")
        if rule.money is not None and ftype.kind not in ("money", "any"):
            self.add((*where, "money"), name, f"'money' rule on a {ftype.kind} field")
        if rule.parse is not None and ftype.kind not in _PARSE_FEEDS[rule.parse]:
            self.add(
                (*where, "parse"), name, f"'parse: {rule.parse}' cannot feed a {ftype.kind} field"
            )
        if ftype.annotation is None or ftype.kind in ("any", "money"):
            return
        fields = rule.model_fields_set
        candidates: list[tuple[tuple[Any, ...], Any]] = []
        if "const" in fields:
            candidates.append(((*where, "const"), rule.const))
        if "default" in fields:
            candidates.append(((*where, "default"), rule.default))
        if rule.map is not None and rule.parse is None:
            candidates += [((*where, "map", k), v) for k, v in rule.map.items()]
        if "map_default" in fields:
            candidates.append(((*where, "map_default"), rule.map_default))
        adapter: TypeAdapter[Any] = TypeAdapter(ftype.annotation)
        for path, value in candidates:
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                hint = suggest(str(value), ftype.choices) if ftype.choices else ""
                msg = exc.errors()[0]["msg"]
                self.add(path, name, f"value {value!r} does not fit the target: {msg}{hint}")

    def target_field(
        self, where: tuple[Any, ...], name: str, model: type[BaseModel]
    ) -> FieldType | None:
        head = name.split(".", maxsplit=1)[0]
        if head in FREE_DICTS and "." in name:
            return None
        if name == "source_id":
            self.add(where, name, "source_id comes from the spec's 'key'; remove this rule")
            return None
        ftype = field_type(model, name)
        if ftype is None:
            known = _dotted_names(model, name)
            self.add(
                where,
                name,
                f"unknown target field {name!r} for {model.__name__}" + suggest(name, known),
            )
        return ftype


def _each(where: tuple[Any, ...], ruleset: Rules) -> list[tuple[tuple[Any, ...], Rule]]:
    if isinstance(ruleset, list):
        return [((*where, i), r) for i, r in enumerate(ruleset)]
    return [(where, ruleset)]


def _own_paths(rule: Rule) -> list[str]:
    if isinstance(rule.path, str):
        return [rule.path]
    if rule.path is not None:
        return list(rule.path)
    if rule.concat:
        return list(rule.concat)
    return [p for p in (rule.sum, rule.min, rule.max) if p]


def _unreachable(key: str, rule: Rule) -> bool:
    text = key
    if rule.strip and text != text.strip():
        return True
    if rule.collapse_whitespace and "  " in text:
        return True
    if rule.case == "upper":
        return text != text.upper()
    if rule.case == "lower":
        return text != text.lower()
    if rule.case == "title":
        return text != text.title()
    return False


def _dotted_names(model: type[BaseModel], name: str) -> list[str]:
    """Candidate names at the level where ``name`` stops matching."""
    prefix: list[str] = []
    current: type[BaseModel] | None = model
    for part in name.split("."):
        if current is None:
            break
        if part.isdigit() and prefix:
            prefix.append(part)  # list index: same item model
            continue
        fields = model_fields(current)
        if part not in fields:
            return [".".join([*prefix, f]) for f in fields]
        prefix.append(part)
        current = fields[part].model
    return []


def _required(model: type[BaseModel]) -> list[str]:
    return [n for n, t in model_fields(model).items() if t.required and n not in ENGINE_FIELDS]


def _covered(name: str, mapped: Iterable[str]) -> bool:
    return any(m == name or m.startswith(f"{name}.") for m in mapped)


def _lines(check: _Checker, index: int, section: Lines, model: type[BaseModel]) -> None:
    where = ("lines", index)
    header = section.from_ is None  # row-grouped lines read the same columns as the record
    if section.from_ is not None:
        # a child list (Salesforce subquery, NetSuite sublist) is not among the parent's fields
        check.source_path(
            (*where, "from"), section.target, section.from_, nested=False, header=False
        )
    elif check.spec.rows is None and check.spec.source.format in ("json", "canonical"):
        check.add(where, section.target, "lines need 'from' (a nested list) or 'rows:' grouping")
    if section.when is not None:
        check.predicate((*where, "when"), section.target, section.when, True, header)
    ftype = field_type(model, section.target)
    if ftype is None or ftype.kind != "list" or ftype.model is None:
        known = [n for n, t in model_fields(model).items() if t.kind == "list"]
        check.add(
            (*where, "target"),
            section.target,
            f"{section.target!r} is not a list of lines on {model.__name__}"
            + suggest(section.target, known),
        )
        return
    item_model = ftype.model
    for name, ruleset in section.fields.items():
        fwhere = (*where, "fields", name)
        ftype_item = check.target_field(fwhere, name, item_model)
        for rwhere, rule in _each(fwhere, ruleset):
            check.rule(
                rwhere, f"{section.target}.{name}", rule, ftype_item, nested=True, header=header
            )
    for name in _required(item_model):
        if not _covered(name, section.fields):
            check.add(
                (*where, "fields"),
                f"{section.target}.{name}",
                f"required field {name!r} of {item_model.__name__} has no rule",
            )


def source_names(fields: Sequence[FieldInfo] | Sequence[str] | None) -> list[str] | None:
    """Names a path may start with: the fields, plus the relationship names of reference
    fields (Salesforce ``AccountId`` -> ``Account``, ``Parent__c`` -> ``Parent__r``)."""
    if fields is None:
        return None
    names: list[str] = []
    for item in fields:
        if not isinstance(item, FieldInfo):
            names.append(str(item))
            continue
        names.append(item.name)
        if item.reference_to or item.type == "reference":
            if item.name.endswith("Id") and len(item.name) > 2:
                names.append(item.name[:-2])
            elif item.name.endswith("__c"):
                names.append(item.name[:-3] + "__r")
    return names


def validate_spec(
    spec: MappingSpec, *, source_fields: Sequence[FieldInfo] | Sequence[str] | None = None
) -> list[Problem]:
    """Every problem in ``spec``; ``source_fields`` (connector fields or a file header)
    enables the unknown-source-field check."""
    check = _Checker(spec, source_names(source_fields))
    model = target_model(spec.target.entity, spec.target.payload)
    if model is None:
        if spec.target.entity is not None:
            check.add(
                ("target", "entity"),
                "target",
                f"unknown canonical entity {spec.target.entity!r}"
                + suggest(spec.target.entity, ENTITIES),
            )
        else:
            name = spec.target.payload or ""
            check.add(
                ("target", "payload"),
                "target",
                f"unknown payload schema {name!r}" + suggest(name, PAYLOADS),
            )
        return check.problems
    for index, key in enumerate(spec.keys):
        sub = ("key", index) if isinstance(spec.key, list) else ("key",)
        check.source_path(sub, "key", key, nested=False)
    if spec.filter is not None:
        check.predicate(("filter",), "filter", spec.filter, False, True)
    for index, name in enumerate(spec.rows.vary if spec.rows else []):
        if name not in spec.fields:
            check.add(
                ("rows", "vary", index),
                "rows.vary",
                f"{name!r} is not a field of this spec" + suggest(name, spec.fields),
            )
    for name, ruleset in spec.fields.items():
        where = ("fields", name)
        ftype = check.target_field(where, name, model)
        for rwhere, rule in _each(where, ruleset):
            check.rule(rwhere, name, rule, ftype, nested=False)
    for index, section in enumerate(spec.lines):
        _lines(check, index, section, model)
    mapped = list(spec.fields) + [s.target for s in spec.lines]
    for name in _required(model):
        if not _covered(name, mapped):
            check.add(("fields",), name, f"required field {name!r} of {model.__name__} has no rule")
    return check.problems
