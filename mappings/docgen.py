"""Field-by-field reference of the shipped specs, generated into docs/mappings.md.

``python -m mappings.docgen docs/mappings.md`` rewrites the section between the markers;
a test fails when the document is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mappings.model import Lines, MappingSpec, Predicate, Rule, alternatives
from mappings.registry import SPECS_DIR, default_spec, default_spec_names

BEGIN = "<!-- BEGIN GENERATED: default specs (python -m mappings.docgen docs/mappings.md) -->"
END = "<!-- END GENERATED -->"


def _pred(pred: Predicate) -> str:
    subject = f"`{pred.field}`" if pred.field else "value"
    fields = pred.model_fields_set
    if "equals" in fields:
        return f"{subject} = `{pred.equals}`"
    if "in_" in fields:
        return f"{subject} in {pred.in_}"
    if "not_in" in fields:
        return f"{subject} not in {pred.not_in}"
    if "present" in fields:
        return f"{subject} {'present' if pred.present else 'absent'}"
    return f"{subject} {'blank' if pred.blank else 'not blank'}"


def _rule(rule: Rule) -> str:
    kind = rule.source_kind
    if kind == "const":
        text = f"constant `{rule.const}`"
    elif kind == "money":
        assert rule.money is not None
        text = f"money({_rule(rule.money.amount)}, {_rule(rule.money.currency)})"
    elif kind == "concat":
        text = "concat(" + ", ".join(f"`{p}`" for p in rule.concat or []) + ")"
    elif kind in ("sum", "min", "max"):
        text = f"{kind} of `{getattr(rule, kind)}` over the rows"
    elif isinstance(rule.path, list):
        text = "first of " + ", ".join(f"`{p}`" for p in rule.path)
    else:
        text = f"`{rule.path}`"
    notes: list[str] = []
    if rule.case:
        notes.append(rule.case)
    if rule.collapse_whitespace:
        notes.append("spaces collapsed")
    if rule.map is not None:
        pairs = ", ".join(f"{k}→{v}" for k, v in rule.map.items())
        rest = f"; else {rule.map_default}" if "map_default" in rule.model_fields_set else ""
        notes.append(f"map {pairs}{rest}")
    if rule.lookup is not None:
        notes.append(f"lookup {rule.lookup.table}.{rule.lookup.key}→{rule.lookup.value}")
    if rule.prefix or rule.suffix:
        notes.append(f"'{rule.prefix or ''}…{rule.suffix or ''}'")
    if rule.parse:
        fmt = f" {rule.format}" if rule.format else ""
        tz = f" in {rule.timezone}" if rule.timezone else ""
        notes.append(f"{rule.parse}{fmt}{tz}".replace("|", "\\|"))
    if rule.thousands_separator or rule.decimal_separator != ".":
        notes.append(f"decimal '{rule.decimal_separator}' thousands '{rule.thousands_separator}'")
    if rule.when is not None:
        notes.append(f"when {_pred(rule.when)}")
    if "default" in rule.model_fields_set:
        notes.append(f"default `{rule.default}`")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _rows(fields: dict[str, Rule | list[Rule]], prefix: str = "") -> list[str]:
    out = []
    for name, ruleset in fields.items():
        text = " — else ".join(_rule(r) for r in alternatives(ruleset))
        out.append(f"| `{prefix}{name}` | {text} |")
    return out


def _lines(section: Lines) -> str:
    source = f"`{section.from_}`" if section.from_ else "each export row of the record"
    when = f", when {_pred(section.when)}" if section.when else ""
    return f"Lines `{section.target}` from {source}{when}:"


def header_comment(path: Path) -> list[str]:
    """The comment block a spec file starts with (queries, columns, caveats)."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:].removeprefix(" "))
    return lines


def describe(spec: MappingSpec, comment: list[str] | None = None) -> str:
    target = spec.target.entity or f"payload `{spec.target.payload}`"
    keys = ", ".join(f"`{k}`" for k in spec.keys)
    notes = ["", "```text", *comment, "```"] if comment else []
    parts = [
        f"### `{spec.name}`",
        *notes,
        "",
        f"{spec.source.system} {spec.source.object or ''} ({spec.source.format}) → {target}; "
        f"key {keys}" + ("; rows grouped by key" if spec.rows else "") + ".",
        "",
        "| target | rule |",
        "|---|---|",
        *_rows(spec.fields),
    ]
    for section in spec.lines:
        parts += ["", _lines(section), "", "| target | rule |", "|---|---|"]
        parts += _rows(section.fields, f"{section.target}[].")
    return "\n".join(parts)


def generate() -> str:
    body = "\n\n".join(
        describe(default_spec(name), header_comment(SPECS_DIR / f"{name}.yaml"))
        for name in default_spec_names()
    )
    return f"{BEGIN}\n\n{body}\n\n{END}"


def update(doc: Path) -> bool:
    """Rewrite the generated section of ``doc``; True when it changed."""
    text = doc.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + generate() + text[end:]
    if new != text:
        doc.write_text(new)
    return new != text


if __name__ == "__main__":  # pragma: no cover
    update(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/mappings.md"))
