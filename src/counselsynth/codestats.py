"""MITI summary scores computed from annotated counselor turns.

Any framework whose codes carry a `miti` behaviour gets these, so MI, CBT and PCT sessions, and
imported real corpora, can be compared on one scale. A score whose denominator is zero is None
(not computable), never 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from counselsynth.models import Turn

REFLECTIONS = ("SR", "CR")
QUESTIONS = ("Q_OPEN", "Q_CLOSED")
MI_ADHERENT = ("AF", "SEEK", "EMPH")
MI_NON_ADHERENT = ("PERSUADE", "CONFRONT")


def behaviour_counts(turns: Iterable[Turn]) -> Counter[str]:
    return Counter(t.annotations.miti for t in turns if t.speaker == "counselor" and t.annotations.miti)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summary_scores(counts: Counter[str]) -> dict[str, float | None]:
    reflections = sum(counts[c] for c in REFLECTIONS)
    questions = sum(counts[c] for c in QUESTIONS)
    adherent = sum(counts[c] for c in MI_ADHERENT)
    return {
        "r_to_q": _ratio(reflections, questions),
        "pct_complex_reflections": _ratio(counts["CR"], reflections),
        "pct_open_questions": _ratio(counts["Q_OPEN"], questions),
        "pct_mi_adherent": _ratio(adherent, adherent + sum(counts[c] for c in MI_NON_ADHERENT)),
    }
