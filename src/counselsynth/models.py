"""Typed records: what the data files and the outputs contain.

Data files become these models at the edge; everything inside the package works on them. All
models forbid unknown keys, so a typo in a persona file is an error instead of a silent default.
Record models (Turn, Session, Case) are the contract that every command reads: other fields may
be added, but the contract keys keep their meaning.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

# -- vocabularies ---------------------------------------------------------------------------------

ProblemCategory = Literal[
    "depression",
    "anxiety",
    "grief",
    "alcohol_use",
    "substance_use",
    "smoking",
    "relationship_conflict",
    "work_stress",
    "trauma",
    "loneliness",
    "insomnia",
    "self_esteem",
]
RiskLevel = Literal["none", "low", "moderate", "high"]
ELEVATED_RISK: frozenset[str] = frozenset({"moderate", "high"})
StageOfChange = Literal["precontemplation", "contemplation", "preparation", "action", "maintenance"]
STAGES: tuple[StageOfChange, ...] = ("precontemplation", "contemplation", "preparation", "action", "maintenance")
ConversationStyle = Literal["plain", "upset", "verbose", "reserved", "tangent", "pleasing"]
Level = Literal["low", "medium", "high"]
CoreBeliefCategory = Literal["helpless", "unlovable", "worthless"]
CognitiveDistortion = Literal[
    "all_or_nothing",
    "overgeneralization",
    "mental_filter",
    "disqualifying_positive",
    "mind_reading",
    "fortune_telling",
    "catastrophizing",
    "emotional_reasoning",
    "should_statements",
    "labeling",
    "personalization",
    "magnification",
]
Speaker = Literal["counselor", "client"]
AgentName = Literal["planner", "counselor", "client", "critic", "summarizer", "translator", "back_translator"]
TalkValence = Literal["change", "neutral", "sustain"]
Emotion = Literal[
    "sadness",
    "anxiety",
    "fear",
    "anger",
    "shame",
    "guilt",
    "hopelessness",
    "frustration",
    "loneliness",
    "relief",
    "hope",
    "neutral",
]
SafetyEvent = Literal["suicidal_ideation", "self_harm", "harm_to_others", "abuse_disclosure"]
# MITI 4.2 behaviour counts, plus the open/closed split of questions from MITI 3 that AnnoMI keeps.
MitiBehaviour = Literal[
    "SR",
    "CR",
    "Q_OPEN",
    "Q_CLOSED",
    "AF",
    "SEEK",
    "EMPH",
    "GI",
    "PERSUADE",
    "PWP",
    "CONFRONT",
]
# Session-level statistics that a rubric may set a floor for (see counselsynth.codestats).
SummaryMetric = Literal["r_to_q", "pct_complex_reflections", "pct_open_questions", "pct_mi_adherent"]
CoreCondition = Literal["empathic_understanding", "unconditional_positive_regard", "congruence"]
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


# -- personas -------------------------------------------------------------------------------------


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


# -- frameworks -----------------------------------------------------------------------------------


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
        if valences != {"change", "neutral", "sustain"}:
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
        return self.resources.get(language.split("-")[0], self.resources["default"])


# -- records --------------------------------------------------------------------------------------


class Usage(Strict):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    retries: int = Field(default=0, description="transient failures retried")
    repairs: int = Field(default=0, description="invalid replies re-asked")
    first_try: int = Field(default=0, description="replies valid as the model first wrote them")
    fixed: int = Field(default=0, description="replies accepted after an unambiguous repair (see Provenance.repairs)")

    def add(self, other: Usage) -> None:
        self.first_try += other.first_try
        self.fixed += other.fixed
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.retries += other.retries
        self.repairs += other.repairs
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd


class Provenance(Strict):
    """Where a parsed reply came from: enough to audit or reproduce it."""

    engine: str
    model: str
    template: str
    template_hash: str
    prompt_tokens: int
    completion_tokens: int
    token_count: Literal["provider", "estimate"]
    prefix_share: float | None = Field(
        default=None, description="share of this prompt that repeats the agent's previous prompt in the session"
    )
    cached: bool = False
    raw: str
    repairs: list[str] = Field(
        default_factory=list, description="what was repaired in `raw` before it was accepted, e.g. a clamped integer"
    )


class TurnAnnotations(Strict):
    # counselor turns
    code: str | None = None
    phase: str | None = None
    miti: MitiBehaviour | None = None
    safety_step: bool = False
    # client turns
    talk_type: str | None = None
    valence: TalkValence | None = None
    emotion: Emotion | None = None
    emotion_intensity: int | None = Field(default=None, ge=1, le=5)
    safety_events: list[SafetyEvent] = Field(default_factory=list)


class Turn(Strict):
    speaker: Speaker
    text: str
    annotations: TurnAnnotations
    provenance: Provenance | None = None
    # Augmented corpora only: the turn's text in the source run, and the quality gates it still
    # failed after its retries (an empty list means it passed every gate it was checked by).
    source_text: str | None = None
    flags: list[str] = Field(default_factory=list)
    _plain: dict[str, Any] | None = PrivateAttr(default=None)

    def plain(self) -> dict[str, Any]:
        """The turn as JSON-ready data, computed once: turns do not change after they are spoken."""
        # Read the private slot directly: `self._plain` goes through BaseModel.__getattr__, which
        # costs microseconds, and every checkpoint asks for every turn of the case.
        private = self.__pydantic_private__
        assert private is not None
        cached: dict[str, Any] | None = private["_plain"]
        if cached is None:
            cached = private["_plain"] = self.model_dump(mode="json")
        return cached

    @model_validator(mode="after")
    def _annotated(self) -> Turn:
        if self.speaker == "counselor" and not self.annotations.code:
            raise ValueError("counselor turns need annotations.code")
        if self.speaker == "client" and not self.annotations.talk_type:
            raise ValueError("client turns need annotations.talk_type")
        return self


class Critique(Strict):
    passed: bool
    scores: dict[str, float]
    mean_score: float
    reasons: list[str] = Field(default_factory=list)
    suggested_fix: str | None = None
    safety_required: bool = False
    safety_missing: list[str] = Field(default_factory=list)
    provenance: Provenance | None = None


class PhasePlan(Strict):
    phase: str
    exchanges: int = Field(ge=1)


class SessionSummary(Strict):
    summary: str
    homework: str | None
    phq9: int = Field(ge=0, le=27)
    gad7: int = Field(ge=0, le=21)
    stage_of_change: StageOfChange
    provenance: Provenance | None = None


class Session(Strict):
    index: int = Field(ge=1)
    plan: list[PhasePlan]
    turns: list[Turn]
    # Generated sessions always carry a critique; sessions imported from real corpora have none.
    critique: Critique | None
    critique_history: list[Critique] = Field(default_factory=list)
    revisions: int = 0
    revisions_exhausted: bool = False
    discarded_counselor_turns: int = Field(default=0, description="counselor turns of attempts the critic sent back")
    summary: SessionSummary | None = None


class GateTally(Strict):
    """One quality gate over a run or a case: how often it was applied and how it ended."""

    checked: int = 0
    failed_attempts: int = Field(default=0, description="attempts it rejected (each one was re-asked)")
    flagged: int = Field(default=0, description="turns or sessions that still failed after the retries")
    scored: int = Field(default=0, description="final scores behind the gate, where it has one (chrF)")
    score_sum: float = 0.0

    def add(self, other: GateTally) -> None:
        self.checked += other.checked
        self.failed_attempts += other.failed_attempts
        self.flagged += other.flagged
        self.scored += other.scored
        self.score_sum += other.score_sum

    @property
    def mean_score(self) -> float | None:
        return self.score_sum / self.scored if self.scored else None


class Translation(Strict):
    """Where an augmented case came from and what was changed on the way."""

    source_run_id: str
    source_case_id: str
    source_language: str
    target_language: str
    model: str = Field(description="the translating model (the dialogue's own origin stays in engine/model)")
    culture_note: str | None = None
    adaptations: dict[str, str] = Field(description="source name or place -> its local replacement")
    gates: dict[str, GateTally]
    back_translation_chrf: list[float] = Field(default_factory=list, description="chrF of each sampled turn")
    flagged: dict[str, list[str]] = Field(
        default_factory=dict,
        description="what still fails gates besides turns (which carry their own flags): "
        "'s1' (session 1 as a whole), 's1.session_notes', 's1.homework'",
    )


class Case(Strict):
    case_id: str
    persona_id: str
    framework: str
    language: str = Field(description="language of the dialogue text")
    persona_language: str
    engine: str
    offline: bool
    model: str
    seed: int
    sessions: list[Session]
    persona: dict[str, Any]
    usage: dict[str, Usage] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    translation: Translation | None = None


RunStatus = Literal["running", "complete", "interrupted", "failed"]


class RunManifest(Strict):
    run_id: str
    status: RunStatus
    engine: str
    offline: bool
    models: dict[str, str]
    seed: int
    settings: dict[str, Any]
    versions: dict[str, str]
    inputs: dict[str, str] = Field(description="persona files and their sha256")
    framework_hashes: dict[str, str]
    prompt_hashes: dict[str, str]
    policy_hashes: dict[str, str]
    counts: dict[str, int] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, Usage] = Field(default_factory=dict)
    code_statistics: dict[str, float | None] = Field(default_factory=dict)
    efficiency: dict[str, float] = Field(default_factory=dict)
    planned_cases: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    source_run: dict[str, str] | None = Field(default=None, description="augmented runs: the run they came from")
    gates: dict[str, GateTally] = Field(default_factory=dict)
    failures: dict[str, int] = Field(
        default_factory=dict, description="cases that could not be finished, by cause (see failures.jsonl)"
    )
    structured: dict[str, str] = Field(
        default_factory=dict, description="the structured-output mode each model and endpoint ended on"
    )
    resilience: dict[str, float] = Field(
        default_factory=dict,
        description="engine counters over every run of this folder, failed cases included: calls, tokens, "
        "retries, re-asks, replies repaired in place, structured-output fallbacks, outage pauses and seconds",
    )
