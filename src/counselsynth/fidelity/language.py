"""Language statistics on a seeded sample of sessions, at sizes that do not depend on the corpus.

Distinct-n grows as samples shrink (AnnoMI's distinct-2 is 0.52 at 20k tokens and 0.70 at 5k), so
it is taken on `draws` samples of exactly `token_budget` tokens, each built from whole sessions
in a seeded random order; the spread over draws is the variability of a budget-sized sample.
Repetition across dialogues and formulaic openers compare each sampled session with a fixed
number of other sampled sessions (`comparison_sessions`), never with the whole corpus, so a
corpus of 10,000 dialogues is not penalised for being large. The sample takes one session from
each of `language_sessions` cases chosen by a seeded hash of their ids, so sessions of one case
never count as "other dialogues" for each other, and the sample is the same however the corpus
is read.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from counselsynth.models import Case, Speaker
from counselsynth.wordcount import words

NGram = tuple[str, ...]


@dataclass(frozen=True)
class SampledSession:
    case: int
    case_id: str
    turns: tuple[tuple[Speaker, str], ...]


def sample_key(seed: int, case_id: str) -> int:
    """A case's place in the sample order: a seeded hash of its id, so the sample does not depend
    on the order in which cases are read (or on how many processes read them)."""
    digest = hashlib.blake2b(f"{seed}:{case_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class SessionSampler:
    """One session from each of the `size` cases with the smallest sample keys (bottom-k sampling)."""

    size: int
    seed: int
    _heap: list[tuple[int, int, SampledSession]] = field(default_factory=list)

    def offer(self, case_index: int, case: Case) -> None:
        if not case.sessions:
            return
        key = sample_key(self.seed, case.case_id)
        if len(self._heap) >= self.size and (-self._heap[0][0], -self._heap[0][1]) <= (key, case_index):
            return
        session = case.sessions[random.Random(key).randrange(len(case.sessions))]
        sampled = SampledSession(case_index, case.case_id, tuple((t.speaker, t.text) for t in session.turns))
        self._push(key, sampled)

    def _push(self, key: int, sampled: SampledSession) -> None:
        entry = (-key, -sampled.case, sampled)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heappushpop(self._heap, entry)

    def merge(self, other: SessionSampler, offset: int) -> None:
        """Add another sampler's cases, whose case indices start at `offset` in this corpus."""
        for negative_key, _, sampled in other._heap:
            self._push(-negative_key, replace(sampled, case=sampled.case + offset))

    def sessions(self) -> list[SampledSession]:
        return sorted((entry[2] for entry in self._heap), key=lambda s: s.case)


@dataclass(frozen=True)
class LanguageStats:
    tokens: int
    distinct_1: list[float]
    distinct_2: list[float]
    repetition_shared: list[int]
    repetition_total: list[int]
    openers_matched: list[int]
    openers_total: list[int]
    cases: list[int]


def language_stats(
    sample: Sequence[SampledSession],
    *,
    token_budget: int,
    draws: int,
    comparison_sessions: int,
    ngram: int,
    opener_tokens: int,
    seed: int,
) -> LanguageStats:
    tokenised = [[(speaker, [w.lower() for w in words(text)]) for speaker, text in s.turns] for s in sample]
    total = sum(len(tokens) for session in tokenised for _, tokens in session)
    d1: list[float] = []
    d2: list[float] = []
    if total >= token_budget:
        for draw in range(draws):
            order = np.random.default_rng([seed, draw]).permutation(len(tokenised))
            one, two = _distinct([tokenised[i] for i in order], token_budget)
            d1.append(round(one, 6))
            d2.append(round(two, 6))
    shared: list[int] = []
    grams: list[int] = []
    matched: list[int] = []
    openers: list[int] = []
    cases: list[int] = []
    if len(tokenised) > comparison_sessions:
        session_grams = [_ngrams(session, ngram) for session in tokenised]
        gram_sets = [set(g) for g in session_grams]
        session_openers = [_openers(session, opener_tokens) for session in tokenised]
        opener_sets = [set(o) for o in session_openers]
        for i in range(len(tokenised)):
            others = [j for j in range(len(tokenised)) if j != i]
            pool = np.random.default_rng([seed, 7919, i]).choice(others, size=comparison_sessions, replace=False)
            pool_grams = set().union(*(gram_sets[j] for j in pool))
            pool_openers = set().union(*(opener_sets[j] for j in pool))
            shared.append(sum(g in pool_grams for g in session_grams[i]))
            grams.append(len(session_grams[i]))
            matched.append(sum(o in pool_openers for o in session_openers[i]))
            openers.append(len(session_openers[i]))
            cases.append(sample[i].case)
    return LanguageStats(total, d1, d2, shared, grams, matched, openers, cases)


def _distinct(sessions: Sequence[list[tuple[Speaker, list[str]]]], budget: int) -> tuple[float, float]:
    """Distinct-1 and distinct-2 of the first `budget` tokens; bigrams do not cross utterances."""
    unigrams: set[str] = set()
    bigrams: set[NGram] = set()
    taken = pairs = 0
    for session in sessions:
        for _, tokens in session:
            part = tokens[: budget - taken]
            unigrams.update(part)
            bigrams.update(zip(part, part[1:], strict=False))
            pairs += max(0, len(part) - 1)
            taken += len(part)
            if taken >= budget:
                return len(unigrams) / taken, len(bigrams) / max(1, pairs)
    raise AssertionError("the sample holds fewer tokens than the budget")


def _ngrams(session: list[tuple[Speaker, list[str]]], n: int) -> list[NGram]:
    return [tuple(tokens[i : i + n]) for _, tokens in session for i in range(len(tokens) - n + 1)]


def _openers(session: list[tuple[Speaker, list[str]]], n: int) -> list[NGram]:
    return [tuple(tokens[:n]) for speaker, tokens in session if speaker == "counselor" and len(tokens) >= n]
