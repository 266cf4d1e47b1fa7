"""Tolerant parsing: repair what is unambiguous in a reply before asking the model again.

Small models wrap JSON in code fences or prose, write integers past their bounds (grammars do
not enforce numeric bounds) and spell enum values in another case. Each of those has exactly
one sensible reading, so it is repaired here and the repair is named, so the record can carry
it as a flag and the run can count it. Anything else (a missing field, a wrong type, text that
is not JSON) is left for a re-ask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Generic

from pydantic import ValidationError

from counselsynth.engines.base import T

_FENCED = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
# Each pass can fix every error pydantic reports at once; a few passes cover nested fixes.
_PASSES = 3


@dataclass
class Parsed(Generic[T]):
    value: T | None
    repairs: list[str] = field(default_factory=list)
    error: ValidationError | None = None


def parse_reply(content: str, schema: type[T], json_schema: dict[str, Any]) -> Parsed[T]:
    """The reply as `schema`, with the repairs it needed; `value` is None when it cannot be repaired."""
    text = content.strip()
    try:
        return Parsed(schema.model_validate_json(text))
    except ValidationError as exc:
        first_error = exc
    repairs: list[str] = []
    data, how = _extract(text)
    if data is None:
        return Parsed(None, error=first_error)
    if how:
        repairs.append(how)
    error = first_error
    for _ in range(_PASSES):
        try:
            return Parsed(schema.model_validate(data), repairs)
        except ValidationError as exc:
            error = exc
            fixed = [fix for problem in exc.errors() if (fix := _fix(data, problem, json_schema)) is not None]
            if not fixed:
                break
            repairs += fixed
    return Parsed(None, repairs, error)


def _extract(text: str) -> tuple[Any, str | None]:
    """The JSON object in `text`: the text itself, a fenced block, or the first object in prose."""
    data, how = _loads(text)
    if how is not None:
        return data, None if how == "json" else how
    for block in _FENCED.findall(text):
        data, how = _loads(block.strip())
        if how is not None:
            return data, "json in a code fence" + ("" if how == "json" else f"; {how}")
    for strict in (True, False):
        # Small models write line breaks inside strings; JSON forbids raw control characters there,
        # and reading them as the line breaks they are is the only sensible reading.
        decoder = json.JSONDecoder(strict=strict)
        for start in (i for i, char in enumerate(text) if char == "{"):
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value, "json inside prose" + ("" if strict else f"; {_CONTROL}")
    return None, None


_CONTROL = "raw line breaks inside a string"


def _loads(text: str) -> tuple[Any, str | None]:
    """(value, "json") for strict JSON, (value, what was tolerated) for lenient JSON, else (None, None)."""
    try:
        return json.loads(text), "json"
    except ValueError:
        pass
    try:
        return json.loads(text, strict=False), _CONTROL
    except ValueError:
        return None, None


def _fix(data: Any, problem: Any, schema: dict[str, Any]) -> str | None:
    loc = tuple(problem["loc"])
    if not loc:
        return None
    parent = _at(data, loc[:-1])
    key = loc[-1]
    if parent is None or not _holds(parent, key):
        return None
    value = parent[key]
    where = ".".join(map(str, loc))
    sub = _subschema(schema, loc, schema.get("$defs", {}))
    if sub is None:
        return None
    if problem["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        low, high = sub.get("minimum"), sub.get("maximum")
        clamped = max(low, value) if low is not None and value < low else value
        clamped = min(high, clamped) if high is not None and clamped > high else clamped
        if clamped == value:
            return None
        parent[key] = clamped
        return f"clamped {where} {value} to {clamped}"
    if problem["type"] in ("enum", "literal_error") and isinstance(value, str):
        choices = [c for c in sub.get("enum", []) if isinstance(c, str)]
        matches = [c for c in choices if _folded(c) == _folded(value)]
        if len(matches) != 1:
            return None
        parent[key] = matches[0]
        return f"matched {where} '{value}' to '{matches[0]}'"
    return None


def _folded(text: str) -> str:
    return re.sub(r"[\s_\-]+", "_", text.strip().casefold())


def _holds(parent: Any, key: Any) -> bool:
    if isinstance(parent, dict):
        return key in parent
    return isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent)


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        if not _holds(data, key):
            return None
        data = data[key]
    return data


def _subschema(schema: dict[str, Any], path: tuple[Any, ...], defs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema that governs the value at `path` (the subset of JSON schema pydantic emits)."""
    schema = _resolved(schema, defs)
    if not path:
        return schema
    key, rest = path[0], path[1:]
    if isinstance(key, int):
        items = schema.get("items")
        return _subschema(items, rest, defs) if isinstance(items, dict) else None
    properties = schema.get("properties", {})
    if key in properties:
        return _subschema(properties[key], rest, defs)
    return None


def _resolved(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolved(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if len(options) == 1:
            return _resolved(options[0], defs)
    return schema
