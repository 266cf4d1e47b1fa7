"""The closed vocabularies of the records: problems, risk, stages of change, speakers, agents, talk
types, emotions, safety events, MITI behaviours, and the patterns of ids and language tags.

Every module takes these from here (or from `models`, which re-exports them) rather than spelling
them again, so adding a value is one edit.
"""

from __future__ import annotations

from typing import Literal, get_args

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
# The agents of a generation run and of a translation run; AgentName is both.
GenerationAgent = Literal["planner", "counselor", "client", "critic", "summarizer"]
TranslationAgent = Literal["translator", "back_translator"]
AgentName = Literal[GenerationAgent, TranslationAgent]
TalkValence = Literal["change", "neutral", "sustain"]
# What a run does with a counselor turn whose text does not perform its code (--on-mismatch).
OnMismatch = Literal["regenerate", "relabel", "flag"]
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

# The same vocabularies as tuples, in their canonical order, and the MITI behaviour groups the
# summary scores are built from.
TALK_VALENCES: tuple[TalkValence, ...] = get_args(TalkValence)
MITI_BEHAVIOURS: tuple[MitiBehaviour, ...] = get_args(MitiBehaviour)
REFLECTION_CODES: tuple[MitiBehaviour, ...] = ("SR", "CR")
QUESTION_CODES: tuple[MitiBehaviour, ...] = ("Q_OPEN", "Q_CLOSED")
MI_ADHERENT: tuple[MitiBehaviour, ...] = ("AF", "SEEK", "EMPH")
MI_NON_ADHERENT: tuple[MitiBehaviour, ...] = ("PERSUADE", "CONFRONT")
GENERATION_AGENTS: tuple[GenerationAgent, ...] = get_args(GenerationAgent)
TRANSLATION_AGENTS: tuple[TranslationAgent, ...] = get_args(TranslationAgent)

# Clients under this age are minors: sampled personas are adults unless minors are asked for
# (personas sample --include-minors), and the dataset card counts minors.
ADULT_AGE = 18
ON_MISMATCH: tuple[OnMismatch, ...] = get_args(OnMismatch)

# Persona files of other projects that `personas import --from` reads.
PersonaSourceFormat = Literal["patient-psi", "cactus"]
PERSONA_SOURCE_FORMATS: tuple[PersonaSourceFormat, ...] = get_args(PersonaSourceFormat)
