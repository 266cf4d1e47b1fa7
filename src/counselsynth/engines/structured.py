"""Structured-output negotiation: which `response_format` an endpoint takes, found once per run.

Servers differ. vLLM and hosted OpenAI take `json_schema`; llama-cpp-python's server rejects
it (HTTP 500, "Input should be 'text' or 'json_object'") but takes `json_object` with the
schema attached, which it enforces with a grammar; some servers take neither. With
`structured: auto` the engine starts at the strongest mode and steps down when the endpoint
rejects it, remembering the mode per model and endpoint for the rest of the run, so only the
first calls pay for the discovery. The chosen modes go into the manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
LADDER: tuple[StructuredMode, ...] = ("json_schema", "json_object", "prompt")


@dataclass
class Negotiation:
    """The mode each (model, endpoint) is on, for the manifest. Only `auto` ones move down the ladder."""

    _modes: dict[str, StructuredMode] = field(default_factory=dict)
    fallbacks: int = 0

    def mode(self, endpoint: str, configured: StructuredMode, first: StructuredMode) -> StructuredMode:
        if configured != "auto":
            self._modes[endpoint] = configured
            return configured
        return self._modes.setdefault(endpoint, first)

    def step_down(self, endpoint: str, configured: StructuredMode, rejected: StructuredMode) -> bool:
        """After `rejected` was refused: move this endpoint to the next mode. False when there is
        none to try (the mode was set by the user, or prompt-only JSON was refused too)."""
        if configured != "auto" or rejected == "prompt":
            return False
        current = self._modes.get(endpoint, rejected)
        if LADDER.index(current) <= LADDER.index(rejected):
            # Concurrent calls see the same rejection; the endpoint moves down one step only once.
            self._modes[endpoint] = LADDER[LADDER.index(rejected) + 1]
            self.fallbacks += 1
        return True

    def chosen(self) -> dict[str, str]:
        return dict(sorted(self._modes.items()))


def response_format(mode: StructuredMode, schema: type[BaseModel], body: dict[str, Any], self_hosted: bool) -> Any:
    """The `response_format` for `mode`, or None for prompt-only JSON."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": body}}
    if mode == "json_object":
        # llama-cpp-python and vLLM read a `schema` next to the type (and enforce it); hosted
        # APIs would refuse the unknown field, and get the schema through the prompt only.
        return {"type": "json_object", "schema": body} if self_hosted else {"type": "json_object"}
    return None


def with_schema(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """For modes without server-side schema support, the schema goes in the prompt itself."""
    last = messages[-1]
    block = f"\n\nAnswer with one JSON object only, matching <json-schema>{json.dumps(schema)}</json-schema>"
    return [*messages[:-1], {"role": last["role"], "content": last["content"] + block}]
