"""The therapy framework record: phases, strategy codes, client codes, rubric, and the safety
protocol every framework shares."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from counselsynth.languages import primary_subtag
from counselsynth.strict import Strict
from counselsynth.vocabulary import (
    ID_PATTERN,
    TALK_VALENCES,
    CoreCondition,
    MitiBehaviour,
    ProblemCategory,
    SummaryMetric,
    TalkValence,
)


class Phase(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    goal: str
    exchanges: tuple[int, int] = Field(description="min and max counselor turns in this phase")

    @field_validator("exchanges")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if not 1 <= low <= high:
            raise ValueError("needs 1 <= min <= max")
        return value


class StrategyCode(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    definition: str = Field(min_length=1)
    examples: list[str] = Field(min_length=1)
    miti: MitiBehaviour | None = None
    technique: str | None = None
    ctrs_items: list[str] = Field(default_factory=list)
    core_condition: CoreCondition | None = None
    safety_step: bool = False


class ClientCode(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    definition: str
    valence: TalkValence


class RubricItem(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str
    evidence_codes: list[str] = Field(min_length=1)
    expected_share: float = Field(gt=0, le=1, description="share of counselor turns that earns full marks")


class Rubric(Strict):
    name: str
    scale: tuple[int, int] = (1, 5)
    pass_threshold: float
    summary_thresholds: dict[SummaryMetric, float] = Field(default_factory=dict)
    items: list[RubricItem] = Field(min_length=1)


class TherapyFramework(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    description: str
    suited_for: list[ProblemCategory] = Field(default_factory=list)
    homework: bool = Field(default=True, description="whether sessions end with homework")
    phases: list[Phase] = Field(min_length=1)
    codes: list[StrategyCode] = Field(min_length=1)
    client_codes: list[ClientCode] = Field(min_length=1)
    rubric: Rubric

    @model_validator(mode="after")
    def _consistent(self) -> TherapyFramework:
        for kind, ids in (
            ("phase", [p.id for p in self.phases]),
            ("code", [c.id for c in self.codes]),
            ("client code", [c.id for c in self.client_codes]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {', '.join(dupes)}")
        known = {c.id for c in self.codes}
        for item in self.rubric.items:
            unknown = sorted(set(item.evidence_codes) - known)
            if unknown:
                raise ValueError(f"rubric item '{item.id}' names unknown codes: {', '.join(unknown)}")
        valences = {c.valence for c in self.client_codes}
        if valences != set(TALK_VALENCES):
            raise ValueError("client_codes must cover the valences change, neutral and sustain")
        return self

    def code(self, code_id: str) -> StrategyCode:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    @property
    def code_ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def client_code_for(self, valence: TalkValence) -> ClientCode:
        return next(c for c in self.client_codes if c.valence == valence)


class SafetyProtocol(Strict):
    id: str = Field(pattern=ID_PATTERN)
    codes: list[StrategyCode] = Field(min_length=1)
    first_session: list[str] = Field(min_length=1)
    later_sessions: list[str] = Field(min_length=1)
    resources: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self) -> SafetyProtocol:
        known = {c.id for c in self.codes}
        unknown = sorted(set(self.first_session + self.later_sessions) - known)
        if unknown:
            raise ValueError(f"required steps name unknown codes: {', '.join(unknown)}")
        if "default" not in self.resources:
            raise ValueError("resources needs a 'default' entry")
        return self

    def required_steps(self, session_index: int) -> list[str]:
        return self.first_session if session_index == 1 else self.later_sessions

    def resources_for(self, language: str) -> str:
        return self.resources.get(primary_subtag(language), self.resources["default"])
