"""The random draws the persona sampler is built from: a weighted categorical draw and a score
drawn inside a band of a scale.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Categorical(Generic[T]):
    """A discrete distribution over `items`, drawn with one uniform number (bisect on the CDF)."""

    __slots__ = ("items", "weights", "cumulative")

    def __init__(self, weights: Mapping[T, float]) -> None:
        pairs = [(item, weight) for item, weight in weights.items() if weight > 0]
        self.items: list[T] = [item for item, _ in pairs]
        self.weights = [weight for _, weight in pairs]
        self.cumulative = list(itertools.accumulate(self.weights))

    def draw(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]

    def draw_distinct(self, rng: random.Random, k: int) -> list[T]:
        """k different items, each drawn in proportion to its weight among those left."""
        items, weights = list(self.items), list(self.weights)
        chosen: list[T] = []
        for _ in range(min(k, len(items))):
            cumulative = list(itertools.accumulate(weights))
            index = min(bisect.bisect_right(cumulative, rng.random() * cumulative[-1]), len(items) - 1)
            chosen.append(items.pop(index))
            weights.pop(index)
        return chosen


class ScoreDistribution:
    """A questionnaire score: bands with weights, every score inside a band equally likely."""

    def __init__(self, bands: Iterable[tuple[int, int, float]]) -> None:
        weights: list[float] = []
        for low, high, weight in bands:
            weights.extend([weight / (high - low + 1)] * (high - low + 1))
        total = sum(weights)
        self.cumulative = list(itertools.accumulate(w / total for w in weights))

    def quantile(self, u: float) -> int:
        return min(bisect.bisect_right(self.cumulative, u), len(self.cumulative) - 1)


def _normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
