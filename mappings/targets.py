"""What a spec can target: canonical entities and declared vendor payload schemas.

Both are pydantic models; :func:`field_type` answers "what type is target field
``bill_to.address.city``?" for validation, and the engine builds/validates against them.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any, Union

from pydantic import BaseModel

from canonical import ENTITIES, Money, Record

#: Vendor payload name (``zuora/order``) -> pydantic model describing the request body.
PAYLOADS: dict[str, type[BaseModel]] = {}

#: Record fields the engine fills itself (from the spec's ``key`` and ``source.system``).
ENGINE_FIELDS = frozenset({"source_system", "source_id"})
#: dict-valued record fields whose keys are free (``extra.Billing_Entity``).
FREE_DICTS = frozenset({"extra", "crosswalk"})


def register_payload(name: str, model: type[BaseModel]) -> None:
    PAYLOADS[name] = model


def target_model(entity: str | None, payload: str | None) -> type[BaseModel] | None:
    if entity is not None:
        return ENTITIES.get(entity)
    if payload is not None:
        _load_payloads()
        return PAYLOADS.get(payload)
    return None


def _load_payloads() -> None:
    # imported lazily: the payload modules register themselves
    import mappings.payloads  # noqa: F401


@dataclass(frozen=True)
class FieldType:
    """A target field's type reduced to what rules care about."""

    #: text, date, datetime, decimal, integer, boolean, money, enum, model, list, dict, any
    kind: str
    required: bool = False
    model: type[BaseModel] | None = None  # for model / list-of-model
    choices: tuple[str, ...] = ()
    annotation: Any = None


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return Any, optional
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(tp)[0])
    return tp, False


def classify(tp: Any, required: bool = False) -> FieldType:
    kind = _classify(tp, required)
    return FieldType(kind.kind, kind.required, kind.model, kind.choices, tp)


def _classify(tp: Any, required: bool) -> FieldType:
    tp, _ = _strip_optional(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return FieldType("enum", required, choices=tuple(str(a) for a in typing.get_args(tp)))
    if origin in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        inner = args[0] if args else Any
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
        return FieldType("list", required, model)
    if origin is dict:
        return FieldType("dict", required)
    if not isinstance(tp, type):
        return FieldType("any", required)
    if issubclass(tp, Money):
        return FieldType("money", required)
    if issubclass(tp, BaseModel):
        return FieldType("model", required, tp)
    if issubclass(tp, Enum):
        return FieldType("enum", required, choices=tuple(str(m.value) for m in tp))
    for base, kind in (
        (bool, "boolean"),
        (int, "integer"),
        (Decimal, "decimal"),
        (datetime, "datetime"),
        (date, "date"),
        (str, "text"),
    ):
        if issubclass(tp, base):
            return FieldType(kind, required)
    return FieldType("any", required)


@lru_cache(maxsize=512)
def model_fields(model: type[BaseModel]) -> dict[str, FieldType]:
    """Target fields of ``model`` by name (cached: models are immutable classes; treat the
    returned dict as read-only)."""
    out: dict[str, FieldType] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        out[key] = classify(info.annotation, info.is_required())
    return out


def field_type(model: type[BaseModel], dotted: str) -> FieldType | None:
    """Type of target field ``dotted`` (``bill_to.address.city``, ``extra.x``); None if unknown."""
    parts = dotted.split(".")
    current: type[BaseModel] | None = model
    result: FieldType | None = None
    for index, part in enumerate(parts):
        if current is None:
            return None
        if part.isdigit() and result is not None and result.kind == "list":
            current = result.model
            continue
        fields = model_fields(current)
        if part not in fields:
            is_custom = getattr(current, "is_custom", None)
            if is_custom is not None and is_custom(part) and index == len(parts) - 1:
                return FieldType("any")
            return None
        result = fields[part]
        if result.kind == "dict" and index < len(parts) - 1:
            return FieldType("any")
        current = result.model if result.kind in ("model", "list") else None
    return result


def field_names(model: type[BaseModel]) -> list[str]:
    return list(model_fields(model))


def is_record_model(model: type[BaseModel] | None) -> bool:
    return model is not None and issubclass(model, Record)


def coerce_text(model: type[BaseModel], data: Any) -> Any:
    """Numbers headed for text fields become text (ids typed as numbers in XLSX cells)."""
    from mappings.transforms import to_text

    if not isinstance(data, dict):
        return data
    fields = model_fields(model)
    out = {}
    for key, value in data.items():
        ftype = fields.get(key)
        if ftype is None:
            out[key] = value
        elif (
            ftype.kind == "text"
            and isinstance(value, int | Decimal)
            and not isinstance(value, bool)
        ):
            out[key] = to_text(value)
        elif ftype.kind == "model" and ftype.model is not None:
            out[key] = coerce_text(ftype.model, value)
        elif ftype.kind == "list" and ftype.model is not None and isinstance(value, list):
            out[key] = [coerce_text(ftype.model, item) for item in value]
        else:
            out[key] = value
    return out
