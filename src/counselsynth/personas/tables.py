"""The sampler's distribution tables as typed models: problem mix, severity, risk,
conceptualization, engagement, demographics, and the mappings the importers use.

Each table cross-checks what a typo would otherwise slip past (a problem missing from a table, a
band that does not exist, elevated risk allowed below the PHQ-9 threshold). `distributions` loads
them from their files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, get_args

from pydantic import Field, model_validator

from counselsynth.models import (
    CognitiveDistortion,
    ConversationStyle,
    CoreBeliefCategory,
    Level,
    ProblemCategory,
    RiskLevel,
    StageOfChange,
)
from counselsynth.strict import Strict

PROBLEMS: tuple[str, ...] = get_args(ProblemCategory)
CORE_BELIEF_CATEGORIES: tuple[str, ...] = get_args(CoreBeliefCategory)
RISK_LEVELS: tuple[str, ...] = get_args(RiskLevel)
STAGE_NAMES: tuple[str, ...] = get_args(StageOfChange)
STYLES: tuple[str, ...] = get_args(ConversationStyle)
LEVELS: tuple[str, ...] = get_args(Level)
DISTORTIONS: tuple[str, ...] = get_args(CognitiveDistortion)
Gender = Literal["female", "male", "nonbinary"]
NameGender = Literal["female", "male"]
LifeStage = Literal["school", "student", "working", "unemployed", "retired"]
RelationshipStatus = Literal["single", "partnered", "married", "divorced", "widowed"]
RiskFactorKind = Literal["low", "moderate", "high"]
GENDERS: tuple[str, ...] = get_args(Gender)
RISK_FACTOR_KINDS: tuple[str, ...] = get_args(RiskFactorKind)
LIFE_STAGES: tuple[str, ...] = get_args(LifeStage)
RELATIONSHIPS: tuple[str, ...] = get_args(RelationshipStatus)
SLOTS = frozenset({"name", "duration", "ago"})
# A mix file's proportions must add up to 1 within this much: room for rounding, not for typos.
MIX_TOLERANCE = 0.005


class Frozen(Strict, frozen=True):
    """A distribution table: read once from its file, never changed (and so hashable)."""


def _positive_total(weights: Mapping[str, float], what: str) -> None:
    if any(w < 0 or math.isnan(w) for w in weights.values()):
        raise ValueError(f"{what}: weights must not be negative")
    if sum(weights.values()) <= 0:
        raise ValueError(f"{what}: weights must not all be zero")


def _complete(keys: Iterable[str], expected: Iterable[str], what: str) -> None:
    missing = sorted(set(expected) - set(keys))
    if missing:
        raise ValueError(f"{what} lacks: {', '.join(missing)}")


def _known(keys: Iterable[str], valid: Iterable[str], what: str) -> None:
    unknown = sorted(set(keys) - set(valid))
    if unknown:
        raise ValueError(f"{what} has unknown keys {unknown}; valid: {', '.join(valid)}")


def _exactly(keys: Iterable[str], expected: Iterable[str], what: str) -> None:
    keys, expected = list(keys), list(expected)
    _complete(keys, expected, what)
    _known(keys, expected, what)


# -- mixes ----------------------------------------------------------------------------------------


class ProblemMix(Frozen):
    """Proportions of presenting problems (and optionally locales); the shape of a --mix file."""

    source: str | None = None
    problems: dict[str, float]
    locales: dict[str, float] | None = None


# -- severity -------------------------------------------------------------------------------------


class Band(Frozen):
    id: str
    min: int = Field(ge=0)
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.max < self.min:
            raise ValueError("needs min <= max")
        return self


class Scale(Frozen):
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> Scale:
        expected = 0
        for band in self.bands:
            if band.min != expected:
                raise ValueError(f"band '{band.id}' should start at {expected}")
            expected = band.max + 1
        return self

    @property
    def max(self) -> int:
        return self.bands[-1].max

    def band_of(self, score: int) -> str:
        return next(b.id for b in self.bands if b.min <= score <= b.max)


class ProblemSeverity(Frozen):
    phq9: dict[str, float]
    gad7: dict[str, float]


class SeverityTable(Frozen):
    source: str
    correlation: float = Field(ge=-1, le=1)
    scales: dict[str, Scale]
    problems: dict[str, ProblemSeverity]

    @model_validator(mode="after")
    def _consistent(self) -> SeverityTable:
        _exactly(self.scales, ("phq9", "gad7"), "scales")
        _complete(self.problems, PROBLEMS, "problems")
        for problem, table in self.problems.items():
            for scale_id, weights in (("phq9", table.phq9), ("gad7", table.gad7)):
                bands = [b.id for b in self.scales[scale_id].bands]
                if sorted(weights) != sorted(bands):
                    raise ValueError(f"problems.{problem}.{scale_id} must give a weight to each band: {bands}")
                _positive_total(weights, f"problems.{problem}.{scale_id}")
        return self


# -- risk -----------------------------------------------------------------------------------------


class RiskTable(Frozen):
    source: str
    min_phq9_for_elevated: int = Field(ge=0, le=27)
    by_phq9_band: dict[str, dict[str, float]]
    elevated_multiplier: dict[str, float] = Field(default_factory=dict)
    factors: dict[str, dict[str, tuple[int, int]]]

    @model_validator(mode="after")
    def _consistent(self) -> RiskTable:
        _exactly(self.factors, RISK_LEVELS, "factors")
        unknown = sorted(set(self.elevated_multiplier) - set(PROBLEMS))
        if unknown:
            raise ValueError(f"elevated_multiplier names unknown problems: {', '.join(unknown)}")
        for band, weights in self.by_phq9_band.items():
            _exactly(weights, RISK_LEVELS, f"by_phq9_band.{band}")
            _positive_total(weights, f"by_phq9_band.{band}")
            for problem, multiplier in {"": 1.0, **self.elevated_multiplier}.items():
                elevated = (weights["moderate"] + weights["high"]) * multiplier
                if elevated > weights["none"] + weights["moderate"] + weights["high"] + 1e-9:
                    raise ValueError(f"elevated_multiplier.{problem} leaves no room for 'none' in band '{band}'")
        for level, kinds in self.factors.items():
            _known(kinds, RISK_FACTOR_KINDS, f"factors.{level}")
            for kind, (low, high) in kinds.items():
                if not 0 <= low <= high:
                    raise ValueError(f"factors.{level}.{kind} needs 0 <= min <= max")
        return self

    def check_bands(self, scale: Scale) -> None:
        """Elevated risk is impossible in every band that ends below the threshold."""
        _complete(self.by_phq9_band, [b.id for b in scale.bands], "by_phq9_band")
        for band in scale.bands:
            weights = self.by_phq9_band[band.id]
            if band.min < self.min_phq9_for_elevated and weights["moderate"] + weights["high"] > 0:
                raise ValueError(
                    f"by_phq9_band.{band.id} allows elevated risk below PHQ-9 {self.min_phq9_for_elevated}"
                )


# -- conceptualization ----------------------------------------------------------------------------


class ProblemConceptualization(Frozen):
    core_beliefs: dict[str, float]
    distortions: dict[str, float]

    @model_validator(mode="after")
    def _known(self) -> ProblemConceptualization:
        for what, weights, valid in (
            ("core_beliefs", self.core_beliefs, CORE_BELIEF_CATEGORIES),
            ("distortions", self.distortions, DISTORTIONS),
        ):
            unknown = sorted(set(weights) - set(valid))
            if unknown:
                raise ValueError(f"{what} names unknown values {unknown}; valid: {', '.join(valid)}")
            _positive_total(weights, what)
        return self


CountField = Literal[
    "core_beliefs", "intermediate_beliefs", "automatic_thoughts", "cognitive_distortions", "coping_strategies", "goals"
]
COUNT_FIELDS: tuple[str, ...] = get_args(CountField)


class ConceptualizationTable(Frozen):
    source: str
    counts: dict[str, dict[int, float]]
    problems: dict[str, ProblemConceptualization]

    @model_validator(mode="after")
    def _consistent(self) -> ConceptualizationTable:
        _exactly(self.counts, COUNT_FIELDS, "counts")
        _complete(self.problems, PROBLEMS, "problems")
        for field, weights in self.counts.items():
            if min(weights) < 1:
                raise ValueError(f"counts.{field}: counts start at 1")
            _positive_total({str(k): v for k, v in weights.items()}, f"counts.{field}")
        if max(self.counts["core_beliefs"]) > len(CORE_BELIEF_CATEGORIES):
            raise ValueError("counts.core_beliefs: at most one belief per category")
        for problem, table in self.problems.items():
            nonzero = sum(1 for w in table.distortions.values() if w > 0)
            if nonzero < max(self.counts["cognitive_distortions"]):
                raise ValueError(f"problems.{problem}.distortions: fewer distortions than the largest count")
            nonzero = sum(1 for w in table.core_beliefs.values() if w > 0)
            if nonzero < max(self.counts["core_beliefs"]):
                raise ValueError(f"problems.{problem}.core_beliefs: fewer categories than the largest count")
        return self


# -- engagement -----------------------------------------------------------------------------------


class EngagementTable(Frozen):
    source: str
    stage_of_change: dict[str, dict[str, float]]
    style: dict[str, float]
    resistance_by_stage: dict[str, dict[str, float]]
    resistance_style_factor: dict[str, dict[str, float]] = Field(default_factory=dict)
    disclosure_by_style: dict[str, dict[str, float]]
    trust_by_resistance: dict[str, dict[str, float]]

    @model_validator(mode="after")
    def _consistent(self) -> EngagementTable:
        _exactly(self.stage_of_change, PROBLEMS, "stage_of_change")
        _exactly(self.style, STYLES, "style")
        _positive_total(self.style, "style")
        _known(self.resistance_style_factor, STYLES, "resistance_style_factor")
        for name, table, keys, values in (
            ("stage_of_change", self.stage_of_change, PROBLEMS, STAGE_NAMES),
            ("resistance_by_stage", self.resistance_by_stage, STAGE_NAMES, LEVELS),
            ("resistance_style_factor", self.resistance_style_factor, tuple(self.resistance_style_factor), LEVELS),
            ("disclosure_by_style", self.disclosure_by_style, STYLES, LEVELS),
            ("trust_by_resistance", self.trust_by_resistance, LEVELS, LEVELS),
        ):
            _exactly(table, keys, name)
            for key, weights in table.items():
                _exactly(weights, values, f"{name}.{key}")
                _positive_total(weights, f"{name}.{key}")
        return self


# -- demographics ---------------------------------------------------------------------------------


class AgeBand(Frozen):
    min: int = Field(ge=12, le=100)
    max: int = Field(ge=12, le=100)
    weight: float = Field(ge=0)


def bands_from_age(bands: Sequence[AgeBand], min_age: int) -> list[AgeBand]:
    """The age bands cut at `min_age`: a band below it is left out, a band across it keeps the
    share of its years at or above it, so ages above `min_age` keep their relative weights."""
    kept = []
    for band in bands:
        if band.max < min_age:
            continue
        low = max(band.min, min_age)
        share = (band.max - low + 1) / (band.max - band.min + 1)
        kept.append(band.model_copy(update={"min": low, "weight": band.weight * share}))
    return kept


class AgeBracket(Frozen):
    min: int = Field(ge=12, le=100)
    max: int = Field(ge=12, le=100)
    weights: dict[str, float]


class DemographicsTable(Frozen):
    source: str
    gender: dict[str, dict[str, float]]
    age: dict[str, list[AgeBand]]
    life_stage: list[AgeBracket]
    needs_work: list[str] = Field(default_factory=list)
    relationship: list[AgeBracket]
    relationship_by_problem: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> DemographicsTable:
        for table_name, table in (("gender", self.gender), ("age", self.age)):
            if "default" not in table:
                raise ValueError(f"{table_name} needs a 'default' entry")
            unknown = sorted(set(table) - {"default", *PROBLEMS})
            if unknown:
                raise ValueError(f"{table_name} names unknown problems: {', '.join(unknown)}")
        for key, genders in self.gender.items():
            _known(genders, GENDERS, f"gender.{key}")
            _positive_total(genders, f"gender.{key}")
        _known(self.needs_work, PROBLEMS, "needs_work")
        _known(self.relationship_by_problem, PROBLEMS, "relationship_by_problem")
        for key, statuses in self.relationship_by_problem.items():
            _known(statuses, RELATIONSHIPS, f"relationship_by_problem.{key}")
            _positive_total(statuses, f"relationship_by_problem.{key}")
        for key, bands in self.age.items():
            _positive_total({str(i): b.weight for i, b in enumerate(bands)}, f"age.{key}")
        for name, brackets, valid in (
            ("life_stage", self.life_stage, LIFE_STAGES),
            ("relationship", self.relationship, RELATIONSHIPS),
        ):
            expected = 12
            for bracket in brackets:
                if bracket.min != expected:
                    raise ValueError(f"{name}: brackets must cover ages 12-100 without gaps (missing {expected})")
                expected = bracket.max + 1
                unknown = sorted(set(bracket.weights) - set(valid))
                if unknown:
                    raise ValueError(f"{name}: unknown values {unknown}; valid: {', '.join(valid)}")
                _positive_total(bracket.weights, f"{name} {bracket.min}-{bracket.max}")
            if expected != 101:
                raise ValueError(f"{name}: brackets must reach age 100")
        return self


# -- import mappings ------------------------------------------------------------------------------


class PatientPsiMapping(Frozen):
    default_problem: ProblemCategory
    min_age: int = Field(default=18, ge=12, le=100)
    styles: dict[str, ConversationStyle]


class AttitudeMapping(Frozen):
    style: ConversationStyle
    resistance: Level
    disclosure: Level
    trust: Level


class CactusMapping(Frozen):
    default_problem: ProblemCategory
    patterns: dict[str, CognitiveDistortion]
    attitudes: dict[str, AttitudeMapping]


class ImportMappings(Frozen):
    source: str
    patient_psi: PatientPsiMapping
    cactus: CactusMapping
    problem_keywords: dict[ProblemCategory, list[str]]
    risk_keywords: list[str] = Field(min_length=1)
    risk_negations: list[str] = Field(default_factory=list)
