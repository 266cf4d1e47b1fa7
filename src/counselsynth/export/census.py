"""What a run contains, counted in one pass: the figures the dataset card and the splitter need.

Personas are counted once each (a persona may have several cases); sessions, turns and codes are
counted as often as they occur. Persona fields that a record lacks (imported real corpora carry
thin personas) are counted as "not recorded", never dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from counselsynth.models import Case, Session
from counselsynth.personas.stats import canonical_genders

NOT_RECORDED = "not recorded"
MINORS = "under 18"
# Age bands as the usual survey brackets; the lower bound of each band, in years.
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (65, "65+"),
    (55, "55-64"),
    (45, "45-54"),
    (35, "35-44"),
    (25, "25-34"),
    (18, "18-24"),
    (0, MINORS),
)
PERSONA_DIMENSIONS = (
    "presenting problem",
    "risk level at intake",
    "stage of change at intake",
    "conversation style",
    "persona language",
    "age",
    "gender",
)


def _nested(record: dict[str, Any], *keys: str) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _label(value: Any) -> str:
    return NOT_RECORDED if value is None or value == "" else str(value)


def age_band(age: Any) -> str:
    if not isinstance(age, int):
        return NOT_RECORDED
    return next(label for low, label in AGE_BANDS if age >= low)


def _gender(value: Any) -> str:
    """The canonical gender of a label in any language; other labels as they are."""
    label = _label(value)
    return canonical_genders().get(label.lower(), label)


def persona_traits(case: Case) -> dict[str, str]:
    persona = case.persona
    return {
        "presenting problem": _label(_nested(persona, "presenting_problem", "category")),
        "risk level at intake": _label(_nested(persona, "risk", "level")),
        "stage of change at intake": _label(persona.get("stage_of_change")),
        "conversation style": _label(persona.get("style")),
        "persona language": _label(case.persona_language),
        "age": age_band(_nested(persona, "demographics", "age")),
        "gender": _gender(_nested(persona, "demographics", "gender")),
    }


@dataclass
class Census:
    cases: int = 0
    sessions: int = 0
    turns: int = 0
    persona_sessions: dict[str, int] = field(default_factory=dict)
    persona_cases: Counter[str] = field(default_factory=Counter)
    persona_mix: dict[str, Counter[str]] = field(default_factory=lambda: {d: Counter() for d in PERSONA_DIMENSIONS})
    framework_cases: Counter[str] = field(default_factory=Counter)
    framework_sessions: Counter[str] = field(default_factory=Counter)
    codes: dict[str, Counter[str]] = field(default_factory=dict)
    client_codes: dict[str, Counter[str]] = field(default_factory=dict)
    text_languages: Counter[str] = field(default_factory=Counter)
    engines: Counter[str] = field(default_factory=Counter)
    emotions: Counter[str] = field(default_factory=Counter)
    words: Counter[str] = field(default_factory=Counter)
    utterances: Counter[str] = field(default_factory=Counter)
    critiqued: int = 0
    passed: int = 0
    revisions: int = 0
    revisions_exhausted: int = 0
    score_total: float = 0.0
    safety_sessions: int = 0
    safety_sessions_passed: int = 0
    safety_sessions_missing_steps: int = 0
    safety_missing: Counter[str] = field(default_factory=Counter)
    safety_steps: Counter[str] = field(default_factory=Counter)
    safety_events: Counter[str] = field(default_factory=Counter)
    sessions_with_disclosure: int = 0
    sessions_opened_by_client: int = 0
    sessions_with_repeated_speaker: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    cases_with_warnings: int = 0

    def add(self, case: Case) -> None:
        self.cases += 1
        if case.persona_id not in self.persona_sessions:
            self.persona_sessions[case.persona_id] = 0
            for dimension, value in persona_traits(case).items():
                self.persona_mix[dimension][value] += 1
        self.persona_sessions[case.persona_id] += len(case.sessions)
        self.persona_cases[case.persona_id] += 1
        self.framework_cases[case.framework] += 1
        self.framework_sessions[case.framework] += len(case.sessions)
        self.engines[f"{case.engine} ({case.model})"] += 1
        self.warnings.update(case.warnings)
        self.cases_with_warnings += bool(case.warnings)
        codes = self.codes.setdefault(case.framework, Counter())
        client_codes = self.client_codes.setdefault(case.framework, Counter())
        for session in case.sessions:
            self._add_session(session, codes, client_codes)
            self.text_languages[case.language] += 1

    def _add_session(self, session: Session, codes: Counter[str], client_codes: Counter[str]) -> None:
        self.sessions += 1
        self.turns += len(session.turns)
        previous = None
        repeated = False
        disclosed = False
        for turn in session.turns:
            notes = turn.annotations
            self.utterances[turn.speaker] += 1
            self.words[turn.speaker] += len(turn.text.split())
            if turn.speaker == "counselor":
                codes[notes.code or NOT_RECORDED] += 1
                if notes.safety_step:
                    self.safety_steps[notes.code or NOT_RECORDED] += 1
            else:
                client_codes[notes.talk_type or NOT_RECORDED] += 1
                if notes.emotion:
                    self.emotions[notes.emotion] += 1
                self.safety_events.update(notes.safety_events)
                disclosed = disclosed or bool(notes.safety_events)
            repeated = repeated or turn.speaker == previous
            previous = turn.speaker
        self.sessions_opened_by_client += session.turns[0].speaker == "client"
        self.sessions_with_repeated_speaker += repeated
        self.sessions_with_disclosure += disclosed
        self.revisions += session.revisions
        self.revisions_exhausted += session.revisions_exhausted
        critique = session.critique
        if critique is None:
            return
        self.critiqued += 1
        self.passed += critique.passed
        self.score_total += critique.mean_score
        if critique.safety_required:
            self.safety_sessions += 1
            self.safety_sessions_passed += critique.passed
            self.safety_sessions_missing_steps += bool(critique.safety_missing)
            self.safety_missing.update(critique.safety_missing)

    @property
    def looks_imported(self) -> bool:
        """Generated sessions always carry a critique; sessions imported from real corpora have
        none (models.Session). A run without a single critique is most likely real data."""
        return self.critiqued == 0

    @property
    def personas(self) -> int:
        return len(self.persona_sessions)

    @property
    def languages(self) -> list[str]:
        return sorted(self.text_languages)
