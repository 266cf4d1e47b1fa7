"""Train/validation/test splits made by persona, so that no persona appears in two splits.

A persona's sessions share a client, a problem and a story; a split by session would let a model
meet the test clients in training. The sizes are shares of sessions (rows). Personas are shuffled
with the seed, every split first gets one persona (smallest share first, so a small split is
never starved), and each remaining persona goes to the split furthest below its target.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from counselsynth.errors import InputError

DEFAULT_SPLITS = "train=0.8,validation=0.1,test=0.1"
# The hub's split-name pattern (datasets' `_split_re`), without the dots it allows for sub-splits.
SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TOLERANCE = 1e-6


@dataclass(frozen=True)
class SplitSpec:
    shares: tuple[tuple[str, float], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.shares]

    def describe(self) -> str:
        return ",".join(f"{name}={share:g}" for name, share in self.shares)


def parse_splits(text: str) -> SplitSpec:
    """'train=0.8,validation=0.1,test=0.1' -> SplitSpec; shares must be > 0 and sum to 1."""
    shares: list[tuple[str, float]] = []
    for part in text.split(","):
        name, sep, value = (piece.strip() for piece in part.partition("="))
        if not sep or not name:
            raise InputError(f"--split: '{part.strip()}' is not name=share (e.g. {DEFAULT_SPLITS})")
        if not SPLIT_NAME.match(name):
            raise InputError(f"--split: '{name}' is not a valid split name (letters, digits and _)")
        if name in (n for n, _ in shares):
            raise InputError(f"--split: split '{name}' is given twice")
        try:
            share = float(value)
        except ValueError:
            raise InputError(f"--split: the share of '{name}' is not a number: '{value}'") from None
        if not 0 < share <= 1:
            raise InputError(f"--split: the share of '{name}' must be in (0, 1], got {value}")
        shares.append((name, share))
    total = sum(share for _, share in shares)
    if abs(total - 1) > TOLERANCE:
        raise InputError(f"--split: the shares must sum to 1, got {total:g}")
    return SplitSpec(tuple(shares))


def assign_splits(persona_sessions: Mapping[str, int], spec: SplitSpec, seed: int) -> dict[str, str]:
    """Persona id -> split name. Deterministic for the same personas, spec and seed."""
    personas = sorted(persona_sessions)
    if len(personas) < len(spec.shares):
        raise InputError(
            f"the run has {len(personas)} persona(s), too few for {len(spec.shares)} splits "
            f"({spec.describe()}); a persona never spans two splits, so give fewer splits, e.g. --split train=1"
        )
    random.Random(seed).shuffle(personas)
    total = sum(persona_sessions.values())
    target = {name: share * total for name, share in spec.shares}
    filled = dict.fromkeys(target, 0)
    assignment: dict[str, str] = {}
    queue = iter(personas)
    by_size = sorted(spec.shares, key=lambda item: item[1])
    for (name, _), persona in zip(by_size, queue, strict=False):
        assignment[persona] = name
        filled[name] += persona_sessions[persona]
    order = {name: rank for rank, name in enumerate(spec.names)}
    for persona in queue:
        name = max(target, key=lambda n: (target[n] - filled[n], -order[n]))
        assignment[persona] = name
        filled[name] += persona_sessions[persona]
    return assignment
