"""JSON Schema of the spec language, for editors (YAML language servers)."""

from __future__ import annotations

from typing import Any

from mappings.model import MappingSpec

_RULE = {"$ref": "#/$defs/Rule"}
_SHORTHAND = {"anyOf": [{"type": "string", "description": "shorthand for {path: ...}"}, _RULE]}


def _shorthand(node: Any) -> Any:
    if node == _RULE:
        return _SHORTHAND
    if isinstance(node, dict):
        return {k: _shorthand(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_shorthand(v) for v in node]
    return node


def spec_json_schema() -> dict[str, Any]:
    """The spec schema, with the ``field: Source.Path`` shorthand allowed wherever a rule is."""
    schema = MappingSpec.model_json_schema(by_alias=True)
    schema = _shorthand(schema)
    lines = schema["properties"]["lines"]
    schema["properties"]["lines"] = {"anyOf": [{"$ref": "#/$defs/Lines"}, lines]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "billbridge mapping spec"
    return schema
