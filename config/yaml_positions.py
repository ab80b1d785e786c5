"""Load YAML keeping the line and column of every key and value, for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


class _Loader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that also refuses duplicate keys."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _walk(node: yaml.Node, path: Path, out: dict[Path, Position]) -> None:
    out[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            _walk(value_node, child, out)
            # point errors about a key at the key itself
            out[(*child, "__key__")] = Position(
                key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), out)


def load_with_positions(text: str) -> tuple[Any, dict[Path, Position]]:
    """Parse ``text``; return the data and a map from key path to position."""
    node = yaml.compose(text, Loader=_Loader)
    positions: dict[Path, Position] = {}
    if node is None:
        return None, positions
    _walk(node, (), positions)
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    return data, positions


def position_of(positions: dict[Path, Position], path: Path) -> Position | None:
    """Closest known position for ``path`` (walks up to the parent when needed)."""
    probe = tuple(path)
    while True:
        if (*probe, "__key__") in positions:
            return positions[(*probe, "__key__")]
        if probe in positions:
            return positions[probe]
        if not probe:
            return None
        probe = probe[:-1]
