"""The LLM engine: any model litellm can reach, with structured replies, retries and budgets.

This module is the one boundary where provider errors become counselsynth errors. litellm's
own retries are off; transient failures (429, 5xx, timeouts, refused connections) are retried
here with exponential backoff and jitter. Every call has an explicit timeout.
"""

from __future__ import annotations

import json
import os
import re
import socket
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, Field, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from counselsynth.engines.base import Reply, Request, T, provenance
from counselsynth.engines.cache import ResponseCache, request_key
from counselsynth.engines.ratelimit import RateLimiter
from counselsynth.engines.slots import PrioritySlots
from counselsynth.errors import EngineError, InputError, ReplyValidationError
from counselsynth.models import GENERATION_AGENTS, AgentName, Strict, Usage
from counselsynth.redaction import redact, remember_router, remember_variable

StructuredMode = Literal["auto", "json_schema", "json_object", "prompt"]
AGENTS = GENERATION_AGENTS
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class ModelSettings(Strict):
    model: str = Field(description="any litellm model string, e.g. openai/gpt-4o-mini or hosted_vllm/...")
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="name of the environment variable holding the key")
    timeout: float = Field(default=60.0, gt=0)
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    temperature: float = Field(default=0.7, ge=0, le=2)
    structured: StructuredMode = "auto"


class GatewayConfig(Strict):
    default: ModelSettings
    agents: dict[AgentName, ModelSettings] = Field(default_factory=dict)
    max_attempts: int = Field(default=6, ge=1, le=20, description="tries per call for transient failures")
    max_repairs: int = Field(default=2, ge=0, le=5, description="re-asks per call for an invalid reply")
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    router: list[dict[str, Any]] | None = Field(
        default=None, description="litellm Router model_list: several deployments of the same model name"
    )

    def for_agent(self, agent: AgentName) -> ModelSettings:
        return self.agents.get(agent, self.default)


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


def _transient() -> tuple[type[BaseException], ...]:
    litellm = _litellm()
    return (
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.BadGatewayError,
        litellm.APIConnectionError,
        # litellm.Timeout is not an APIConnectionError subclass, so it is listed on its own.
        litellm.Timeout,
        _MalformedResponse,
    )


class _MalformedResponse(Exception):
    """The provider answered 200 with no usable message."""


@dataclass
class LLMEngine:
    config: GatewayConfig
    cache: ResponseCache | None = None
    name: str = "litellm"
    offline: bool = False
    _limiters: dict[str, RateLimiter] = field(default_factory=dict)
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

    def preflight(self) -> None:
        """Fail before any case starts on an unknown model, a missing key or an unreachable endpoint."""
        litellm = _litellm()
        seen: set[str] = set()
        for agent in AGENTS:
            settings = self.config.for_agent(agent)
            if settings.model in seen or self._router is not None:
                continue
            seen.add(settings.model)
            try:
                litellm.get_llm_provider(model=settings.model, api_base=settings.api_base)
            except Exception:
                raise InputError(
                    f"unknown model '{settings.model}' for the {agent}: use a litellm model string "
                    "such as openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest or ollama/llama3.1"
                ) from None
            if settings.api_key_env and not os.environ.get(settings.api_key_env):
                raise InputError(f"missing API key: the environment variable {settings.api_key_env} is not set")
            if settings.api_base:
                _check_reachable(settings.api_base)
            elif not settings.api_key_env:
                missing = litellm.validate_environment(model=settings.model).get("missing_keys") or []
                if missing:
                    raise InputError(f"missing API key for '{settings.model}': set {', '.join(missing)}")

    async def complete(self, request: Request[T]) -> Reply[T]:
        settings = self.config.for_agent(request.agent)
        mode = self._mode(settings)
        schema = json_schema(request.reply_schema)
        messages = _with_schema(request.messages, schema) if mode != "json_schema" else list(request.messages)
        key = request_key(
            {
                "model": settings.model,
                "messages": messages,
                "mode": mode,
                "schema": schema,
                "temperature": settings.temperature,
                "seed": request.seed,
            }
        )
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            parsed = request.reply_schema.model_validate_json(hit["raw"])
            return self._reply(request, settings, parsed, hit["raw"], Usage.model_validate(hit["usage"]), True)
        usage = Usage()
        content = ""
        for _ in range(self.config.max_repairs + 1):
            response = await self._call(settings, messages, mode, request.reply_schema, usage, request.priority)
            content = response.choices[0].message.content or ""
            try:
                parsed = request.reply_schema.model_validate_json(_FENCE.sub("", content.strip()))
            except ValidationError as exc:
                usage.repairs += 1
                problem = exc.errors(include_url=False)[0]
                where = ".".join(map(str, problem["loc"])) or "top level"
                messages = [
                    *messages,
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": (
                            f"That reply is not valid JSON for the schema ({problem['msg']} at {where}). "
                            "Reply again with only the JSON object."
                        ),
                    },
                ]
                continue
            if self.cache is not None:
                self.cache.put(key, {"raw": content, "usage": usage.model_dump()})
            return self._reply(request, settings, parsed, content, usage, False)
        raise ReplyValidationError(
            f"the {request.agent} reply from '{settings.model}' never matched its schema "
            f"after {self.config.max_repairs + 1} tries",
            attempts=self.config.max_repairs + 1,
            last_reply=redact(content)[:500],
        )

    def _mode(self, settings: ModelSettings) -> StructuredMode:
        if settings.structured != "auto":
            return settings.structured
        if settings.api_base is not None or self._router is not None:
            # Self-hosted OpenAI-compatible servers (vLLM, llama.cpp, Ollama) take json_schema.
            return "json_schema"
        supported = _litellm().supports_response_schema(model=settings.model)
        return "json_schema" if supported else "json_object"

    async def _call(
        self,
        settings: ModelSettings,
        messages: list[dict[str, str]],
        mode: StructuredMode,
        schema: type[BaseModel],
        usage: Usage,
        priority: float = 0.0,
    ) -> Any:
        litellm = _litellm()
        kwargs: dict[str, Any] = {
            "model": settings.model,
            "messages": messages,
            "timeout": settings.timeout,
            "max_retries": 0,
            "num_retries": 0,
            "temperature": settings.temperature,
        }
        if settings.api_base:
            kwargs["api_base"] = settings.api_base
        if settings.api_key_env:
            kwargs["api_key"] = os.environ.get(settings.api_key_env, "")
        if mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": json_schema(schema)},
            }
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        limiter = self._limiters.setdefault(settings.model, RateLimiter(settings.rpm, settings.tpm))
        estimate = sum(len(m["content"]) for m in messages) // 4
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=wait_random_exponential(multiplier=self.config.backoff_initial, max=self.config.backoff_max),
            retry=retry_if_exception_type(_transient()),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        usage.retries += 1
                    await limiter.acquire(estimate)
                    call = self._router.acompletion if self._router is not None else litellm.acompletion
                    async with self._slots.hold(priority) if self._slots is not None else nullcontext():
                        response = await call(**kwargs)
                    if not getattr(response, "choices", None):
                        raise _MalformedResponse("no choices in the response")
        except Exception as exc:
            raise _engine_error(exc, settings.model, retrying.statistics.get("attempt_number", 1)) from None
        usage.calls += 1
        reported = getattr(response, "usage", None)
        usage.prompt_tokens += int(getattr(reported, "prompt_tokens", 0) or 0)
        usage.completion_tokens += int(getattr(reported, "completion_tokens", 0) or 0)
        cost = None if settings.model in self._unpriced else _cost(response)
        if cost is None:
            self._unpriced.add(settings.model)
        else:
            usage.cost_usd = (usage.cost_usd or 0.0) + cost
        return response

    def _reply(
        self, request: Request[T], settings: ModelSettings, parsed: T, raw: str, usage: Usage, cached: bool
    ) -> Reply[T]:
        used = provenance(request, self.name, settings.model, usage, raw, estimated=False, cached=cached)
        return Reply(parsed=parsed, usage=usage, provenance=used)


@cache
def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Building a JSON schema costs about a millisecond; reply schemas never change in a run.
    return model.model_json_schema()


def _with_schema(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """For providers without schema support, ask for the schema in the prompt itself."""
    last = messages[-1]
    block = f"\n\nAnswer with one JSON object only, matching <json-schema>{json.dumps(schema)}</json-schema>"
    return [*messages[:-1], {"role": last["role"], "content": last["content"] + block}]


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


def _engine_error(exc: BaseException, model: str, attempts: int) -> EngineError:
    if isinstance(exc, EngineError):
        return exc
    kind = type(exc).__name__
    message = redact(str(exc).splitlines()[0] if str(exc) else kind)
    # Only transient failures are retried: a 401 or a 400 is reported as the one try it was.
    tries = f"after {attempts} attempts" if attempts > 1 else "on the first attempt, not retried"
    return EngineError(f"'{model}' failed {tries} ({kind}): {message[:300]}", attempts=attempts)


def _check_reachable(api_base: str) -> None:
    url = urlparse(api_base)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=5):
            return
    except OSError as exc:
        raise InputError(
            f"cannot reach {url.scheme}://{host}:{port} ({exc.strerror or exc}); is the server running?"
        ) from None
