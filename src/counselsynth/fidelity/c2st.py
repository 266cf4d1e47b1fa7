"""Classifier two-sample test (C2ST): can a classifier tell the corpus from real text?

Units are utterances of the sampled sessions, prefixed with their speaker, balanced between
the two sides (and between counselor and client within a side). Features are TF-IDF 1-2 grams of
words as the rest of the check counts them (one per character in Chinese, Japanese, Thai, ...),
the classifier is logistic regression, and the AUC is computed on out-of-fold scores of a
stratified k-fold split *grouped by session*, so no session is both trained and tested on (its
topic words would otherwise give it away). The AUC's standard error comes from a session
bootstrap of the out-of-fold scores. AUC 0.5 means indistinguishable; the test fails a corpus
only when the AUC exceeds 0.5 by more than the tolerance, beyond that error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedGroupKFold  # type: ignore[import-untyped]

from counselsynth.fidelity.comparison import Outcome, Verdict, critical
from counselsynth.fidelity.language import SampledSession
from counselsynth.wordcount import words

CHANCE = 0.5
MIN_PER_SIDE = 20


@dataclass(frozen=True)
class C2STResult:
    auc: float | None
    se: float
    sessions: int
    per_side: int
    note: str

    def outcome(self, tolerance: float, level: float) -> Outcome:
        assert self.auc is not None
        limit = CHANCE + tolerance + critical(level, max(1, self.sessions - 1)) * self.se
        excess = self.auc - CHANCE - tolerance
        if self.se > 0:
            p = float(stats.norm.sf(excess / self.se))
        else:
            p = 0.0 if excess > 0 else 1.0
        verdict: Verdict = "fail" if self.auc > limit else "pass"
        return Outcome(self.auc, CHANCE, (0.0, limit), p, verdict, "higher" if verdict == "fail" else None)


def _units(sample: Sequence[SampledSession], side: int) -> dict[str, list[tuple[str, int]]]:
    """Speaker-prefixed utterances by speaker, each with its session's group number."""
    units: dict[str, list[tuple[str, int]]] = {"counselor": [], "client": []}
    for number, session in enumerate(sample):
        for speaker, text in session.turns:
            if text.strip():
                units[speaker].append((f"{speaker}: {text}", 2 * number + side))
    return units


def classifier_test(
    corpus: Sequence[SampledSession],
    real: Sequence[SampledSession],
    *,
    max_per_side: int,
    folds: int,
    seed: int,
    replicates: int,
) -> C2STResult:
    sides = [_units(corpus, 0), _units(real, 1)]
    per_speaker = min(len(side[speaker]) for side in sides for speaker in ("counselor", "client"))
    per_speaker = min(per_speaker, max_per_side // 2)
    sessions = min(len(corpus), len(real))
    if 2 * per_speaker < MIN_PER_SIDE or sessions < folds:
        return C2STResult(
            None,
            0.0,
            sessions,
            2 * per_speaker,
            f"too little text: {2 * per_speaker} utterances and {sessions} sessions per side "
            f"(at least {MIN_PER_SIDE} and {folds})",
        )
    generator = np.random.default_rng(seed)
    texts: list[str] = []
    labels: list[int] = []
    groups: list[int] = []
    for label, side in enumerate(sides):
        for speaker in ("counselor", "client"):
            pool = side[speaker]
            for index in sorted(generator.choice(len(pool), size=per_speaker, replace=False)):
                texts.append(pool[index][0])
                groups.append(pool[index][1])
                labels.append(label)
    y = np.asarray(labels, dtype=np.int64)
    group_ids = np.asarray(groups, dtype=np.int64)
    scores = np.zeros(len(texts))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, y, group_ids):
        # Tokens are the check's own words (measures.words): one per character in scripts written
        # without spaces, where scikit-learn's default pattern would make a whole clause one token.
        vectoriser = TfidfVectorizer(
            tokenizer=words, token_pattern=None, ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True
        )
        features = vectoriser.fit_transform([texts[i] for i in train])
        model = LogisticRegression(max_iter=2000, C=1.0)
        model.fit(features, y[train])
        scores[test] = model.decision_function(vectoriser.transform([texts[i] for i in test]))
    _, tied = np.unique(scores, return_inverse=True)
    auc = _weighted_auc(tied, y, np.ones(len(y)))
    se = _session_bootstrap_se(y, scores, group_ids, min(replicates, 1000), seed)
    note = (
        f"{2 * per_speaker} utterances per side, from {len(corpus)} corpus and {len(real)} real sessions; "
        f"{folds}-fold cross-validation grouped by session"
    )
    return C2STResult(auc, se, sessions, 2 * per_speaker, note)


def _weighted_auc(
    groups: npt.NDArray[np.int64], labels: npt.NDArray[np.int64], weights: npt.NDArray[np.float64]
) -> float:
    """AUC (Mann-Whitney, ties count one half) of weighted items; `groups` ranks tied scores together."""
    positive = np.bincount(groups, weights=weights * labels)
    negative = np.bincount(groups, weights=weights * (1 - labels))
    below = np.cumsum(negative) - negative
    total = positive.sum() * negative.sum()
    return float((positive * (below + 0.5 * negative)).sum() / total) if total > 0 else math.nan


def _session_bootstrap_se(
    labels: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    sessions: npt.NDArray[np.int64],
    replicates: int,
    seed: int,
) -> float:
    """Standard error of the AUC, resampling whole sessions within each side."""
    generator = np.random.default_rng(seed + 1)
    _, groups = np.unique(scores, return_inverse=True)
    _, session_index = np.unique(sessions, return_inverse=True)
    side_of_session = np.zeros(session_index.max() + 1, dtype=np.int64)
    side_of_session[session_index] = labels
    values = []
    for _ in range(replicates):
        counts = np.zeros(len(side_of_session))
        for side in (0, 1):
            members = np.flatnonzero(side_of_session == side)
            counts += np.bincount(generator.choice(members, size=len(members)), minlength=len(counts))
        values.append(_weighted_auc(groups, labels, counts[session_index]))
    return float(np.nanstd(values, ddof=1)) if len(values) > 1 else math.nan
