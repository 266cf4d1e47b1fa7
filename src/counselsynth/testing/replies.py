"""Replies for the loopback server: values that satisfy a request's JSON schema, and the same
values written as a careless model writes them."""

from __future__ import annotations

import json
import random
import re
from typing import Any

SCHEMA_BLOCK = re.compile(r"<json-schema>(.*?)</json-schema>", re.DOTALL)


def schema_of(body: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema: dict[str, Any] = response_format["json_schema"]["schema"]
        return schema
    if response_format.get("type") == "json_object" and "schema" in response_format:
        attached: dict[str, Any] = response_format["schema"]
        return attached
    for message in reversed(messages):
        found = SCHEMA_BLOCK.search(str(message.get("content", "")))
        if found:
            parsed: dict[str, Any] = json.loads(found.group(1))
            return parsed
    return {"type": "object", "properties": {}}


def instance(schema: dict[str, Any], rng: random.Random, defs: dict[str, Any] | None = None) -> Any:
    """A value that satisfies `schema` (the subset pydantic emits), varied by `rng`."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], rng, defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance(options[0], rng, defs)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: instance(sub, rng, defs) for name, sub in properties.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 0)), 1 if schema.get("minItems") else 0)
        return [instance(schema.get("items", {}), rng, defs) for _ in range(count)]
    if kind == "integer":
        low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 5))
        return rng.randint(low, high)
    if kind == "number":
        floor, ceiling = float(schema.get("minimum", 1.0)), float(schema.get("maximum", 5.0))
        return round(rng.uniform(floor, ceiling), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    words = ["I", "hear", "that", "this", "has", "been", "hard", "for", "you", "lately", "and", "it", "matters"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
    return text[:1].upper() + text[1:] + "."


def sloppy(reply: Any, schema: dict[str, Any], rng: random.Random) -> str:
    """The reply as a careless model writes it: integers past their bounds, enum values in
    capitals, and the JSON in a code fence or in prose. Each defect has one sensible repair."""
    if isinstance(reply, dict):
        defs = schema.get("$defs", {})
        for name, sub in schema.get("properties", {}).items():
            if "$ref" in sub:
                sub = defs[sub["$ref"].split("/")[-1]]
            if sub.get("type") == "integer" and "maximum" in sub and name in reply:
                reply[name] = int(sub["maximum"]) + 5
            elif "enum" in sub and isinstance(reply.get(name), str):
                reply[name] = reply[name].upper()
    text = json.dumps(reply, ensure_ascii=False)
    return f"```json\n{text}\n```" if rng.random() < 0.5 else f"Sure! Here is my answer: {text} Hope it helps."


def steer(
    reply: Any,
    messages: list[dict[str, Any]],
    say_for_code: dict[str, str],
    true_share: float | None,
    rng: random.Random,
) -> None:
    """Give a counselor reply the text for the code its instruction names, and draw every
    boolean with `true_share`."""
    instruction = str(messages[-1].get("content", "")) if messages else ""
    if isinstance(reply, dict) and set(reply) == {"text"}:
        named = re.search(r"next move: (\w+)", instruction)
        if named and named.group(1) in say_for_code:
            reply["text"] = say_for_code[named.group(1)]
    if true_share is not None:
        _set_booleans(reply, true_share, rng)


def _set_booleans(value: Any, share: float, rng: random.Random) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        if isinstance(item, bool):
            value[key] = rng.random() < share
        else:
            _set_booleans(item, share, rng)
