"""Does a counselor turn's text perform the safety step it is labelled with?

Two steps are checked in the text, deterministically, because a label that says "crisis
resources" on a turn that gives none is worse than no label:
- `crisis_resources`: the turn contains a phone number or a web address from the protocol's
  resource text for the language (numbers compare without spaces or dashes: "116 123" = "116123").
- `risk_assessment`: the turn asks a question that names suicide or self-harm directly, by the
  language's patterns in `therapy_frameworks/safety/risk_questions.yaml`.
Other steps (`safety_planning`) and languages without patterns have no text check: the critic's
verdict decides, and `check_available` says so.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

from counselsynth.datafiles import iter_records
from counselsynth.errors import DataFileError
from counselsynth.languages import primary_subtag
from counselsynth.resources import data_dir

QUESTION_MARKS = ("?", "？", "؟", "¿")
_NUMBER = re.compile(r"\d[\d\s\-]{1,}\d")
_ADDRESS = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|info|gov|[a-z]{2})\b", re.IGNORECASE)
CHECKED_STEPS = ("crisis_resources", "risk_assessment")


def risk_lexicon_path() -> Path:
    return data_dir("therapy_frameworks") / "safety" / "risk_questions.yaml"


@cache
def _risk_patterns() -> dict[str, re.Pattern[str]]:
    path = risk_lexicon_path()
    records = list(iter_records(path))
    if len(records) != 1 or not isinstance(data := records[0][1], dict):
        raise DataFileError(path, None, None, "expected one mapping of language to a list of patterns")
    found: dict[str, re.Pattern[str]] = {}
    for language, patterns in data.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns) or not patterns:
            raise DataFileError(path, str(language), None, "expected a non-empty list of patterns")
        try:
            found[str(language)] = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        except re.error as exc:
            raise DataFileError(path, str(language), None, f"bad pattern: {exc}") from None
    return found


def _digits(text: str) -> str:
    """The text without spaces or dashes, every decimal digit as ASCII (۱۲۳ and १२३ are 123)."""
    ascii_digits = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return re.sub(r"[\s\-]", "", ascii_digits)


def resource_markers(resources: str) -> set[str]:
    """The numbers (as digits) and web addresses (lower case) of a resource text."""
    numbers = {_digits(m) for m in _NUMBER.findall(resources)}
    return numbers | {m.lower() for m in _ADDRESS.findall(resources)}


def gives_resources(text: str, resources: str) -> bool:
    markers = resource_markers(resources)
    squeezed = _digits(text).lower()
    return any(marker in squeezed for marker in markers)


def check_available(step: str, language: str) -> bool:
    """Whether the step has a text check in this language (else only the critic judges it)."""
    if step == "crisis_resources":
        return True
    return step == "risk_assessment" and primary_subtag(language) in _risk_patterns()


def asks_about_risk(text: str, language: str) -> bool:
    pattern = _risk_patterns()[primary_subtag(language)]
    return any(mark in text for mark in QUESTION_MARKS) and pattern.search(text) is not None


def performs_step(step: str, text: str, language: str, resources: str) -> bool | None:
    """True or False where the text can be checked; None where only the critic can judge."""
    if not check_available(step, language):
        return None
    if step == "crisis_resources":
        return gives_resources(text, resources)
    return asks_about_risk(text, language)
