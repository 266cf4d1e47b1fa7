"""What every node of a case's run can read but never changes: the run-time context."""

from __future__ import annotations

from dataclasses import dataclass, field

from counselsynth.engines.base import Engine
from counselsynth.models import OnMismatch, Persona, SafetyProtocol, TherapyFramework
from counselsynth.policy import CompiledPolicy
from counselsynth.prompts import PromptLibrary


@dataclass(frozen=True)
class CaseContext:
    case_id: str
    seed: int
    persona: Persona
    framework: TherapyFramework
    safety: SafetyProtocol
    policy: CompiledPolicy
    prompts: PromptLibrary
    engine: Engine
    language: str
    sessions: int
    max_revisions: int
    on_mismatch: OnMismatch = "regenerate"
    # The last prompt each agent sent in the current session attempt, to measure prefix reuse.
    last_prompts: dict[str, str] = field(default_factory=dict)
    system_prompts: dict[str, str] = field(default_factory=dict)

    def seed_for(self, agent: str, state_key: str) -> str:
        # A string seed: random.Random hashes it with SHA-512, so it is stable across processes.
        return f"{self.seed}|{self.case_id}|{state_key}|{agent}"
