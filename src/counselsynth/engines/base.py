"""The one interface between agents and engines.

An agent builds a `Request`: the rendered chat messages (for an LLM), the structured context
(for an engine that cannot read prose, such as the offline engine) and the pydantic schema the
reply must match. An engine returns a `Reply` with the parsed object and its provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from counselsynth.models import AgentName, Provenance, Usage

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Request(Generic[T]):
    agent: AgentName
    template: str
    template_hash: str
    messages: list[dict[str, str]]
    context: Mapping[str, Any]
    reply_schema: type[T]
    seed: str
    # Share of this prompt that repeats, as a prefix, the same agent's previous prompt in the
    # same session attempt (None for the first call): what provider prefix caches can reuse.
    prefix_share: float | None = None
    # Calls the case still expects to make, this one included: an engine that queues requests
    # serves the case with the most work left first (see engines/slots.py).
    priority: float = 0.0
    # Where in the case the call belongs, for the failure record when the case cannot be finished.
    session: int | None = None
    turn: int | None = None


class PlainText(BaseModel):
    """A reply that is text, not JSON: what a chatbot under evaluation says."""

    text: str


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    parsed: T
    usage: Usage
    provenance: Provenance


class Engine(Protocol):
    """What the pipeline asks of an engine. An engine that has no use for a step (the offline
    engine has no endpoint to check, no request slots and no response cache) implements it as a
    no-op, so callers never probe for it."""

    name: str
    offline: bool

    def model_for(self, agent: AgentName) -> str: ...

    def text_language(self, requested: str) -> str:
        """The language the engine will actually write when `requested` is asked for."""
        ...

    def preflight(self) -> None:
        """Fail before any case starts on what would fail every call (an unknown model, a missing key)."""
        ...

    def limit_calls(self, in_flight: int) -> None:
        """Hold at most `in_flight` requests at once (`--concurrency` for an LLM engine)."""
        ...

    def cache_hits(self) -> int:
        """Replies served from a response cache so far."""
        ...

    def resilience(self) -> dict[str, float]:
        """Calls, retries, re-asks, repairs and outage pauses so far, for the manifest."""
        ...

    def structured_modes(self) -> dict[str, str]:
        """The structured-output mode each endpoint settled on."""
        ...

    async def complete(self, request: Request[T]) -> Reply[T]: ...


def provenance(
    request: Request[Any], engine: str, model: str, usage: Usage, raw: str, *, estimated: bool, cached: bool = False
) -> Provenance:
    return Provenance(
        engine=engine,
        model=model,
        template=request.template,
        template_hash=request.template_hash,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        token_count="estimate" if estimated else "provider",
        prefix_share=request.prefix_share,
        cached=cached,
        raw=raw,
    )


def prompt_text(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|{m['role']}|>{m['content']}" for m in messages)


def estimate_tokens(text: str) -> int:
    """About four characters per token: the usual rule of thumb for English BPE vocabularies."""
    return max(1, len(text) // 4)


def prefix_share(previous: str | None, text: str) -> float | None:
    """Share of `text` that repeats `previous` as a prefix: what a provider's prefix cache reuses."""
    if previous is None or not text:
        return None
    # Binary search over C-level slice comparisons: os.path.commonprefix walks characters in
    # Python, which cost half a millisecond per call on long prompts.
    low, high = 0, min(len(previous), len(text))
    while low < high:
        middle = (low + high + 1) // 2
        if previous[:middle] == text[:middle]:
            low = middle
        else:
            high = middle - 1
    return low / len(text)
