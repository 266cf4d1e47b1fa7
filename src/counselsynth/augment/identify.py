"""Offline language identification (py3langid: a naive Bayes model over byte n-grams that ships
inside the package, ~130 languages, no download)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _identifier() -> Any:
    # Loading the model takes about half a second; only runs that check languages pay it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def known(label: str | None) -> bool:
    return label is not None and label in _identifier().nb_classes


def identify(text: str) -> str:
    label, _ = _identifier().classify(text)
    return str(label)


def prefers(text: str, wanted: str, other: str) -> bool:
    """Whether the text reads more like `wanted` than like `other` (e.g. Swahili than English)."""
    scores = dict(_identifier().rank(text))
    return float(scores.get(wanted, 0.0)) >= float(scores.get(other, 0.0))
