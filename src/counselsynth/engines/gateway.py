"""The LLM engine's settings: one model per agent (or one for all), and how hard to try."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from counselsynth.engines.structured import StructuredMode
from counselsynth.models import AgentName, Strict


class ModelSettings(Strict):
    model: str = Field(description="any litellm model string, e.g. openai/gpt-4o-mini or hosted_vllm/...")
    api_base: str | None = None
    api_key_env: str | None = Field(default=None, description="name of the environment variable holding the key")
    timeout: float = Field(default=60.0, gt=0)
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    temperature: float = Field(default=0.7, ge=0, le=2)
    structured: StructuredMode = "auto"
    max_tokens: int | None = Field(default=None, gt=0, description="cap on each reply's tokens")


class GatewayConfig(Strict):
    default: ModelSettings
    agents: dict[AgentName, ModelSettings] = Field(default_factory=dict)
    max_attempts: int = Field(default=6, ge=1, le=20, description="tries per call for transient failures")
    max_repairs: int = Field(default=2, ge=0, le=5, description="re-asks per call for an invalid reply")
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_max: float = Field(default=30.0, gt=0)
    outage_timeout: float = Field(default=600.0, gt=0, description="seconds to wait for an endpoint that is down")
    router: list[dict[str, Any]] | None = Field(
        default=None, description="litellm Router model_list: several deployments of the same model name"
    )

    def for_agent(self, agent: AgentName) -> ModelSettings:
        return self.agents.get(agent, self.default)
