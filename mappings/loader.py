"""Load YAML specs keeping every node's line and column, and compute the spec version.

Scalars are resolved conservatively (YAML 1.2 core style): only ``true``/``false`` are
booleans (so a value map key ``NO`` stays the country code), numbers with a point become
``Decimal`` (never float), and dates stay text until a rule parses them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from billbridge.errors import ConfigError
from mappings.model import MappingSpec

Positions = dict[tuple[Any, ...], tuple[int, int]]
#: ``crosswalks: {countries: "builtin:countries.csv"}`` names a table shipped with billbridge
BUILTIN = "builtin:"
CROSSWALKS_DIR = Path(__file__).resolve().parent / "crosswalks"

_INT = re.compile(r"^[-+]?[0-9]+$")
_DEC = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)$")
_BOOL = {"true": True, "false": False}
_NULL = {"null", "~", ""}


class SpecLoadError(ConfigError):
    """The spec file is not valid YAML or not a valid spec; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _scalar(node: yaml.ScalarNode) -> Any:
    text = node.value
    if node.style in ("'", '"', "|", ">"):
        return text
    lowered = text.lower()
    if lowered in _NULL:
        return None
    if lowered in _BOOL:
        return _BOOL[lowered]
    if _INT.match(text):
        return int(text)
    if _DEC.match(text):
        return Decimal(text)
    return text


def _build(node: yaml.Node, path: tuple[Any, ...], positions: Positions, dupes: list[str]) -> Any:
    """``dupes`` collects ``line:column: message`` for keys written twice in one mapping."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecLoadError([f"{_mark(key_node)}: mapping keys must be plain text"])
            key = key_node.value
            if key in out:
                # PyYAML keeps the last value silently; a key written twice is a typo
                # (or a paste), never intended, so refuse it like `config validate` does.
                first = positions[(*path, key)]
                dupes.append(
                    f"{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}: "
                    f"{'.'.join(str(p) for p in (*path, key))}: duplicate key {key!r} "
                    f"(first at line {first[0]})"
                )
            if key == "<<" and key_node.style is None:  # YAML merge key: `<<: *anchor`
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for source in sources:
                    base = _build(source, path, positions, dupes)
                    if isinstance(base, dict):
                        merged = {**base, **merged}
                continue
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _build(value_node, (*path, key), positions, dupes)
        return {**merged, **out}
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            positions[(*path, index)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(_build(item, (*path, index), positions, dupes))
        return items
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def _mark(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """YAML text -> plain data plus ``{path: (line, column)}`` (1-based)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else f"{file}:1:1"
        raise SpecLoadError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    positions: Positions = {}
    if node is None:
        return {}, positions
    positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
    dupes: list[str] = []
    data = _build(node, (), positions, dupes)
    if dupes:
        # dict.fromkeys: an anchored mapping reused by alias is built (and reported) twice
        raise SpecLoadError([f"{file}:{d}" for d in dict.fromkeys(dupes)])
    return data, positions


def canonical_json(data: Any) -> str:
    """Key-sorted compact JSON; Decimals as text so ``1.50`` and ``1.5`` stay distinct."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _format_loc(spec_file: str, positions: Positions, loc: tuple[Any, ...]) -> tuple[str, str]:
    # pydantic puts union/validator names into loc; keep the parts that exist in the YAML
    clean = tuple(p for p in loc if not (isinstance(p, str) and (p.startswith(("function-", "<")))))
    probe = clean
    while probe and probe not in positions:
        probe = probe[:-1]
    line, col = positions.get(probe, (1, 1))
    field = ".".join(str(p) for p in clean) or "<spec>"
    return f"{spec_file}:{line}:{col}", field


def spec_from_text(text: str, file: str = "<spec>", *, base_dir: Path | None = None) -> MappingSpec:
    data, positions = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise SpecLoadError([f"{file}:1:1: a spec is a mapping with name, source, target, fields"])
    if isinstance(data.get("lines"), dict):  # one lines section written without a list
        data["lines"] = [data["lines"]]
        positions = {
            (k[0], 0, *k[1:]) if len(k) > 1 and k[0] == "lines" else k: v
            for k, v in positions.items()
        }
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where, field = _format_loc(file, positions, tuple(err["loc"]))
            problems.append(f"{where}: {field}: {err['msg']}")
        raise SpecLoadError(problems) from None
    spec._file = file
    spec._positions = positions
    spec._tables, spec._table_lines = _load_tables(spec, base_dir)
    blob = canonical_json(data) + canonical_json(spec._tables)
    spec._version = hashlib.sha256(blob.encode()).hexdigest()
    return spec


def _load_tables(
    spec: MappingSpec, base_dir: Path | None
) -> tuple[dict[str, list[dict[str, str]]], dict[str, tuple[str, list[int]]]]:
    """-> (name -> rows, name -> (file, line of each row))."""
    tables: dict[str, list[dict[str, str]]] = {}
    lines: dict[str, tuple[str, list[int]]] = {}
    for name, rel in sorted(spec.crosswalks.items()):
        if rel.startswith(BUILTIN):  # the example tables shipped in mappings/crosswalks
            path = CROSSWALKS_DIR / rel[len(BUILTIN) :]
        else:
            path = (base_dir or Path.cwd()) / rel
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            where = spec.location("crosswalks", name)
            raise SpecLoadError(
                [f"{where}: crosswalk {name!r}: cannot read {path}: {exc.strerror}"]
            ) from None
        reader = csv.DictReader(io.StringIO(text))
        rows, row_lines = [], []
        for row in reader:
            rows.append(dict(row))
            row_lines.append(reader.line_num)  # a row's last line: its line unless quoted
        tables[name] = rows
        lines[name] = (_display(path), row_lines)
    return tables, lines


def load_spec(path: str | Path) -> MappingSpec:
    """Load one spec file; raises :class:`SpecLoadError` listing every problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read mapping spec: {exc.strerror}") from None
    return spec_from_text(text, _display(file), base_dir=file.parent)


def _display(file: Path) -> str:
    """Path as shown in messages: relative to the working directory when inside it."""
    try:
        return file.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(file)
