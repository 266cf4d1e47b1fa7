"""Typed records: what the data files and the outputs contain.

Data files become these models at the edge; everything inside the package works on them. All
models forbid unknown keys, so a typo in a persona file is an error instead of a silent default.
Record models (Turn, Session, Case) are the contract that every command reads: other fields may
be added, but the contract keys keep their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from counselsynth.evaluation.record import EvaluationRecord
from counselsynth.framework_schema import (
    ClientCode,
    Phase,
    Rubric,
    RubricItem,
    SafetyProtocol,
    StrategyCode,
    TherapyFramework,
)
from counselsynth.persona_schema import (
    CognitiveConceptualization,
    CoreBelief,
    Demographics,
    Persona,
    PresentingProblem,
    Risk,
    Severity,
)
from counselsynth.strict import Strict
from counselsynth.vocabulary import (
    ELEVATED_RISK,
    GENERATION_AGENTS,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    LENGTH_FLAG,
    MI_ADHERENT,
    MI_NON_ADHERENT,
    MITI_BEHAVIOURS,
    QUESTION_CODES,
    REFLECTION_CODES,
    STAGES,
    TALK_VALENCES,
    TRANSLATION_AGENTS,
    AgentName,
    CognitiveDistortion,
    ConversationStyle,
    CoreBeliefCategory,
    CoreCondition,
    Emotion,
    GenerationAgent,
    Level,
    MitiBehaviour,
    OnMismatch,
    ProblemCategory,
    RiskLevel,
    SafetyEvent,
    Speaker,
    StageOfChange,
    SummaryMetric,
    TalkValence,
    TranslationAgent,
)

# The vocabularies, persona and framework records live in their own modules; this is the one
# import path for every record type.
__all__ = [
    "LENGTH_FLAG",
    "SESSION_GATES",
    "TURN_GATES",
    "in_table_order",
    "GENERATION_AGENTS",
    "TRANSLATION_AGENTS",
    "GenerationAgent",
    "TranslationAgent",
    "TALK_VALENCES",
    "MITI_BEHAVIOURS",
    "REFLECTION_CODES",
    "QUESTION_CODES",
    "MI_ADHERENT",
    "MI_NON_ADHERENT",
    "AgentName",
    "Case",
    "ClientCode",
    "CognitiveConceptualization",
    "CognitiveDistortion",
    "ConversationStyle",
    "CoreBelief",
    "CoreBeliefCategory",
    "CoreCondition",
    "Critique",
    "Demographics",
    "ELEVATED_RISK",
    "Emotion",
    "GateTally",
    "ID_PATTERN",
    "LANGUAGE_PATTERN",
    "Level",
    "MitiBehaviour",
    "OnMismatch",
    "Persona",
    "Phase",
    "PhasePlan",
    "PresentingProblem",
    "ProblemCategory",
    "Provenance",
    "Risk",
    "RiskLevel",
    "Rubric",
    "RubricItem",
    "RunManifest",
    "STAGES",
    "SafetyEvent",
    "SafetyProtocol",
    "Session",
    "SessionSummary",
    "Severity",
    "Speaker",
    "StageOfChange",
    "StrategyCode",
    "Strict",
    "SummaryMetric",
    "TalkValence",
    "TherapyFramework",
    "Translation",
    "Turn",
    "TurnAnnotations",
    "Usage",
]


class Usage(Strict):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    retries: int = Field(default=0, description="transient failures retried")
    repairs: int = Field(default=0, description="invalid replies re-asked")
    first_try: int = Field(default=0, description="replies valid as the model first wrote them")
    fixed: int = Field(default=0, description="replies accepted after an unambiguous repair (see Provenance.repairs)")
    length_reasks: int = Field(default=0, description="schema-valid replies re-asked for being far too long")

    def add(self, other: Usage) -> None:
        self.length_reasks += other.length_reasks
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


# The code (counselor) or talk type (client) of a turn that its source did not label: real
# corpora converted without annotations. Such turns count as utterances but never as a code.
NOT_ANNOTATED = "not_annotated"


class TurnAnnotations(Strict):
    # counselor turns
    code: str | None = None
    phase: str | None = None
    miti: MitiBehaviour | None = None
    safety_step: bool = False
    # Whether the text performs `code`, as the critic and the safety text checks judged it; None
    # where nothing checked it (the offline engine, corpora made before verification).
    verified: bool | None = None
    # After a relabel: the code the turn was asked for; `code` is then what the text performs.
    intended_code: str | None = None
    # client turns
    talk_type: str | None = None
    valence: TalkValence | None = None
    emotion: Emotion | None = None
    emotion_intensity: int | None = Field(default=None, ge=1, le=5)
    safety_events: list[SafetyEvent] = Field(default_factory=list)
    # both speakers: the length the turn was asked to have (drawn from the framework's turn form;
    # None for safety steps and converted corpora), and the checks it still failed ("length")
    target_words: int | None = Field(default=None, ge=1)
    flags: list[str] = Field(default_factory=list)


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

    def annotated(self, annotations: TurnAnnotations) -> Turn:
        """This turn with other annotations: a new turn, since `plain()` caches a turn's data."""
        fields = {name: getattr(self, name) for name in type(self).model_fields if name != "annotations"}
        return Turn(**fields, annotations=annotations)

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
    # Counselor turns (1-based among the counselor's) whose text did not perform their code, and
    # what was done about them (see --on-mismatch).
    mismatched_turns: list[int] = Field(default_factory=list)
    mismatch_action: OnMismatch | None = None
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


# The gates of a translated run, in the order reports list them (checked by augment.gates).
TURN_GATES = ("turns", "annotations", "script", "language", "length", "untranslated", "back_translation")
SESSION_GATES = ("turns", "annotations", "language", "length")


def in_table_order(tallies: Mapping[str, GateTally]) -> list[tuple[str, GateTally]]:
    """The gates of a run or case as `level.gate` rows: turn gates, then session gates."""
    names = [f"turn.{gate}" for gate in TURN_GATES] + [f"session.{gate}" for gate in SESSION_GATES]
    return [(name, tallies[name]) for name in names if name in tallies]


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
    evaluation: EvaluationRecord | None = Field(default=None, description="evaluate runs: the session's verdicts")


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
    form_hashes: dict[str, str] = Field(default_factory=dict, description="turn-form files by framework")
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
    executor: dict[str, Any] = Field(
        default_factory=dict,
        description="where the cases ran: kind (in-process, processes, ray), workers, and per worker its "
        "request slots, cases and calls",
    )
    resilience: dict[str, float] = Field(
        default_factory=dict,
        description="engine counters over every run of this folder, failed cases included: calls, tokens, "
        "retries, re-asks, replies repaired in place, structured-output fallbacks, outage pauses and seconds",
    )
