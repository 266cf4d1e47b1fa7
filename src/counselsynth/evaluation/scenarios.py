"""Evaluation scenarios as data: a suite file holds scenarios, each a client's script and its checks.

A scenario is a conversation of `exchanges` client-then-counselor turns. The client improvises in
character (the client agent, given the scenario's `brief`) except at its beats: a beat fires at a
turn (or at a seeded turn within a range), or some turns after another beat unless the counselor
did what the beat waits for, and the client then says one of the beat's lines (so the probe is
delivered whatever the client model makes of it) or follows the beat's instruction. The checks
decide pass or fail; see checks.py for what each kind means.
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError, UnknownNameError
from counselsynth.models import ID_PATTERN, LANGUAGE_PATTERN, ProblemCategory, SafetyEvent, Strict, TalkValence
from counselsynth.resources import data_dir
from counselsynth.safety_text import check_available

# What a beat can wait for: the counselor turn performed this, so the beat need not fire.
Awaited = Literal["crisis_resources", "risk_assessment"]
CheckKind = Literal["crisis_resources", "risk_question", "avoid", "no_endorsement", "rubric_floor", "drift"]
SUITES_FOLDER = "suites"
LEXICONS_FOLDER = "lexicons"


class Beat(Strict):
    id: str = Field(pattern=ID_PATTERN)
    at: int | tuple[int, int] | None = Field(default=None, description="exchange (1-based), or a seeded range")
    after: str | None = Field(default=None, description="fires `within` exchanges after this beat fired")
    within: int = Field(default=2, ge=1)
    unless: Awaited | None = Field(default=None, description="does not fire if a counselor turn since did this")
    say: list[str] = Field(default_factory=list, description="the client's line, one of these (seeded)")
    instruct: str | None = Field(default=None, description="an instruction to the client agent instead")
    events: list[SafetyEvent] = Field(default_factory=list, description="what the line discloses")
    valence: TalkValence | None = None

    @model_validator(mode="after")
    def _shape(self) -> Beat:
        if (self.at is None) == (self.after is None):
            raise ValueError("a beat needs exactly one of `at` and `after`")
        if bool(self.say) == (self.instruct is not None):
            raise ValueError("a beat needs exactly one of `say` and `instruct`")
        if isinstance(self.at, tuple) and not 1 <= self.at[0] <= self.at[1]:
            raise ValueError("`at` range must be [first, last] with 1 <= first <= last")
        return self

    def scheduled(self, rng: random.Random) -> int | None:
        if self.at is None:
            return None
        return self.at if isinstance(self.at, int) else rng.randint(*self.at)


class Check(Strict):
    kind: CheckKind
    within: int = Field(default=2, ge=1, description="crisis_resources, risk_question: counselor turns allowed")
    lexicons: list[str] = Field(default_factory=list, description="avoid: lexicon categories the text must not hit")
    after: str | None = Field(default=None, description="avoid, no_endorsement: only turns after this beat")
    minimum: float | None = Field(default=None, description="rubric_floor: lowest mean rubric score of any window")
    max_drop: float | None = Field(default=None, description="drift: last window may fall this far below the first")

    @model_validator(mode="after")
    def _needs(self) -> Check:
        if self.kind == "rubric_floor" and self.minimum is None:
            raise ValueError("a rubric_floor check needs `minimum`")
        if self.kind == "drift" and self.max_drop is None:
            raise ValueError("a drift check needs `max_drop`")
        if self.kind == "avoid" and not self.lexicons:
            raise ValueError("an avoid check needs `lexicons`")
        return self

    @property
    def name(self) -> str:
        suffix = "+".join(self.lexicons) if self.kind == "avoid" else ""
        return f"{self.kind}:{suffix}" if suffix else self.kind


class PersonaConstraints(Strict):
    problems: list[ProblemCategory] = Field(default_factory=list, description="any of these presenting problems")


class Scenario(Strict):
    id: str = Field(pattern=ID_PATTERN)
    description: str
    persona: PersonaConstraints = Field(default_factory=PersonaConstraints)
    exchanges: int = Field(ge=1, le=60)
    brief: str = Field(description="how the client plays the conversation between beats")
    beats: list[Beat] = Field(default_factory=list)
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        ids = [beat.id for beat in self.beats]
        if len(set(ids)) != len(ids):
            raise ValueError("beat ids must be unique")
        for beat in self.beats:
            if beat.after is not None and beat.after not in ids[: ids.index(beat.id)]:
                raise ValueError(f"beat '{beat.id}' follows '{beat.after}', which is not an earlier beat")
        for check in self.checks:
            if check.after is not None and check.after not in ids:
                raise ValueError(f"check '{check.kind}' names an unknown beat '{check.after}'")
        return self


class Suite(Strict):
    suite: str = Field(pattern=ID_PATTERN)
    description: str
    language: str = Field(default="en", pattern=LANGUAGE_PATTERN)
    framework: str = Field(default="mi", description="whose rubric the critic scores the windows on")
    window: int = Field(default=5, ge=1, description="counselor turns per rubric window (the drift curve)")
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        ids = [s.id for s in self.scenarios]
        if len(set(ids)) != len(ids):
            raise ValueError("scenario ids must be unique within a suite")
        return self


def scenarios_dir() -> Path:
    return data_dir("scenarios")


def shipped_suites() -> dict[str, Path]:
    return {path.stem: path for path in sorted((scenarios_dir() / SUITES_FOLDER).glob("*.yaml"))}


def load_suite(name_or_path: str) -> Suite:
    """A shipped suite by name (crisis, sycophancy, ...) or a suite file."""
    shipped = shipped_suites()
    path = shipped.get(name_or_path) or Path(name_or_path)
    if name_or_path not in shipped and not (path.suffix in (".yaml", ".yml", ".json") and path.exists()):
        raise UnknownNameError("scenario suite (a shipped suite or a suite .yaml)", name_or_path, shipped)
    suite = load_one(path, Suite)
    # A suite in a language without a lexicon, or naming a category its lexicon lacks, fails
    # here rather than mid-run.
    known = lexicons(suite.language)
    for scenario in suite.scenarios:
        for check in scenario.checks:
            if check.kind == "risk_question" and not check_available("risk_assessment", suite.language):
                problem = f"risk_question has no text check in '{suite.language}' (risk_questions.yaml)"
                raise DataFileError(path, scenario.id, "checks", problem)
            if check.kind == "drift" and scenario.exchanges < 2 * suite.window:
                problem = f"a drift check needs at least two windows of {suite.window} turns"
                raise DataFileError(path, scenario.id, "exchanges", problem)
            needed = [*check.lexicons, *(["endorsement"] if check.kind == "no_endorsement" else [])]
            for category in needed:
                if category not in known:
                    problem = f"lexicon category '{category}' is not in the '{suite.language}' lexicon"
                    raise DataFileError(path, scenario.id, "checks", problem)
    return suite


class Lexicon(Strict):
    """Patterns (regular expressions, case-insensitive) by category, for one language."""

    language: str = Field(pattern=LANGUAGE_PATTERN)
    categories: dict[str, list[str]]


@cache
def lexicons(language: str) -> dict[str, re.Pattern[str]]:
    path = scenarios_dir() / LEXICONS_FOLDER / f"{language}.yaml"
    if not path.exists():
        raise DataFileError(path, None, None, f"no evaluation lexicon for language '{language}'")
    lexicon = load_one(path, Lexicon)
    compiled: dict[str, re.Pattern[str]] = {}
    for category, patterns in lexicon.categories.items():
        try:
            compiled[category] = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        except re.error as exc:
            raise DataFileError(path, category, None, f"bad pattern: {exc}") from None
    return compiled
