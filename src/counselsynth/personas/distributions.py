"""The persona sampler's distributions and text pools: data files under personas/distributions/.

Each file documents its source in a `source` field. They become typed models here, with the
cross-checks a typo would otherwise slip past (a problem missing from a table, a band that does
not exist, elevated risk allowed below the PHQ-9 threshold). The example-persona loader reads only
the files directly inside personas/, so this sub-folder is never mistaken for personas.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError
from counselsynth.models import (
    LANGUAGE_PATTERN,
    CognitiveDistortion,
    ConversationStyle,
    CoreBeliefCategory,
    Level,
    ProblemCategory,
    RiskLevel,
    StageOfChange,
)
from counselsynth.resources import data_dir

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class ProblemMix(Strict):
    """Proportions of presenting problems (and optionally locales); the shape of a --mix file."""

    source: str | None = None
    problems: dict[str, float]
    locales: dict[str, float] | None = None


# -- severity -------------------------------------------------------------------------------------


class Band(Strict):
    id: str
    min: int = Field(ge=0)
    max: int

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.max < self.min:
            raise ValueError("needs min <= max")
        return self


class Scale(Strict):
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


class ProblemSeverity(Strict):
    phq9: dict[str, float]
    gad7: dict[str, float]


class SeverityTable(Strict):
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


class RiskTable(Strict):
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


class ProblemConceptualization(Strict):
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


class ConceptualizationTable(Strict):
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


class EngagementTable(Strict):
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


class AgeBand(Strict):
    min: int = Field(ge=12, le=100)
    max: int = Field(ge=12, le=100)
    weight: float = Field(ge=0)


class AgeBracket(Strict):
    min: int = Field(ge=12, le=100)
    max: int = Field(ge=12, le=100)
    weights: dict[str, float]


class DemographicsTable(Strict):
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


# -- locales and names ----------------------------------------------------------------------------

LocalText = str | tuple[str, str]


def local_name(text: LocalText) -> str:
    return text if isinstance(text, str) else text[0]


def english_name(text: LocalText) -> str:
    return text if isinstance(text, str) else text[1]


class Country(Strict):
    name: LocalText = Field(description="in the locale's language, or [local, English]")
    weight: float = Field(default=1.0, gt=0)
    cities: list[LocalText] = Field(min_length=1)


class LocaleEntry(Strict):
    language: str = Field(pattern=LANGUAGE_PATTERN)
    names_from: str | None = Field(default=None, description="take names as this locale does")
    name_formats: dict[str, float] = Field(default_factory=lambda: {"{given} {family}": 1.0})
    countries: list[Country] = Field(min_length=1)

    @field_validator("name_formats")
    @classmethod
    def _formats(cls, value: dict[str, float]) -> dict[str, float]:
        for template in value:
            if "{given}" not in template:
                raise ValueError(f"name format '{template}' lacks {{given}}")
            rest = template.replace("{given}", "").replace("{family}", "")
            if "{" in rest or "}" in rest:
                raise ValueError(f"name format '{template}' may use only {{given}} and {{family}}")
        _positive_total(value, "name_formats")
        return value


class LocaleCatalogue(Strict):
    source: str
    locales: dict[str, LocaleEntry]

    @model_validator(mode="after")
    def _borrowed(self) -> LocaleCatalogue:
        for locale, entry in self.locales.items():
            if entry.names_from is not None and entry.names_from not in self.locales:
                raise ValueError(f"locales.{locale}.names_from: unknown locale '{entry.names_from}'")
        return self


class NameGroup(Strict):
    weight: float = Field(gt=0)
    given_female: list[str] = Field(min_length=1)
    given_male: list[str] = Field(min_length=1)
    family: list[str] = Field(default_factory=list)
    family_from_given_male: bool = False

    @property
    def family_names(self) -> list[str]:
        return self.given_male if self.family_from_given_male else self.family


class NameTable(Strict):
    groups: list[NameGroup] = Field(min_length=1)


class FallbackNames(Strict):
    source: str
    tables: dict[str, NameTable]


# -- text pools -----------------------------------------------------------------------------------


class GenderedText(Strict):
    female: str = Field(min_length=1)
    male: str = Field(min_length=1)


PoolText = str | GenderedText


def gendered(text: PoolText, gender: NameGender) -> str:
    if isinstance(text, str):
        return text
    return text.female if gender == "female" else text.male


class Duration(Strict):
    span: str = Field(min_length=1)
    ago: str = Field(min_length=1)


class ProblemPool(Strict):
    descriptions: list[str] = Field(min_length=1)
    automatic_thoughts: list[str] = Field(min_length=1)
    coping_strategies: list[str] = Field(min_length=1)
    goals: list[str] = Field(min_length=1)

    @field_validator("descriptions")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for template in value:
            used = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            unknown = used - SLOTS
            if unknown:
                raise ValueError(f"description uses unknown slots {sorted(unknown)}; valid: {sorted(SLOTS)}")
            if "name" not in used:
                raise ValueError(f"description lacks {{name}}: {template!r}")
        return value


class TextPool(Strict):
    language: str = Field(pattern=LANGUAGE_PATTERN)
    source: str
    place_format: str = "{city}, {country}"
    genders: dict[str, str]
    relationships: dict[str, PoolText]
    occupations: dict[str, list[PoolText]]
    durations: list[Duration] = Field(min_length=1)
    core_beliefs: dict[str, list[str]]
    intermediate_beliefs: dict[str, list[str]]
    problems: dict[str, ProblemPool]
    risk_factors: dict[str, list[str]]

    @model_validator(mode="after")
    def _complete_pool(self) -> TextPool:
        for name, table, keys in (
            ("genders", self.genders, GENDERS),
            ("relationships", self.relationships, RELATIONSHIPS),
            ("occupations", self.occupations, LIFE_STAGES),
            ("core_beliefs", self.core_beliefs, CORE_BELIEF_CATEGORIES),
            ("intermediate_beliefs", self.intermediate_beliefs, CORE_BELIEF_CATEGORIES),
            ("problems", self.problems, PROBLEMS),
            ("risk_factors", self.risk_factors, RISK_FACTOR_KINDS),
        ):
            _exactly(table, keys, name)
        for name, lists in (
            ("occupations", self.occupations),
            ("core_beliefs", self.core_beliefs),
            ("intermediate_beliefs", self.intermediate_beliefs),
            ("risk_factors", self.risk_factors),
        ):
            for key, texts in lists.items():
                if not texts:
                    raise ValueError(f"{name}.{key} is empty")
        return self


# -- import mappings ------------------------------------------------------------------------------


class PatientPsiMapping(Strict):
    default_problem: ProblemCategory
    min_age: int = Field(default=18, ge=12, le=100)
    styles: dict[str, ConversationStyle]


class AttitudeMapping(Strict):
    style: ConversationStyle
    resistance: Level
    disclosure: Level
    trust: Level


class CactusMapping(Strict):
    default_problem: ProblemCategory
    patterns: dict[str, CognitiveDistortion]
    attitudes: dict[str, AttitudeMapping]


class ImportMappings(Strict):
    source: str
    patient_psi: PatientPsiMapping
    cactus: CactusMapping
    problem_keywords: dict[ProblemCategory, list[str]]
    risk_keywords: list[str] = Field(min_length=1)
    risk_negations: list[str] = Field(default_factory=list)


# -- the whole set --------------------------------------------------------------------------------

POOLS_FOLDER = "pools"


@dataclass(frozen=True)
class Distributions:
    mix: ProblemMix
    severity: SeverityTable
    risk: RiskTable
    conceptualization: ConceptualizationTable
    engagement: EngagementTable
    demographics: DemographicsTable
    locales: LocaleCatalogue
    fallback_names: FallbackNames
    pools: dict[str, TextPool]
    imports: ImportMappings
    folder: Path
    digest: str

    def pool_for(self, language: str) -> TextPool:
        """The text pool of `language`, or English when there is none (see pool_language)."""
        return self.pools[self.pool_language(language)]

    def pool_language(self, language: str) -> str:
        primary = language.split("-")[0]
        return primary if primary in self.pools else "en"


def default_folder() -> Path:
    return data_dir("personas") / "distributions"


@cache
def _load_cached(folder: Path) -> Distributions:
    return _load(folder)


def load_distributions(folder: Path | None = None) -> Distributions:
    """Load and cross-check every distribution file in `folder` (default: the shipped one)."""
    return _load_cached((folder or default_folder()).resolve())


def _load(folder: Path) -> Distributions:
    if not folder.is_dir():
        raise DataFileError(folder, None, None, "distributions folder not found")
    mix = load_one(folder / "problem_mix.yaml", ProblemMix)
    check_mix(mix, folder / "problem_mix.yaml", frozenset())
    severity = load_one(folder / "severity.yaml", SeverityTable)
    risk = load_one(folder / "risk.yaml", RiskTable)
    try:
        risk.check_bands(severity.scales["phq9"])
    except ValueError as exc:
        raise DataFileError(folder / "risk.yaml", "record 1", "by_phq9_band", str(exc)) from None
    pools: dict[str, TextPool] = {}
    for path in sorted((folder / POOLS_FOLDER).glob("*.yaml")):
        pool = load_one(path, TextPool)
        if pool.language != path.stem:
            raise DataFileError(path, "record 1", "language", f"must equal the file name '{path.stem}'")
        pools[pool.language] = pool
    if "en" not in pools:
        raise DataFileError(folder / POOLS_FOLDER, None, None, "an English pool (en.yaml) is required")
    conceptualization = load_one(folder / "conceptualization.yaml", ConceptualizationTable)
    _check_pool_sizes(pools, conceptualization, folder)
    locales = load_one(folder / "locales.yaml", LocaleCatalogue)
    fallback = load_one(folder / "fallback_names.yaml", FallbackNames)
    unknown = sorted(set(fallback.tables) - set(locales.locales))
    if unknown:
        raise DataFileError(
            folder / "fallback_names.yaml", "record 1", "tables", f"locales not in locales.yaml: {unknown}"
        )
    files = sorted(p for p in folder.rglob("*.yaml"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    return Distributions(
        mix=mix,
        severity=severity,
        risk=risk,
        conceptualization=conceptualization,
        engagement=load_one(folder / "engagement.yaml", EngagementTable),
        demographics=load_one(folder / "demographics.yaml", DemographicsTable),
        locales=locales,
        fallback_names=fallback,
        pools=pools,
        imports=load_one(folder / "import_mappings.yaml", ImportMappings),
        folder=folder,
        digest=digest,
    )


def _check_pool_sizes(pools: Mapping[str, TextPool], table: ConceptualizationTable, folder: Path) -> None:
    """Each pool must hold enough distinct items for the largest count the sampler may ask for."""
    need = {field: max(weights) for field, weights in table.counts.items()}
    for language, pool in pools.items():
        path = folder / POOLS_FOLDER / f"{language}.yaml"
        for problem, texts in pool.problems.items():
            lists: dict[str, list[str]] = {
                "automatic_thoughts": texts.automatic_thoughts,
                "coping_strategies": texts.coping_strategies,
                "goals": texts.goals,
            }
            for field, items in lists.items():
                if len(set(items)) < need[field]:
                    where = f"problems.{problem}.{field}"
                    raise DataFileError(path, "record 1", where, f"needs at least {need[field]} distinct items")
        total = sum(len(set(v)) for v in pool.intermediate_beliefs.values())
        if total < need["intermediate_beliefs"]:
            raise DataFileError(path, "record 1", "intermediate_beliefs", "too few items for the counts")


def check_mix(mix: ProblemMix, path: Path, locales: frozenset[str]) -> None:
    """A mix names only known problems (and, if given, known locales) with proportions adding up to 1."""
    for field, proportions, valid in (("problems", mix.problems, PROBLEMS), ("locales", mix.locales, locales)):
        if proportions is None:
            continue
        if field == "locales" and not locales:
            continue
        if not proportions:
            raise DataFileError(path, "record 1", field, "is empty")
        for key, value in proportions.items():
            if key not in valid:
                kind = "problem" if field == "problems" else "locale"
                raise DataFileError(
                    path, "record 1", f"{field}.{key}", f"unknown {kind}; valid: {', '.join(sorted(valid))}"
                )
            if not value >= 0:
                raise DataFileError(
                    path, "record 1", f"{field}.{key}", f"proportion must be between 0 and 1, got {value}"
                )
        total = sum(proportions.values())
        if abs(total - 1.0) > MIX_TOLERANCE:
            raise DataFileError(
                path, "record 1", field, f"proportions add up to {total:.4g}, not 1 (tolerance {MIX_TOLERANCE})"
            )
