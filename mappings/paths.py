"""Source paths: dotted names into nested JSON and lists, resolved against a scope.

* ``Account.Name`` walks dicts; ``items.0.amount`` indexes a list.
* A literal key wins over splitting (CSV headers may contain dots: ``No.``).
* ``^Field`` reads from the enclosing item (one caret per level), ``$record.Field`` from
  the record itself — how a line rule reads its header's currency.
* Walking into a list with a name (``ratePlans.ratePlanCharges``, ``[]`` optional)
  visits every element; :func:`iter_items` keeps each element's ancestors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class _Absent:
    """The source has no such field (different from an explicit null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<absent>"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()
RECORD_PREFIX = "$record."
#: The 1-based position of the current line item (source lists carry no line numbers).
INDEX = "$index"


@dataclass(frozen=True)
class Scope:
    """The item rules read from, its enclosing items (nearest first) and the record."""

    item: Any
    parents: tuple[Any, ...] = ()
    #: 1-based position of this item in its list (``$index``), None for the record
    index: int | None = None

    @property
    def record(self) -> Any:
        return self.parents[-1] if self.parents else self.item

    def child(self, item: Any, index: int | None = None) -> Scope:
        return Scope(item, (self.item, *self.parents), index)


def split_path(path: str) -> tuple[int, bool, str]:
    """-> (levels up, from record root, remaining path)."""
    if path.startswith(RECORD_PREFIX):
        return 0, True, path[len(RECORD_PREFIX) :]
    ups = len(path) - len(path.lstrip("^"))
    return ups, False, path[ups:]


def _segments(path: str) -> list[str]:
    return [seg for seg in path.replace("[]", "").split(".") if seg != ""]


def _walk(value: Any, segments: list[str]) -> Any:
    for index, seg in enumerate(segments):
        if value is None or value is ABSENT:
            return value
        if isinstance(value, Mapping):
            rest = ".".join(segments[index:])
            if rest in value:  # literal key containing dots
                return value[rest]
            value = value.get(seg, ABSENT)
        elif isinstance(value, list | tuple):
            if seg.lstrip("-").isdigit():
                pos = int(seg)
                value = value[pos] if -len(value) <= pos < len(value) else ABSENT
            else:
                found = [_walk(item, segments[index:]) for item in value]
                return [v for v in found if v is not ABSENT]
        else:
            return ABSENT
    return value


def resolve(scope: Scope, path: str) -> Any:
    """The value at ``path`` or :data:`ABSENT`."""
    if path == INDEX:
        return ABSENT if scope.index is None else scope.index
    ups, from_record, rest = split_path(path)
    if from_record:
        base = scope.record
    elif ups:
        if ups > len(scope.parents):
            return ABSENT
        base = scope.parents[ups - 1]
    else:
        base = scope.item
    if isinstance(base, Mapping) and rest in base:
        return base[rest]
    return _walk(base, _segments(rest))


def iter_items(scope: Scope, path: str) -> Iterator[Scope]:
    """Scopes for every element of the list at ``path``; intermediate lists are flattened
    and each element's enclosing elements become its ``^`` parents."""
    ups, from_record, rest = split_path(path)
    start = scope
    if from_record:
        start = Scope(scope.record)
    elif ups:
        if ups > len(scope.parents):
            return
        start = Scope(scope.parents[ups - 1], scope.parents[ups:])
    yield from _iter(start, start.item, _segments(rest))


def _iter(scope: Scope, value: Any, segments: list[str]) -> Iterator[Scope]:
    for index, seg in enumerate(segments):
        if isinstance(value, list | tuple):
            for element in value:
                yield from _iter(scope.child(element), element, segments[index:])
            return
        if not isinstance(value, Mapping):
            return
        value = value.get(seg)
    if isinstance(value, list | tuple):
        for number, element in enumerate(value, start=1):
            yield scope.child(element, number)
    elif isinstance(value, Mapping):
        yield scope.child(value, 1)


def root_field(path: str) -> str | None:
    """The first segment of a path read from the record root (None for ``^`` paths)."""
    ups, _from_record, rest = split_path(path)
    if ups or path == INDEX:
        return None
    segs = _segments(rest)
    return segs[0] if segs else None
