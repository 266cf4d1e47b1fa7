"""The quality gates of a translated corpus: checks of one turn, and of one whole session.

Each check returns the gates it failed with a reason, so the translator can re-ask with the
failure named and the gate table can count what each gate caught. The thresholds are data
(gates.yaml); the languages' scripts and length factors too (languages.yaml).

    turn.turns          the reply is for this turn and is not empty (no dropped turn)
    turn.annotations    the reply echoes the turn's code (no lost or swapped annotation)
    turn.script         the letters are in the target's scripts
    turn.language       the identifier prefers the target language over the source language
    turn.length         characters in / characters out lie in the pair's band
    turn.untranslated   no run of source words copied over, no run of foreign-script words
    turn.back_translation  sampled turns: chrF of the back-translation against the source
    session.turns       the same number of turns, by the same speakers
    session.annotations every turn's annotations are those of its source turn
    session.language    the whole session is identified as the target language
    session.length      the session's length ratio lies in the (narrower) session band
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from counselsynth.augment.identify import identify, known, prefers
from counselsynth.augment.languages import GateSettings
from counselsynth.augment.scripts import letter_count, main_script, script_of, script_share
from counselsynth.languages import Language
from counselsynth.models import Turn

WORD = re.compile(r"[^\W\d_]{2,}")

Failure = tuple[str, str]  # (gate, reason)


@dataclass(frozen=True)
class Segment:
    """One piece of source text to translate: a turn, or a session's notes."""

    number: int
    speaker: str
    code: str
    text: str


@cache
def _chrf() -> Any:
    from sacrebleu.metrics.chrf import CHRF

    return CHRF()


def chrf(hypothesis: str, reference: str) -> float:
    """sacrebleu's sentence chrF (character n-grams up to 6, beta 2), 0-100."""
    return float(_chrf().sentence_score(hypothesis, [reference]).score)


def chrf_signature() -> str:
    return str(_chrf().get_signature())


class Gates:
    def __init__(self, source: Language, target: Language, settings: GateSettings) -> None:
        self.source = source
        self.target = target
        self.settings = settings
        self.expected_ratio = target.length / source.length
        self.identifies = known(target.langid) and known(source.langid)
        self.foreign_runs = "LATIN" not in target.scripts

    def band(self, tolerance: float) -> tuple[float, float]:
        return self.expected_ratio / tolerance, self.expected_ratio * tolerance

    def applies(self, segment: Segment) -> dict[str, bool]:
        """Which turn gates can say anything about this segment."""
        long_enough = len(segment.text) >= self.settings.length.min_source_chars
        return {
            "turns": True,
            "annotations": True,
            "script": letter_count(segment.text) > 0,
            "language": self.identifies and letter_count(segment.text) >= self.settings.language.min_letters,
            "length": long_enough,
            "untranslated": letter_count(segment.text) > 0,
            "back_translation": False,
        }

    def check_turn(self, segment: Segment, number: int, code: str, text: str) -> list[Failure]:
        failures: list[Failure] = []
        applies = self.applies(segment)
        if number != segment.number:
            failures.append(("turns", f"the reply is for turn {number}, not turn {segment.number}"))
        elif segment.text.strip() and not text.strip():
            failures.append(("turns", "the translation is empty"))
        if code != segment.code:
            failures.append(("annotations", f"the reply carries the code '{code}', not '{segment.code}'"))
        if not text.strip():
            return failures
        share = script_share(text, self.target.scripts)
        if applies["script"] and share is not None and share < self.settings.script.min_share:
            failures.append(
                (
                    "script",
                    f"{share:.0%} of the letters are in {'/'.join(self.target.scripts)} (mostly {main_script(text)})",
                )
            )
        if applies["language"] and letter_count(text) >= self.settings.language.min_letters:
            assert self.target.langid is not None and self.source.langid is not None
            if not prefers(text, self.target.langid, self.source.langid):
                failures.append(("language", f"reads as '{identify(text)}', not '{self.target.langid}'"))
        if applies["length"]:
            low, high = self.band(self.settings.length.turn_tolerance)
            ratio = len(text) / len(segment.text)
            if not low <= ratio <= high:
                failures.append(("length", f"length ratio {ratio:.2f} outside {low:.2f}-{high:.2f}"))
        if applies["untranslated"]:
            span = self.untranslated_span(segment.text, text)
            if span:
                failures.append(("untranslated", f"left untranslated: '{span}'"))
        return failures

    def untranslated_span(self, source: str, text: str) -> str | None:
        source_words = [w.casefold() for w in WORD.findall(source)]
        # Short turns ("I see.") are checked for a copy of all of their words.
        size = min(self.settings.untranslated.copied_words, max(2, len(source_words)))
        grams = {tuple(source_words[i : i + size]) for i in range(len(source_words) - size + 1)}
        words = WORD.findall(text)
        folded = [w.casefold() for w in words]
        for i in range(len(words) - size + 1):
            if tuple(folded[i : i + size]) in grams:
                return " ".join(words[i : i + size])
        if self.foreign_runs:
            run: list[str] = []
            for word in words:
                run = [*run, word] if script_of(word[0]) == "LATIN" else []
                if len(run) >= self.settings.untranslated.foreign_run_words:
                    return " ".join(run)
        return None

    def check_back_translation(self, source: str, back: str) -> tuple[float, list[Failure]]:
        score = chrf(back, source)
        if score < self.settings.back_translation.min_chrf:
            return score, [
                ("back_translation", f"back-translation chrF {score:.1f} < {self.settings.back_translation.min_chrf:g}")
            ]
        return score, []

    def check_session(self, source: Sequence[Turn], translated: Sequence[Turn]) -> list[Failure]:
        failures: list[Failure] = []
        if [t.speaker for t in source] != [t.speaker for t in translated]:
            failures.append(("turns", f"{len(translated)} turns for {len(source)} source turns"))
        elif any(s.annotations != t.annotations for s, t in zip(source, translated, strict=True)):
            failures.append(("annotations", "a turn's annotations differ from its source turn's"))
        text = " ".join(t.text for t in translated)
        source_text = " ".join(t.text for t in source)
        if self.identifies and letter_count(text) >= self.settings.language.min_letters:
            found = identify(text)
            if found != self.target.langid:
                failures.append(("language", f"the session reads as '{found}', not '{self.target.langid}'"))
        if source_text:
            low, high = self.band(self.settings.length.session_tolerance)
            ratio = len(text) / len(source_text)
            if not low <= ratio <= high:
                failures.append(("length", f"session length ratio {ratio:.2f} outside {low:.2f}-{high:.2f}"))
        return failures
