"""The run-config file (`--config run.yaml`): the same settings as the command-line flags.

Flags given on the command line win over the file. Without a model anywhere, the offline
engine is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.engines.base import Engine
from counselsynth.engines.cache import ResponseCache
from counselsynth.engines.llm import GatewayConfig, LLMEngine, ModelSettings, StructuredMode
from counselsynth.engines.offline import OfflineEngine
from counselsynth.errors import InputError
from counselsynth.models import Strict
from counselsynth.settings import RunSettings
from counselsynth.vocabulary import OnMismatch

CACHE = "cache.sqlite"
# The settings a run-config file shares with RunSettings.
RUN_FIELDS = (
    "framework",
    "each_framework",
    "sessions",
    "seed",
    "limit",
    "max_revisions",
    "on_mismatch",
    "concurrency",
    "language",
)


class RunConfig(Strict):
    framework: str | None = None
    each_framework: bool | None = None
    sessions: int | None = Field(default=None, ge=1, le=50)
    seed: int | None = None
    limit: int | None = Field(default=None, ge=1)
    max_revisions: int | None = Field(default=None, ge=0, le=10)
    on_mismatch: OnMismatch | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1024)
    language: str | None = None
    model: str | None = None
    planner_model: str | None = None
    counselor_model: str | None = None
    client_model: str | None = None
    critic_model: str | None = None
    summarizer_model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    structured: StructuredMode | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    max_repairs: int | None = Field(default=None, ge=0, le=5)
    backoff_initial: float | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    outage_timeout: float | None = Field(default=None, gt=0)
    max_failures: str | int | float | None = None
    router: list[dict[str, Any]] | None = None
    cache: Path | None = None

    def merged(self, **flags: Any) -> RunConfig:
        """This file's settings overridden by every flag that was given (not None)."""
        return self.model_copy(update={k: v for k, v in flags.items() if v is not None})

    def run_settings(self, out_dir: Path, **extra: Any) -> RunSettings:
        """The generation settings: what this config sets, RunSettings' defaults for the rest."""
        given = {name: getattr(self, name) for name in RUN_FIELDS if getattr(self, name) is not None}
        return RunSettings(out_dir=out_dir, **given, **extra)


def load_run_config(path: Path | None) -> RunConfig:
    return load_one(path, RunConfig) if path is not None else RunConfig()


def build_engine(config: RunConfig, out_dir: Path) -> Engine:
    """The offline engine unless a model (or a router) is configured."""
    agent_models = {
        "planner": config.planner_model,
        "counselor": config.counselor_model,
        "client": config.client_model,
        "critic": config.critic_model,
        "summarizer": config.summarizer_model,
    }
    if config.model is None and config.router is None:
        named = [agent for agent, model in agent_models.items() if model]
        if named:
            raise InputError(f"--{named[0]}-model needs --model for the other agents (or set all five)")
        return OfflineEngine()
    base: dict[str, Any] = {
        "api_base": config.api_base,
        "api_key_env": config.api_key_env,
        "timeout": config.timeout,
        "rpm": config.rpm,
        "tpm": config.tpm,
        "structured": config.structured,
        "max_tokens": config.max_tokens,
    }
    base = {k: v for k, v in base.items() if v is not None}
    # With a router alone, agents address the router's model name.
    default_model = config.model if config.model is not None else str((config.router or [{}])[0]["model_name"])
    default = ModelSettings(model=default_model, **base)
    gateway: dict[str, Any] = {
        "default": default,
        "agents": {a: default.model_copy(update={"model": m}) for a, m in agent_models.items() if m},
        "router": config.router,
    }
    for knob in ("max_attempts", "max_repairs", "backoff_initial", "outage_timeout"):
        if getattr(config, knob) is not None:
            gateway[knob] = getattr(config, knob)
    cache = ResponseCache(config.cache or out_dir / CACHE)
    return LLMEngine(GatewayConfig.model_validate(gateway), cache=cache)
