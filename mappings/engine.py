"""Apply a mapping spec to one source record (or a group of export rows).

Pure: the source is never mutated, the same input always gives the same output, and a
rule that cannot produce its value is a record-level :class:`MappingError` naming the
record, the target field and the rule's ``file:line:column`` — never a silent default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from billbridge.errors import RecordRejected
from canonical import Record
from mappings.evaluate import SKIPPED, Context, evaluate, explain, test
from mappings.model import Lines, MappingSpec, Rule, alternatives
from mappings.paths import Scope, iter_items, resolve
from mappings.targets import coerce_text, target_model
from mappings.transforms import RuleFailure, is_blank, to_text

Tables = Mapping[str, list[dict[str, str]]]


@dataclass(frozen=True)
class FieldIssue:
    target: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.target}: {self.message} (rule at {self.location})"


class MappingError(RecordRejected):
    """A record could not be mapped; ``issues`` lists every failing target field."""

    def __init__(self, where: str | None, issues: list[FieldIssue]) -> None:
        self.where = where or "<record>"
        self.issues = issues
        super().__init__(f"{self.where}: " + _grouped(issues), code="mapping_error")


def _grouped(issues: list[FieldIssue]) -> str:
    """The issues, those with the same message told once with every field and rule it
    failed (one unknown currency name failed eight money fields with eight copies)."""
    by_message: dict[str, list[FieldIssue]] = {}
    for issue in issues:
        by_message.setdefault(issue.message, []).append(issue)
    parts = []
    for message, same in by_message.items():
        if len(same) == 1:
            parts.append(str(same[0]))
            continue
        fields = ", ".join(dict.fromkeys(i.target for i in same))
        rules = ", ".join(dict.fromkeys(i.location for i in same))
        parts.append(f"{fields}: {message} (rules at {rules})")
    return "; ".join(parts)


@dataclass(frozen=True)
class RuleTrace:
    """What one rule did: read ``sources`` -> ``input``, did ``action``, produced ``output``."""

    target: str
    location: str
    sources: tuple[str, ...]
    input: Any
    output: Any
    action: str


@dataclass
class MappingResult:
    value: Record | dict[str, Any] | None
    trace: list[RuleTrace] = field(default_factory=list)
    where: str | None = None
    source_id: str | None = None
    error: MappingError | None = None
    #: Why the spec's ``filter`` skipped this record (None when mapped).
    skipped: str | None = None
    #: Indexes of the input rows that made this record (row-grouped exports).
    rows: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None


def _as_mapping(source: Mapping[str, Any] | BaseModel) -> Mapping[str, Any]:
    if isinstance(source, BaseModel):
        return source.model_dump()
    return source


def _set(target: dict[Any, Any], dotted: str, value: Any) -> None:
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _finish(node: Any) -> Any:
    """Dicts whose keys are all ints (from ``a.0.b`` targets) become lists in index order."""
    if isinstance(node, dict):
        done = {k: _finish(v) for k, v in node.items()}
        if done and all(isinstance(k, int) for k in done):
            return [done[k] for k in sorted(done)]
        return done
    return node


def _apply_rules(
    spec: MappingSpec,
    rules_section: tuple[Any, ...],
    *,
    rules: Mapping[str, Any],
    scope: Scope,
    ctx: Context,
    out: dict[Any, Any],
    trace: list[RuleTrace],
    issues: list[FieldIssue],
    label: str = "",
) -> None:
    for name, ruleset in rules.items():
        target = f"{label}{name}"
        options = alternatives(ruleset)
        for number, rule in enumerate(options):
            path = (
                (*rules_section, name, number)
                if isinstance(ruleset, list)
                else (*rules_section, name)
            )
            location = spec.location(*path)
            sources = tuple(rule.source_paths())
            try:
                value, action, raw = evaluate(rule, scope, ctx)
            except RuleFailure as exc:
                issues.append(FieldIssue(target, location, str(exc)))
                trace.append(RuleTrace(target, location, sources, None, None, f"failed: {exc}"))
                break
            trace.append(RuleTrace(target, location, sources, raw, value, action))
            if value is SKIPPED or value is None:
                continue  # try the next alternative
            _set(out, name, value)
            break


def _lines(
    spec: MappingSpec,
    index: int,
    *,
    section: Lines,
    root: Scope,
    group: Sequence[Mapping[str, Any]] | None,
    ctx: Context,
    out: dict[Any, Any],
    trace: list[RuleTrace],
    issues: list[FieldIssue],
) -> None:
    if section.from_ is not None:
        # number items across flattened lists so $index is unique within the record
        scopes = [
            replace(s, index=n) for n, s in enumerate(iter_items(root, section.from_), start=1)
        ]
    else:
        scopes = [root.child(row, n) for n, row in enumerate(group or [root.item], start=1)]
    items: list[dict[Any, Any]] = []
    for scope in scopes:
        if section.when is not None and not test(section.when, scope, None):
            continue
        line: dict[Any, Any] = {}
        label = f"{section.target}[{len(items)}]."
        _apply_rules(
            spec,
            ("lines", index, "fields"),
            rules=section.fields,
            scope=scope,
            ctx=ctx,
            out=line,
            trace=trace,
            issues=issues,
            label=label,
        )
        items.append(_finish(line))
    _set(out, section.target, items)


def _key(spec: MappingSpec, scope: Scope) -> str | None:
    parts = [resolve(scope, k) for k in spec.keys]
    if any(is_blank(p) for p in parts):
        return None
    return "-".join(to_text(p).strip() for p in parts)


def _label(loc: list[str]) -> str:
    """``lines.0.sku`` -> ``lines[0].sku`` (as in the trace)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "<record>"


def _validation_issues(spec: MappingSpec, exc: ValidationError) -> list[FieldIssue]:
    issues = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "required, but no rule produced a value (source absent or blank)"
        issues.append(FieldIssue(_label(loc), _rule_location(spec, loc), msg))
    return issues


def _longest(names: Mapping[str, Any], parts: list[str]) -> str | None:
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if name in names:
            return name
    return None


def _rule_location(spec: MappingSpec, loc: list[str]) -> str:
    """The rule behind a model validation error at ``loc`` (a line field or a header one)."""
    for index, section in enumerate(spec.lines):
        target = section.target.split(".")
        if loc[: len(target)] == target and len(loc) > len(target) + 1:
            name = _longest(section.fields, loc[len(target) + 1 :])
            return spec.location("lines", index, *(["fields", name] if name else []))
    name = _longest(spec.fields, loc)
    return spec.location("fields", name) if name else spec.location("target")


def _header_paths(rule: Rule) -> list[str]:
    """Paths a header rule reads from one row (aggregates read all rows on purpose)."""
    if rule.money is not None:
        return _header_paths(rule.money.amount) + _header_paths(rule.money.currency)
    paths = [rule.path] if isinstance(rule.path, str) else list(rule.path or [])
    paths += rule.concat or []
    return [p for p in paths if not p.startswith(("^", "$"))]


def _disagreements(spec: MappingSpec, group: Sequence[Mapping[str, Any]]) -> list[FieldIssue]:
    """Header values that differ between the rows of one record (first two shown)."""
    assert spec.rows is not None
    issues = []
    for name, ruleset in spec.fields.items():
        if name in spec.rows.vary:
            continue
        for path in dict.fromkeys(p for r in alternatives(ruleset) for p in _header_paths(r)):
            seen: dict[str, None] = {}
            for row in group:
                value = resolve(Scope(row), path)
                seen.setdefault("" if is_blank(value) else to_text(value).strip(), None)
            if len(seen) > 1:
                first, second = list(seen)[:2]
                issues.append(
                    FieldIssue(
                        name,
                        spec.location("fields", name),
                        f"rows disagree on {path!r}: {first!r} vs {second!r} "
                        "(list the field under rows.vary to take the first row)",
                    )
                )
    return issues


def _map(
    spec: MappingSpec,
    root: Scope,
    group: Sequence[Mapping[str, Any]] | None,
    where: str | None,
    crosswalks: Tables | None,
) -> MappingResult:
    tables = dict(spec.tables)
    if crosswalks:
        tables.update(crosswalks)
    ctx = Context(tables=tables, rows=group)
    trace: list[RuleTrace] = []
    issues: list[FieldIssue] = []
    source_id = _key(spec, root)
    if spec.filter is not None and not test(spec.filter, root, None):
        why = explain(spec.filter, root, None)
        return MappingResult(
            None,
            where=where,
            source_id=source_id,
            skipped=f"filter at {spec.location('filter')}: {why}",
        )
    if source_id is None:
        issues.append(
            FieldIssue("source_id", spec.location("key"), f"key {', '.join(spec.keys)} is blank")
        )
    if group is not None and len(group) > 1 and spec.rows is not None:
        issues.extend(_disagreements(spec, group))
    out: dict[Any, Any] = {}
    _apply_rules(
        spec,
        ("fields",),
        rules=spec.fields,
        scope=root,
        ctx=ctx,
        out=out,
        trace=trace,
        issues=issues,
    )
    for index, section in enumerate(spec.lines):
        _lines(
            spec,
            index,
            section=section,
            root=root,
            group=group,
            ctx=ctx,
            out=out,
            trace=trace,
            issues=issues,
        )
    built = _finish(out)
    model = target_model(spec.target.entity, spec.target.payload)
    value: Record | dict[str, Any] | None = None
    if not issues:
        if spec.target.entity is not None:
            built.setdefault("source_system", spec.source.system)
            built.setdefault("source_id", source_id)
        if model is None:
            value = built
        else:
            try:
                checked = model.model_validate(coerce_text(model, built))
            except ValidationError as exc:
                issues.extend(_validation_issues(spec, exc))
            else:
                value = checked if isinstance(checked, Record) else built
    if issues:
        error = MappingError(where or (f"record {source_id}" if source_id else None), issues)
        return MappingResult(None, trace, where, source_id, error)
    return MappingResult(value, trace, where, source_id)


def try_apply_spec(
    spec: MappingSpec,
    source: Mapping[str, Any] | BaseModel,
    *,
    where: str | None = None,
    crosswalks: Tables | None = None,
) -> MappingResult:
    """Like :func:`apply_spec` but a failure is returned in ``result.error``."""
    data = _as_mapping(source)
    return _map(spec, Scope(data), [data] if spec.rows else None, where, crosswalks)


def apply_spec(
    spec: MappingSpec,
    source: Mapping[str, Any] | BaseModel,
    *,
    where: str | None = None,
    crosswalks: Tables | None = None,
) -> MappingResult:
    """Map one source record; raises :class:`MappingError` when any rule fails.

    A record the spec's ``filter`` excludes comes back with ``skipped`` set and no value.
    """
    result = try_apply_spec(spec, source, where=where, crosswalks=crosswalks)
    if result.error is not None:
        raise result.error
    return result


def apply_spec_rows(
    spec: MappingSpec,
    rows: Iterable[Mapping[str, Any]],
    *,
    locations: Sequence[str] | None = None,
    crosswalks: Tables | None = None,
) -> list[MappingResult]:
    """Group export rows by the spec's key (first-seen order) and map each group.

    Each group's first row supplies the header fields; every row becomes a line (subject
    to the lines' ``when``). Failures are returned per record in ``result.error`` so one
    bad record does not stop the file; ``locations[i]`` names row ``i`` in messages.
    """
    all_rows = list(rows)
    groups: dict[str, list[int]] = {}
    order: list[tuple[int, str | None]] = []
    for index, row in enumerate(all_rows):
        key = _key(spec, Scope(row))
        if key is None:
            order.append((index, None))
            continue
        if key not in groups:
            groups[key] = []
            order.append((index, key))
        groups[key].append(index)
    results: list[MappingResult] = []
    for index, key in order:
        where = locations[index] if locations else f"row {index + 1}"
        if key is None:
            issue = FieldIssue(
                "source_id", spec.location("key"), f"key {', '.join(spec.keys)} is blank"
            )
            results.append(
                MappingResult(None, where=where, error=MappingError(where, [issue]), rows=(index,))
            )
            continue
        members = groups[key]
        group = [all_rows[i] for i in members]
        result = _map(spec, Scope(group[0]), group, where, crosswalks)
        result.rows = tuple(members)
        results.append(result)
    return results
