"""MITI summary scores computed from annotated counselor turns.

Any framework whose codes carry a `miti` behaviour gets these, so MI, CBT and PCT sessions, and
imported real corpora, can be compared on one scale. A score whose denominator is zero is None
(not computable), never 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from counselsynth.models import MI_ADHERENT, MI_NON_ADHERENT, QUESTION_CODES, REFLECTION_CODES, Turn


def behaviour_counts(turns: Iterable[Turn]) -> Counter[str]:
    return Counter(t.annotations.miti for t in turns if t.speaker == "counselor" and t.annotations.miti)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summary_scores(counts: Counter[str]) -> dict[str, float | None]:
    reflections = sum(counts[c] for c in REFLECTION_CODES)
    questions = sum(counts[c] for c in QUESTION_CODES)
    adherent = sum(counts[c] for c in MI_ADHERENT)
    return {
        "r_to_q": _ratio(reflections, questions),
        "pct_complex_reflections": _ratio(counts["CR"], reflections),
        "pct_open_questions": _ratio(counts["Q_OPEN"], questions),
        "pct_mi_adherent": _ratio(adherent, adherent + sum(counts[c] for c in MI_NON_ADHERENT)),
    }
