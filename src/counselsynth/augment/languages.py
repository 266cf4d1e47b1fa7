"""The quality gates' thresholds (gates.yaml beside this module) as typed settings."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.models import Strict

GATES_FILE = Path(__file__).parent / "gates.yaml"
Segmentation = Literal["words", "characters"]


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
def gate_settings() -> GateSettings:
    return load_one(GATES_FILE, GateSettings)
