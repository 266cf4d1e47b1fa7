"""Hashed n-gram features of an utterance: no vocabulary is kept, only bucket numbers.

Word n-grams use the fidelity check's tokens by script (a character is a token in scripts written
without spaces), plus the question mark, which alone tells many questions from reflections.
Character n-grams within words catch inflections that word n-grams split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from scipy.sparse import hstack  # type: ignore[import-untyped]

from counselsynth.models import Strict
from counselsynth.wordcount import ANY_SCRIPT_TOKEN


class FeatureSpec(Strict):
    buckets: int = Field(default=4096, ge=256, le=2**20, description="hash buckets per feature family")
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)

    @property
    def width(self) -> int:
        return 2 * self.buckets


def _words(text: str) -> list[str]:
    return [*ANY_SCRIPT_TOKEN.findall(text.lower()), *("?" for _ in range(min(1, text.count("?"))))]


def vectorize(texts: Sequence[str], spec: FeatureSpec) -> Any:
    """A sparse matrix, one row per text, `spec.width` columns."""
    from sklearn.feature_extraction.text import HashingVectorizer  # type: ignore[import-untyped]

    words = HashingVectorizer(
        n_features=spec.buckets,
        analyzer="word",
        tokenizer=_words,
        token_pattern=None,
        lowercase=False,
        ngram_range=spec.word_ngrams,
        alternate_sign=False,
        norm="l2",
    )
    chars = HashingVectorizer(
        n_features=spec.buckets, analyzer="char_wb", ngram_range=spec.char_ngrams, alternate_sign=False, norm="l2"
    )
    return hstack([words.transform(texts), chars.transform(texts)]).tocsr()
