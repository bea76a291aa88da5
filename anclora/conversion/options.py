"""Conversion options: checked against the converter's JSON Schema, and typed from query strings by it."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import BadRequest

MAX_ERRORS = 20
# An object schema with only these keywords takes the empty object whatever they hold: they constrain the
# properties present, and there are none (validating `{}` costs 30-50 us, three times per one-shot conversion).
_EMPTY_FITS = frozenset({"type", "properties", "additionalProperties", "title", "description", "$schema"})


def validate(schema: dict[str, Any], options: Any) -> dict[str, Any]:
    """The options when they fit the schema; else BadRequest listing every error (path and message)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise BadRequest("`options` must be a JSON object.", details=[{"path": "", "message": "not an object"}])
    if details := schema_errors(schema, options):
        raise BadRequest("The options are invalid for this conversion.", details=details)
    return options


def schema_errors(schema: dict[str, Any], value: Any) -> list[dict[str, str]]:
    """Where and how `value` misfits the JSON Schema (`path`, `message`), in path order; empty when it fits."""
    if value == {} and schema.get("type") == "object" and schema.keys() <= _EMPTY_FITS:
        return []
    import jsonschema  # 3 MiB, loaded by the first request that needs it rather than by every process

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda error: [str(part) for part in error.absolute_path])
    return [{"path": "/".join(str(part) for part in error.absolute_path), "message": error.message[:300]}
            for error in errors[:MAX_ERRORS]]


def _typed(kind: Any, values: list[str]) -> Any:
    if kind == "array":
        return [item for value in values for item in value.split(",") if item]
    value = values[-1]
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value  # left as text: validation then names the option and the expected type
    if kind == "boolean":
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            value.lower(), value)
    return value


def from_query(schema: dict[str, Any], arguments: Mapping[str, list[str]]) -> dict[str, Any]:
    """Query-string options (`?quality=80&grayscale=true`) typed by the schema's property types."""
    properties = schema.get("properties", {})
    options: dict[str, Any] = {}
    for name, values in arguments.items():
        kind = properties.get(name, {}).get("type", "string")
        if isinstance(kind, list):  # ["integer", "null"]: the first concrete type decides
            kind = next((k for k in kind if k != "null"), "string")
        options[name] = _typed(kind, values)
    return options
