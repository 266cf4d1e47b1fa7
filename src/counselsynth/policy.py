"""The counselor's strategy policy: which code comes next, by phase and previous code.

Policies are data files (`therapy_frameworks/policies/<framework>.yaml` or `.json`), so that a
policy fitted on real annotated sessions can replace the hand-set prior without a code change.
The policy also holds the client's talk-type mix by stage of change.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError
from counselsynth.models import STAGES, TALK_VALENCES, StageOfChange, Strict, TalkValence, TherapyFramework

POLICY_FOLDER = "policies"
FALLBACK_POLICY = "default"


class PhasePolicy(Strict):
    start: dict[str, float] = Field(min_length=1)
    transitions: dict[str, dict[str, float]] = Field(default_factory=dict)


class StrategyPolicy(Strict):
    framework: str
    source: str
    phases: dict[str, PhasePolicy]
    client_talk: dict[StageOfChange, dict[TalkValence, float]]
    client_response: dict[str, dict[TalkValence, float]] = Field(default_factory=dict)


@dataclass(frozen=True)
class _Distribution:
    choices: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: Mapping[Any, float]) -> _Distribution:
        items = [(k, w) for k, w in weights.items() if w > 0]
        return cls(tuple(k for k, _ in items), tuple(itertools.accumulate(w for _, w in items)))

    def sample(self, rng: random.Random, boost: Mapping[Any, float] | None = None) -> str:
        if boost:
            weights = {c: w * boost.get(c, 1.0) for c, w in zip(self.choices, self._weights(), strict=True)}
            return _Distribution.of(weights).sample(rng)
        point = rng.random() * self.cumulative[-1]
        return self.choices[bisect.bisect_right(self.cumulative, point)]

    def _weights(self) -> list[float]:
        return [b - a for a, b in zip((0.0, *self.cumulative), self.cumulative, strict=False)]


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy checked against its framework and ready to sample from."""

    framework: str
    source: str
    sha256: str
    _start: dict[str, _Distribution]
    _transitions: dict[tuple[str, str], _Distribution]
    _talk: dict[str, _Distribution]
    _response: dict[str, dict[TalkValence, float]]

    def next_code(
        self, phase: str, previous: str | None, rng: random.Random, boost: Mapping[str, float] | None = None
    ) -> str:
        dist = self._transitions.get((phase, previous or "")) or self._start[phase]
        return dist.sample(rng, boost)

    def talk_valence(self, stage: str, after_code: str | None, rng: random.Random) -> TalkValence:
        """The client's next talk type, given their stage and the counselor's last code."""
        valence = self._talk[stage].sample(rng, self._response.get(after_code or ""))
        assert valence in TALK_VALENCES
        return valence


def policy_path(framework_id: str, folders: Sequence[Path]) -> Path | None:
    for folder in reversed(folders):
        for suffix in (".json", ".yaml"):
            candidate = folder / POLICY_FOLDER / f"{framework_id}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def load_policy(framework: TherapyFramework, folders: Sequence[Path]) -> CompiledPolicy:
    """Load the framework's policy, or the uniform fallback when it ships none."""
    path = policy_path(framework.id, folders) or policy_path(FALLBACK_POLICY, folders)
    if path is None:
        raise DataFileError(Path(POLICY_FOLDER), None, None, f"no policy for '{framework.id}' and no fallback")
    policy = load_one(path, StrategyPolicy)
    return compile_policy(policy, framework, path)


def compile_policy(policy: StrategyPolicy, framework: TherapyFramework, path: Path) -> CompiledPolicy:
    speakable = [c.id for c in framework.codes if not c.safety_step]
    known_phases = [p.id for p in framework.phases]
    if policy.framework not in (framework.id, FALLBACK_POLICY):
        raise DataFileError(path, "record 1", "framework", f"is '{policy.framework}', expected '{framework.id}'")
    for phase, phase_policy in policy.phases.items():
        if phase not in known_phases:
            raise DataFileError(path, "record 1", f"phases.{phase}", f"unknown phase; valid: {known_phases}")
        named = set(phase_policy.start) | set(phase_policy.transitions)
        for row in phase_policy.transitions.values():
            named |= set(row)
        unknown = sorted(named - set(speakable))
        if unknown:
            raise DataFileError(path, "record 1", f"phases.{phase}", f"unknown or safety codes: {unknown}")
    unknown_responses = sorted(set(policy.client_response) - set(framework.code_ids))
    if unknown_responses:
        raise DataFileError(path, "record 1", "client_response", f"unknown codes: {unknown_responses}")
    uniform = _Distribution.of(dict.fromkeys(speakable, 1.0))
    start = {p: uniform for p in known_phases}
    transitions: dict[tuple[str, str], _Distribution] = {}
    for phase, phase_policy in policy.phases.items():
        start[phase] = _Distribution.of(phase_policy.start)
        for previous, row in phase_policy.transitions.items():
            transitions[(phase, previous)] = _Distribution.of(row)
    talk: dict[str, _Distribution] = {stage: _Distribution.of(mix) for stage, mix in policy.client_talk.items()}
    missing = sorted(set(STAGES) - set(talk))
    if missing:
        raise DataFileError(path, "record 1", "client_talk", f"missing stages: {missing}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return CompiledPolicy(framework.id, policy.source, digest, start, transitions, talk, policy.client_response)
