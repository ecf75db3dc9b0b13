"""A small JSON-Schema validator for tool arguments: the `validate` a `ToolSet` checks calls with
(`sous.tools.toolset` plugs it in; the loop validates once, before any middleware sees a call).

Covers what tool schemas use: type (incl. lists of types), required, properties,
additionalProperties, enum, items, minimum/maximum, minItems/maxItems. Unknown keywords are
ignored, so MCP schemas pass through. Errors name the argument path, e.g. `todos[0].status`.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "") -> str | None:
    """Return a one-line description of the first problem, or None when `value` fits."""
    where = path or "input"
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_type_ok(value, n) for n in names):
            return f"{where}: expected {' or '.join(names)}, got {_json_type(value)}"
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        return f"{where}: {value!r} is not one of {allowed}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: {value} is below the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: {value} is above the maximum {schema['maximum']}"
    if isinstance(value, dict):
        return _validate_object(value, schema, path)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"{where}: needs at least {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{where}: allows at most {schema['maxItems']} items"
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                if problem := validate(item, items, f"{path}[{i}]"):
                    return problem
    return None


def _validate_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> str | None:
    props: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            return f"{_join(path, key)}: required argument is missing"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = props.get(key)
        if sub is None:
            if extra is False:
                return f"{_join(path, key)}: unexpected argument"
            if isinstance(extra, dict):
                sub = extra
            else:
                continue
        if problem := validate(item, sub, _join(path, key)):
            return problem
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _type_ok(value, name):
            return name
    return type(value).__name__
