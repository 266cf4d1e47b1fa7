"""The target languages and the gate thresholds, both data files beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.errors import InputError, UnknownNameError
from counselsynth.models import Strict

HERE = Path(__file__).parent
Segmentation = Literal["words", "characters"]


class Language(Strict):
    name: str
    native: str
    scripts: list[str] = Field(min_length=1)
    locale: str
    segmentation: Segmentation
    length: float = Field(gt=0, description="characters per character of English for the same content")
    langid: str | None
    address: str = Field(description="how a counselor addresses a client; goes into the prompt")


class LanguageCatalogue(Strict):
    languages: dict[str, Language]


class ScriptGate(Strict):
    min_share: float = Field(gt=0, le=1)


class LanguageGate(Strict):
    min_letters: int = Field(ge=1)


class LengthGate(Strict):
    min_source_chars: int = Field(ge=1)
    turn_tolerance: float = Field(gt=1)
    session_tolerance: float = Field(gt=1)


class UntranslatedGate(Strict):
    copied_words: int = Field(ge=2)
    foreign_run_words: int = Field(ge=2)


class BackTranslation(Strict):
    sample: float = Field(ge=0, le=1)
    min_chrf: float = Field(ge=0, le=100)


class WrongLanguage(Strict):
    first_turns: int = Field(ge=1)
    stop_share: float = Field(gt=0, le=1)


class GateSettings(Strict):
    retries: int = Field(ge=0, le=10)
    script: ScriptGate
    language: LanguageGate
    length: LengthGate
    untranslated: UntranslatedGate
    back_translation: BackTranslation
    wrong_language: WrongLanguage


@cache
def catalogue() -> dict[str, Language]:
    return load_one(HERE / "languages.yaml", LanguageCatalogue).languages


@cache
def gate_settings() -> GateSettings:
    return load_one(HERE / "gates.yaml", GateSettings)


def primary(code: str) -> str:
    """'fa-IR' -> 'fa': the catalogue is keyed by primary language subtags."""
    return code.split("-")[0].split("_")[0].lower()


def language(code: str) -> Language:
    found = catalogue().get(primary(code))
    if found is None:
        raise UnknownNameError("language", code, catalogue())
    return found


def check_pair(source: str, target: str) -> tuple[Language, Language]:
    if primary(source) == primary(target):
        raise InputError(f"the target language '{target}' is the source language; nothing to translate")
    return language(source), language(target)


def prompt_language(code: str) -> tuple[str, str | None]:
    """How prompts name a language ("Swahili (sw)") and how a counselor addresses a client in it.
    A language outside the catalogue is named by its code, with no address note."""
    found = catalogue().get(primary(code))
    if found is None:
        return f"the language '{code}'", None
    return f"{found.name} ({primary(code)})", None if primary(code) == "en" else found.address
