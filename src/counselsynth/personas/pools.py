"""Locales, name tables and the per-language text pools the sampler writes profiles from."""

from __future__ import annotations

import string

from pydantic import Field, field_validator, model_validator

from counselsynth.models import (
    LANGUAGE_PATTERN,
)
from counselsynth.personas.tables import (
    CORE_BELIEF_CATEGORIES,
    GENDERS,
    LIFE_STAGES,
    PROBLEMS,
    RELATIONSHIPS,
    RISK_FACTOR_KINDS,
    SLOTS,
    Frozen,
    NameGender,
    _exactly,
    _positive_total,
)

# -- locales and names ----------------------------------------------------------------------------

LocalText = str | tuple[str, str]


def local_name(text: LocalText) -> str:
    return text if isinstance(text, str) else text[0]


def english_name(text: LocalText) -> str:
    return text if isinstance(text, str) else text[1]


class Country(Frozen):
    name: LocalText = Field(description="in the locale's language, or [local, English]")
    weight: float = Field(default=1.0, gt=0)
    cities: list[LocalText] = Field(min_length=1)


class LocaleEntry(Frozen):
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


class LocaleCatalogue(Frozen):
    source: str
    locales: dict[str, LocaleEntry]

    @model_validator(mode="after")
    def _borrowed(self) -> LocaleCatalogue:
        for locale, entry in self.locales.items():
            if entry.names_from is not None and entry.names_from not in self.locales:
                raise ValueError(f"locales.{locale}.names_from: unknown locale '{entry.names_from}'")
        return self


class NameGroup(Frozen):
    weight: float = Field(gt=0)
    given_female: list[str] = Field(min_length=1)
    given_male: list[str] = Field(min_length=1)
    family: list[str] = Field(default_factory=list)
    family_from_given_male: bool = False

    @property
    def family_names(self) -> list[str]:
        return self.given_male if self.family_from_given_male else self.family


class NameTable(Frozen):
    groups: list[NameGroup] = Field(min_length=1)


class FallbackNames(Frozen):
    source: str
    tables: dict[str, NameTable]


# -- text pools -----------------------------------------------------------------------------------


class GenderedText(Frozen):
    female: str = Field(min_length=1)
    male: str = Field(min_length=1)


PoolText = str | GenderedText


def gendered(text: PoolText, gender: NameGender) -> str:
    if isinstance(text, str):
        return text
    return text.female if gender == "female" else text.male


class Duration(Frozen):
    span: str = Field(min_length=1)
    ago: str = Field(min_length=1)


class ProblemPool(Frozen):
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


class TextPool(Frozen):
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
