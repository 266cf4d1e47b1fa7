"""The LLM engine: any model litellm can reach, with structured replies, retries and budgets.

This module is the one boundary where provider errors become counselsynth errors. litellm's
own retries are off; every call has an explicit timeout. What an error means is decided in
`provider_errors`: transient failures (429, 5xx, timeouts) are retried with exponential backoff
and jitter; an endpoint that is down is waited out (`outage`); a refused `response_format` moves
the endpoint down the structured-output ladder (`structured`); anything else fails the call at
once, and with it its case. Replies are repaired where that is unambiguous (`tolerant`) before
the model is asked again.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel

from counselsynth.engines import preflight as checks
from counselsynth.engines.base import PlainText, Reply, Request, T, provenance
from counselsynth.engines.cache import ReplyCache, request_key
from counselsynth.engines.gateway import GatewayConfig, ModelSettings
from counselsynth.engines.outage import OutageGate
from counselsynth.engines.provider_errors import call_failure, classify
from counselsynth.engines.ratelimit import RateLimiter
from counselsynth.engines.slots import PrioritySlots
from counselsynth.engines.structured import LADDER, Negotiation, StructuredMode, response_format, with_schema
from counselsynth.engines.tolerant import parse_reply
from counselsynth.errors import ReplyValidationError
from counselsynth.models import GENERATION_AGENTS, AgentName, Usage
from counselsynth.redaction import redact, remember_router, remember_variable

__all__ = [
    "GatewayConfig",
    "LLMEngine",
    "ModelSettings",
    "StructuredMode",
    "json_schema",
]

AGENTS = GENERATION_AGENTS
# litellm's OpenAI-compatible providers refuse to send a request without a key; a self-hosted
# server needs none. The placeholder is plainly not a key, and is never printed or stored.
PLACEHOLDER_KEY = "counselsynth-no-key"


def _litellm() -> Any:
    # Imported on first use: litellm takes seconds to import, and the offline path never needs it.
    # Without this setting litellm fetches a model price map at import; this tool must never touch
    # the network unless a remote model is asked for. Set here, where litellm is first imported,
    # so that importing counselsynth leaves the environment alone.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


class _MalformedResponse(Exception):
    """The provider answered 200 with no usable message."""


class _FormatRejected(Exception):
    """The endpoint refused this call's response_format and has moved to the next mode."""


@dataclass
class LLMEngine:
    config: GatewayConfig
    cache: ReplyCache | None = None
    name: str = "litellm"
    offline: bool = False
    negotiation: Negotiation = field(default_factory=Negotiation)
    # Over every call of the run, failed cases included (case usage covers finished cases only).
    counts: Counter[str] = field(default_factory=Counter)
    _limiters: dict[str, RateLimiter] = field(default_factory=dict)
    _gates: dict[str, OutageGate] = field(default_factory=dict)
    _router: Any = None
    # Models litellm has no price for: asking again costs a raised exception per call.
    _unpriced: set[str] = field(default_factory=set)
    _slots: PrioritySlots | None = None

    def __post_init__(self) -> None:
        # Masked by value from now on, whatever a provider echoes (see redaction).
        for settings in (self.config.default, *self.config.agents.values()):
            remember_variable(settings.api_key_env)
        remember_router(self.config.router)
        if self.config.router:
            litellm = _litellm()
            self._router = litellm.Router(
                model_list=self.config.router, num_retries=0, routing_strategy="simple-shuffle"
            )

    def model_for(self, agent: AgentName) -> str:
        return self.config.for_agent(agent).model

    def limit_calls(self, in_flight: int) -> None:
        """At most `in_flight` requests at once. The slot is held only for the HTTP request itself,
        not during backoff or while the pipeline works between calls, so a case that is busy or
        waiting to retry never idles a slot that another case could use. A freed slot goes to the
        waiting request whose case has the most planned calls left (`Request.priority`)."""
        self._slots = PrioritySlots(in_flight)

    def text_language(self, requested: str) -> str:
        return requested.split("-")[0]

    def cache_hits(self) -> int:
        return self.cache.hits if self.cache is not None else 0

    def resilience(self) -> dict[str, float]:
        """Calls, tokens, retries, re-asks, local repairs and outage pauses of this process (failed
        cases included, unlike the cases' usage), for the manifest."""
        gates = self._gates.values()
        named = ("calls", "prompt_tokens", "completion_tokens", "retries", "reasks", "fixed_replies")
        return {
            **{name: float(self.counts[name]) for name in named},
            "structured_fallbacks": float(self.negotiation.fallbacks),
            "outage_pauses": float(sum(g.pauses for g in gates)),
            "outage_seconds": round(sum(g.paused_seconds for g in gates), 3),
        }

    def structured_modes(self) -> dict[str, str]:
        return {redact(k): v for k, v in self.negotiation.chosen().items()}

    def preflight(self) -> None:
        """Fail before any case starts on an unknown model, a missing key, or an endpoint that is
        unreachable, wants a key, is not an OpenAI-compatible API or answers only errors."""
        litellm = _litellm()
        seen: set[tuple[str, str | None]] = set()
        for agent in AGENTS:
            settings = self.config.for_agent(agent)
            if (settings.model, settings.api_base) in seen or self._router is not None:
                continue
            seen.add((settings.model, settings.api_base))
            checks.check_model(litellm, settings.model, settings.api_base, agent)
            checks.check_key(litellm, settings.model, settings.api_key_env, settings.api_base)
            if settings.api_base:
                checks.check_reachable(settings.api_base)
                checks.probe(litellm, self._connection(settings), settings.api_base, self.config.backoff_initial)

    async def complete(self, request: Request[T]) -> Reply[T]:
        settings = self.config.for_agent(request.agent)
        schema = json_schema(request.reply_schema)
        key = request_key(
            {
                "model": settings.model,
                "messages": request.messages,
                "structured": settings.structured,
                "schema": schema,
                "temperature": settings.temperature,
                "seed": request.seed,
            }
        )
        if self.cache is not None and (hit := await self.cache.get(key)) is not None:
            cached = parse_reply(hit["raw"], request.reply_schema, schema)
            if cached.value is not None:
                usage = Usage.model_validate(hit["usage"])
                return self._reply(request, settings, cached.value, hit["raw"], usage, True, cached.repairs)
        usage = Usage()
        content = ""
        reasks: list[dict[str, str]] = []
        endpoint = _endpoint(settings)
        tries = 0
        rejections = 0
        while tries <= self.config.max_repairs:
            mode = self.negotiation.mode(endpoint, settings.structured, self._first_mode(settings))
            messages = list(request.messages) if mode == "json_schema" else with_schema(request.messages, schema)
            try:
                response = await self._call(settings, endpoint, [*messages, *reasks], mode, request, usage)
            except _FormatRejected:
                rejections += 1
                if rejections >= len(LADDER):
                    raise call_failure(request, settings.model, "the endpoint refused every structured mode") from None
                continue
            content = response.choices[0].message.content or ""
            parsed = parse_reply(content, request.reply_schema, schema)
            if parsed.value is not None:
                usage.first_try += tries == 0 and not parsed.repairs
                usage.fixed += bool(parsed.repairs)
                self.counts["fixed_replies"] += bool(parsed.repairs)
                if self.cache is not None:
                    await self.cache.put(key, {"raw": content, "usage": usage.model_dump()})
                return self._reply(request, settings, parsed.value, content, usage, False, parsed.repairs)
            tries += 1
            usage.repairs += 1
            self.counts["reasks"] += 1
            problem = parsed.error.errors(include_url=False)[0] if parsed.error else {"msg": "not JSON", "loc": ()}
            where = ".".join(map(str, problem["loc"])) or "top level"
            reasks += [
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": (
                        f"That reply is not valid JSON for the schema ({problem['msg']} at {where}). "
                        "Reply again with only the JSON object."
                    ),
                },
            ]
        raise ReplyValidationError(
            f"the {request.agent} reply from '{settings.model}' never matched its schema "
            f"after {self.config.max_repairs + 1} tries",
            attempts=self.config.max_repairs + 1,
            last_reply=redact(content)[:500],
            cause=f"the {request.agent} reply from '{settings.model}' broke its schema",
            agent=request.agent,
            session=request.session,
            turn=request.turn,
        )

    async def chat(self, request: Request[PlainText]) -> Reply[PlainText]:
        """A plain chat completion, no response_format and no schema: what a deployed chatbot is
        asked (`evaluate`'s counselor under test). Retries, outages, slots and usage as for
        `complete`; an empty answer is a failure of the call, never an empty reply."""
        settings = self.config.for_agent(request.agent)
        usage = Usage()
        response = await self._call(settings, _endpoint(settings), request.messages, None, request, usage)
        content = (response.choices[0].message.content or "").strip()
        if not content:
            raise call_failure(request, settings.model, "the endpoint answered with no text")
        return self._reply(request, settings, PlainText(text=content), content, usage, False, [])

    def _self_hosted(self, settings: ModelSettings) -> bool:
        return settings.api_base is not None or self._router is not None

    def _first_mode(self, settings: ModelSettings) -> StructuredMode:
        if settings.api_base is not None or self._router is not None:
            return "json_schema"  # negotiated down if the server refuses it
        supported = _litellm().supports_response_schema(model=settings.model)
        return "json_schema" if supported else "json_object"

    def _connection(self, settings: ModelSettings, timeout: float | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": settings.model,
            "timeout": timeout or settings.timeout,
            "max_retries": 0,
            "num_retries": 0,
        }
        if settings.api_base:
            kwargs["api_base"] = settings.api_base
        if settings.api_key_env:
            kwargs["api_key"] = os.environ.get(settings.api_key_env, "")
        elif settings.api_base and _litellm().validate_environment(model=settings.model).get("missing_keys"):
            kwargs["api_key"] = PLACEHOLDER_KEY
        return kwargs

    def _gate(self, settings: ModelSettings, endpoint: str) -> OutageGate:
        gate = self._gates.get(endpoint)
        if gate is None:

            async def probe() -> bool:
                return await self._answers(settings)

            name = redact(settings.api_base or settings.model)
            gate = OutageGate(name, self.config.outage_timeout, self.config.backoff_initial, probe)
            self._gates[endpoint] = gate
        return gate

    async def _answers(self, settings: ModelSettings) -> bool:
        """Whether the endpoint answers at all (any answer but a connection error or 502/503/504)."""
        call = self._router.acompletion if self._router is not None else _litellm().acompletion
        try:
            connection = self._connection(settings, min(settings.timeout, 10.0))
            await call(**connection, messages=checks.PROBE_MESSAGES, max_tokens=1)
        except Exception as exc:
            return classify(exc, sent_format=False) not in ("outage", "transient")
        return True

    async def _call(
        self,
        settings: ModelSettings,
        endpoint: str,
        messages: list[dict[str, str]],
        mode: StructuredMode | None,
        request: Request[Any],
        usage: Usage,
    ) -> Any:
        """One call with its retries; `mode` None asks for plain text (no response_format)."""
        litellm = _litellm()
        kwargs: dict[str, Any] = {
            **self._connection(settings),
            "messages": messages,
            "temperature": settings.temperature,
        }
        if settings.max_tokens:
            kwargs["max_tokens"] = settings.max_tokens
        schema: type[BaseModel] = request.reply_schema
        fmt = None if mode is None else response_format(mode, schema, json_schema(schema), self._self_hosted(settings))
        if fmt is not None:
            kwargs["response_format"] = fmt
        limiter = self._limiters.setdefault(settings.model, RateLimiter(settings.rpm, settings.tpm))
        gate = self._gate(settings, endpoint)
        estimate = sum(len(m["content"]) for m in messages) // 4
        call = self._router.acompletion if self._router is not None else litellm.acompletion
        attempt = 1
        # A hand-written loop rather than tenacity's: an attempt that only waited out an outage
        # must not count, and a refused response_format must leave the loop, not be retried.
        while True:
            await gate.wait_open()
            await limiter.acquire(estimate)
            started = time.monotonic()
            try:
                async with self._slots.hold(request.priority) if self._slots is not None else nullcontext():
                    response = await call(**kwargs)
                if not getattr(response, "choices", None):
                    raise _MalformedResponse("no choices in the response")
            except Exception as exc:
                verdict = classify(exc, fmt is not None)
                if (
                    verdict == "format_rejected"
                    and mode is not None
                    and self.negotiation.step_down(endpoint, settings.structured, mode)
                ):
                    raise _FormatRejected from None
                if verdict == "outage" and await gate.failed(started):
                    self._count_retry(usage)
                    continue
                if verdict in ("fatal", "format_rejected") or attempt >= self.config.max_attempts:
                    raise call_failure(request, settings.model, exc, attempt) from None
                attempt += 1
                self._count_retry(usage)
                ceiling = min(self.config.backoff_max, self.config.backoff_initial * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, ceiling))
                continue
            gate.succeeded()
            break
        reported = getattr(response, "usage", None)
        spent = Usage(
            calls=1,
            prompt_tokens=int(getattr(reported, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(reported, "completion_tokens", 0) or 0),
        )
        usage.add(spent)
        self.counts.update(spent.model_dump(include={"calls", "prompt_tokens", "completion_tokens"}))
        cost = None if settings.model in self._unpriced else _cost(response)
        if cost is None:
            self._unpriced.add(settings.model)
        else:
            usage.cost_usd = (usage.cost_usd or 0.0) + cost
        return response

    def _count_retry(self, usage: Usage) -> None:
        usage.retries += 1
        self.counts["retries"] += 1

    def _reply(
        self,
        request: Request[T],
        settings: ModelSettings,
        parsed: T,
        raw: str,
        usage: Usage,
        cached: bool,
        repairs: list[str],
    ) -> Reply[T]:
        used = provenance(request, self.name, settings.model, usage, raw, estimated=False, cached=cached)
        if repairs:
            used = used.model_copy(update={"repairs": repairs})
        return Reply(parsed=parsed, usage=usage, provenance=used)


@cache
def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Building a JSON schema costs about a millisecond; reply schemas never change in a run.
    return model.model_json_schema()


def _endpoint(settings: ModelSettings) -> str:
    """The model and the endpoint, without credentials or query: the key for what a server takes."""
    if not settings.api_base:
        return settings.model
    url = urlparse(settings.api_base)
    return f"{settings.model} @ {url.scheme}://{url.hostname}:{url.port or ''}{url.path}"


def _cost(response: Any) -> float | None:
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if cost is not None:
        return float(cost)
    try:
        return float(_litellm().completion_cost(completion_response=response))
    except Exception:
        # litellm knows prices only for mapped models; an unknown price is None, never 0.
        return None
