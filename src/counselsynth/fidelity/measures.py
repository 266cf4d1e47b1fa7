"""What the fidelity check measures on one session: counts only, never text.

Words are counted by counselsynth.wordcount. A position third is the utterance's index over the
session's utterance count, cut into thirds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from counselsynth.models import NOT_ANNOTATED, REFLECTION_CODES, Session, Turn
from counselsynth.wordcount import SHORT_WORDS, words

KINDS_FILE = Path(__file__).parent / "kinds.yaml"
THIRDS = ("first", "middle", "last")
# MITI counts kept per session, and the two kinds that R:Q needs.
# Count keys of all reflections and all questions, next to the MITI behaviour keys.
REFLECTION_COUNT = "reflections"
QUESTION_COUNT = "questions"


@cache
def code_kinds() -> dict[str, str]:
    """framework/code -> 'reflection' or 'question', for codes without a MITI count (kinds.yaml)."""
    data: dict[str, str] = yaml.safe_load(KINDS_FILE.read_text(encoding="utf-8"))
    return data


def third(index: int, length: int) -> int:
    return min(2, 3 * index // length)


@dataclass
class SessionMeasures:
    case: int
    index: int
    utterances: int = 0
    counselor_utterances: int = 0
    client_utterances: int = 0
    counselor_unannotated: int = 0
    counselor_words: int = 0
    client_words: int = 0
    words: int = 0
    short_utterances: int = 0
    same_speaker: int = 0
    codes: dict[str, list[int]] = field(default_factory=dict)
    miti: Counter[str] = field(default_factory=Counter)
    talk: Counter[str] = field(default_factory=Counter)
    emotion_sum: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    emotion_count: list[int] = field(default_factory=lambda: [0, 0, 0])


def measure(session: Session, case: int, framework: str, code_miti: dict[str, str | None]) -> SessionMeasures:
    """Counts for one session; `code_miti` collects each code's MITI count as it is seen."""
    turns = session.turns
    result = SessionMeasures(case=case, index=session.index, utterances=len(turns))
    kinds = code_kinds()
    previous: str | None = None
    for position, turn in enumerate(turns):
        count = len(words(turn.text))
        result.words += count
        result.short_utterances += count <= SHORT_WORDS
        result.same_speaker += turn.speaker == previous
        previous = turn.speaker
        part = third(position, len(turns))
        if turn.speaker == "counselor":
            result.counselor_utterances += 1
            result.counselor_words += count
            _counselor(result, turn, part, framework, kinds, code_miti)
        else:
            result.client_utterances += 1
            result.client_words += count
            notes = turn.annotations
            if notes.valence is not None:
                result.talk[notes.valence] += 1
            if notes.emotion_intensity is not None:
                result.emotion_sum[part] += notes.emotion_intensity
                result.emotion_count[part] += 1
    return result


def _counselor(
    result: SessionMeasures,
    turn: Turn,
    part: int,
    framework: str,
    kinds: dict[str, str],
    code_miti: dict[str, str | None],
) -> None:
    notes = turn.annotations
    if notes.code == NOT_ANNOTATED:
        result.counselor_unannotated += 1
        return
    key = f"{framework}/{notes.code}"
    result.codes.setdefault(key, [0, 0, 0])[part] += 1
    code_miti.setdefault(key, notes.miti)
    miti = notes.miti
    if miti is not None:
        result.miti[miti] += 1
    kind = kinds.get(key)
    if miti in REFLECTION_CODES or kind == "reflection":
        result.miti[REFLECTION_COUNT] += 1
    elif miti in ("Q_OPEN", "Q_CLOSED") or kind == "question":
        result.miti[QUESTION_COUNT] += 1
