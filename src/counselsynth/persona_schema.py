"""The persona record: who the client is, what brings them, how they talk, and their risk."""

from __future__ import annotations

from pydantic import Field

from counselsynth.strict import Strict
from counselsynth.vocabulary import (
    ELEVATED_RISK,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    CognitiveDistortion,
    ConversationStyle,
    CoreBeliefCategory,
    Level,
    ProblemCategory,
    RiskLevel,
    StageOfChange,
)


class Demographics(Strict):
    name: str = Field(min_length=1)
    age: int = Field(ge=12, le=100)
    gender: str = Field(min_length=1)
    occupation: str
    location: str
    relationship_status: str | None = None
    cultural_background: str | None = None


class PresentingProblem(Strict):
    category: ProblemCategory
    description: str = Field(min_length=1)


class Severity(Strict):
    phq9: int = Field(ge=0, le=27)
    gad7: int = Field(ge=0, le=21)


class CoreBelief(Strict):
    category: CoreBeliefCategory
    belief: str = Field(min_length=1)


class CognitiveConceptualization(Strict):
    core_beliefs: list[CoreBelief] = Field(min_length=1)
    intermediate_beliefs: list[str] = Field(min_length=1)
    automatic_thoughts: list[str] = Field(min_length=1)
    cognitive_distortions: list[CognitiveDistortion] = Field(min_length=1)
    coping_strategies: list[str] = Field(min_length=1)


class Risk(Strict):
    level: RiskLevel
    factors: list[str] = Field(default_factory=list)

    @property
    def elevated(self) -> bool:
        return self.level in ELEVATED_RISK


class Persona(Strict):
    id: str = Field(pattern=ID_PATTERN)
    language: str = Field(pattern=LANGUAGE_PATTERN)
    locale: str | None = None
    demographics: Demographics
    presenting_problem: PresentingProblem
    severity: Severity
    conceptualization: CognitiveConceptualization
    stage_of_change: StageOfChange
    style: ConversationStyle
    resistance: Level
    disclosure: Level
    trust: Level
    risk: Risk
    goals: list[str] = Field(min_length=1)
    history: str | None = None
    framework: str | None = Field(default=None, description="preferred framework id; checked at load")
