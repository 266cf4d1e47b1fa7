"""Fit the counselor's strategy policy on real annotated sessions (`counselsynth policy fit`).

The generator chooses each counselor code from a policy: per phase, a `start` mix and
`transitions` by the previous counselor code (see counselsynth.policy). Real sessions carry no
phase labels, so the fit works on position thirds (an utterance's index over the session's
length) and gives each phase the third that holds its expected midpoint, computed from the
framework's turn ranges: for MI, engaging -> first third, focusing and evoking -> middle third,
planning -> last third.

- `start` of a phase is its third's overall code mix (it is also the generator's fallback after
  a code that has no transition row, e.g. a safety step).
- `transitions[previous]` is the mix of the next counselor code after `previous` in that third,
  shrunk towards the third's mix with `smoothing` pseudo-counts (policy_fit.yaml).
- Codes are fitted on the comparison scheme's classes when the corpus is a real import whose
  labels are coarser than the framework's codes (AnnoMI: "other" hides affirm, seek collaboration
  and emphasize autonomy; its advice/options/negotiation input has no permission flag). Each
  class is then spoken as the codes in the scheme's `realise` table (schemes.yaml), shares that
  are assumptions and say so. A generated corpus is fitted on its own codes.
- `client_response` is how each counselor class shifts the client's next talk type, relative
  to the overall mix; `client_talk` is the overall mix spread over the stages of change with the
  stage odds of policy_fit.yaml (real corpora do not record the stage).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pydantic import Field

from counselsynth.corpus import write_atomic
from counselsynth.datafiles import load_one
from counselsynth.errors import InputError
from counselsynth.fidelity.corpora import iter_corpus
from counselsynth.fidelity.measures import THIRDS, third
from counselsynth.fidelity.schemes import Scheme, schemes
from counselsynth.fidelity.sources import sources
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.models import (
    NOT_ANNOTATED,
    STAGES,
    TALK_VALENCES,
    Case,
    StageOfChange,
    Strict,
    TalkValence,
    TherapyFramework,
)
from counselsynth.policy import PhasePolicy, StrategyPolicy, compile_policy

SETTINGS_FILE = Path(__file__).parent / "policy_fit.yaml"
DIGITS = 4


class FitSettings(Strict):
    smoothing: float = Field(ge=0)
    response_smoothing: float = Field(ge=0)
    response_limits: tuple[float, float]
    stage_odds: dict[StageOfChange, dict[TalkValence, float]]
    fallback_talk_mix: dict[TalkValence, float]


@cache
def fit_settings() -> FitSettings:
    return load_one(SETTINGS_FILE, FitSettings)


@dataclass
class _Counts:
    marginal: list[Counter[str]] = field(default_factory=lambda: [Counter(), Counter(), Counter()])
    transitions: list[dict[str, Counter[str]]] = field(
        default_factory=lambda: [defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)]
    )
    talk: Counter[str] = field(default_factory=Counter)
    talk_after: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    sessions: int = 0
    turns: int = 0
    sources: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class FittedPolicy:
    policy: StrategyPolicy
    sessions: int
    counselor_turns: int
    phase_thirds: dict[str, str]
    classes: str  # "codes" or "scheme classes"
    notes: list[str]


def phase_thirds(framework: TherapyFramework) -> dict[str, int]:
    """Each phase's position third: where its expected midpoint falls, by mean turn counts."""
    means = [(p.exchanges[0] + p.exchanges[1]) / 2 for p in framework.phases]
    total = sum(means)
    out: dict[str, int] = {}
    before = 0.0
    for phase, mean in zip(framework.phases, means, strict=True):
        out[phase.id] = min(2, int(3 * (before + mean / 2) / total))
        before += mean
    return out


def fit_policy(corpus_dir: Path, catalog: FrameworkCatalog, framework_id: str | None = None) -> FittedPolicy:
    cases = list(iter_corpus(corpus_dir))
    frameworks = Counter(c.framework for c in cases)
    if not cases:
        raise InputError(f"{corpus_dir} holds no dialogues")
    if framework_id is None:
        if len(frameworks) > 1:
            found = ", ".join(f"{f}: {n} cases" for f, n in sorted(frameworks.items(), key=lambda x: (-x[1], x[0])))
            raise InputError(f"{corpus_dir} mixes frameworks ({found}); choose one with --framework")
        framework_id = next(iter(frameworks))
    framework = catalog.get(framework_id)
    chosen = [c for c in cases if c.framework == framework_id]
    if not chosen:
        raise InputError(f"{corpus_dir} holds no '{framework_id}' cases")
    real = {str(c.persona.get("source", "")) for c in chosen} <= set(sources())
    scheme = schemes().get(framework_id) if real else None
    speakable = [c.id for c in framework.codes if not c.safety_step]
    settings = fit_settings()
    counts = _count(chosen, framework, scheme, speakable)
    if counts.turns == 0:
        raise InputError(f"{corpus_dir} holds no counselor turns the fit can use")
    notes: list[str] = []
    realise = _realisation(scheme, speakable) if scheme is not None else {c: {c: 1.0} for c in speakable}
    class_of_code = _class_of_code(framework, scheme, speakable)
    thirds = phase_thirds(framework)
    phases: dict[str, PhasePolicy] = {}
    for phase, part in thirds.items():
        marginal = counts.marginal[part]
        if not marginal:
            marginal = sum(counts.marginal, Counter())
            notes.append(f"no counselor turns in the {THIRDS[part]} third: phase '{phase}' uses the overall mix")
        start = _expand(_shares(marginal), realise)
        transitions: dict[str, dict[str, float]] = {}
        for code in speakable:
            row = counts.transitions[part].get(class_of_code[code])
            if row:
                transitions[code] = _expand(_smoothed(row, marginal, settings.smoothing), realise)
        phases[phase] = PhasePolicy(start=start, transitions=transitions)
    spoken = {code for phase in phases.values() for code in phase.start}
    client_talk, response = _client_model(counts, {c: class_of_code[c] for c in spoken}, settings, notes)
    source = _source_text(corpus_dir, counts, framework, thirds, scheme is not None)
    policy = StrategyPolicy(
        framework=framework.id, source=source, phases=phases, client_talk=client_talk, client_response=response
    )
    return FittedPolicy(
        policy,
        counts.sessions,
        counts.turns,
        {p: THIRDS[t] for p, t in thirds.items()},
        "scheme classes" if scheme is not None else "codes",
        notes,
    )


def _count(cases: Iterable[Case], framework: TherapyFramework, scheme: Scheme | None, speakable: list[str]) -> _Counts:
    counts = _Counts()
    known = set(speakable)
    for case in cases:
        counts.sources[str(case.persona.get("source", ""))] += 1
        for session in case.sessions:
            counts.sessions += 1
            previous: str | None = None
            length = len(session.turns)
            for position, turn in enumerate(session.turns):
                notes = turn.annotations
                if turn.speaker == "client":
                    if notes.valence is not None:
                        counts.talk[notes.valence] += 1
                        if previous is not None:
                            counts.talk_after[previous][notes.valence] += 1
                    continue
                code = notes.code or ""
                if code == NOT_ANNOTATED:
                    previous = None  # the next code's predecessor is unknown
                    continue
                if scheme is not None:
                    label = scheme.class_of(f"{framework.id}/{code}", notes.miti)
                    if label is None or label not in scheme.classes:
                        raise InputError(
                            f"case '{case.case_id}': code '{code}' has no fine class in the {scheme.framework} scheme "
                            "(a coarse import such as AnnoMI-simple cannot be fitted; import AnnoMI-full)"
                        )
                elif code in known:
                    label = code
                else:
                    continue  # safety steps follow the protocol, not the policy
                part = third(position, length)
                counts.marginal[part][label] += 1
                if previous is not None:
                    counts.transitions[part][previous][label] += 1
                previous = label
                counts.turns += 1
    return counts


def _realisation(scheme: Scheme, speakable: list[str]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in scheme.classes:
        if name in scheme.realise:
            shares = scheme.realise[name]
            total = sum(shares.values())
            unknown = sorted(set(shares) - set(speakable))
            if unknown:
                raise InputError(f"schemes.yaml: class '{name}' is realised as unknown codes {unknown}")
            out[name] = {code: share / total for code, share in shares.items()}
        elif name in speakable:
            out[name] = {name: 1.0}
        else:
            raise InputError(f"schemes.yaml: class '{name}' is no speakable code and has no `realise` entry")
    return out


def _class_of_code(framework: TherapyFramework, scheme: Scheme | None, speakable: list[str]) -> dict[str, str]:
    if scheme is None:
        return {code: code for code in speakable}
    out = {}
    for code in speakable:
        label = scheme.class_of(f"{framework.id}/{code}", framework.code(code).miti)
        if label is not None:
            out[code] = label
    return out


def _shares(counts: Mapping[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items() if v > 0}


def _smoothed(row: Mapping[str, int], marginal: Mapping[str, int], strength: float) -> dict[str, float]:
    prior = _shares(marginal)
    n = sum(row.values())
    names = set(row) | set(prior)
    return {k: (row.get(k, 0) + strength * prior.get(k, 0.0)) / (n + strength) for k in names}


def _expand(mix: Mapping[str, float], realise: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    out: defaultdict[str, float] = defaultdict(float)
    for name, share in mix.items():
        for code, part in realise[name].items():
            out[code] += share * part
    total = sum(out.values())
    return {code: round(out[code] / total, DIGITS) for code in sorted(out) if out[code] / total >= 10**-DIGITS}


def _client_model(
    counts: _Counts, class_of_code: Mapping[str, str], settings: FitSettings, notes: list[str]
) -> tuple[dict[StageOfChange, dict[TalkValence, float]], dict[str, dict[TalkValence, float]]]:
    total = sum(counts.talk.values())
    if total:
        overall = {v: counts.talk[v] / total for v in TALK_VALENCES}
    else:
        overall = dict(settings.fallback_talk_mix)
        notes.append("the corpus has no client talk types: client_talk uses policy_fit.yaml's fallback mix")
    client_talk: dict[StageOfChange, dict[TalkValence, float]] = {}
    for stage in STAGES:
        raw = {v: overall[v] * settings.stage_odds[stage][v] for v in TALK_VALENCES}
        norm = sum(raw.values())
        client_talk[stage] = {v: round(raw[v] / norm, DIGITS) for v in TALK_VALENCES}
    response: dict[str, dict[TalkValence, float]] = {}
    if total:
        low, high = settings.response_limits
        k = settings.response_smoothing
        for code, label in sorted(class_of_code.items()):
            after = counts.talk_after.get(label)
            if not after:
                continue
            n = sum(after.values())
            multipliers: dict[TalkValence, float] = {}
            for v in TALK_VALENCES:
                if overall[v] <= 0:
                    continue
                share = (after[v] + k * overall[v]) / (n + k)
                multipliers[v] = round(min(high, max(low, share / overall[v])), 3)
            response[code] = multipliers
    return client_talk, response


def _source_text(
    corpus_dir: Path, counts: _Counts, framework: TherapyFramework, thirds: dict[str, int], via_scheme: bool
) -> str:
    origin = ", ".join(sorted(s or "generated" for s in counts.sources))
    mapping = ", ".join(f"{p} <- {THIRDS[t]} third" for p, t in thirds.items())
    how = "scheme classes realised by schemes.yaml's shares" if via_scheme else "the corpus's own codes"
    return (
        f"fitted by counselsynth policy fit on {corpus_dir.name} ({origin}; {counts.sessions} sessions, "
        f"{counts.turns} counselor turns) on {how}; phases from position thirds ({mapping}); "
        f"client talk from the data's mix and policy_fit.yaml's stage odds"
    )


def save_policy(fitted: FittedPolicy, framework: TherapyFramework, path: Path) -> None:
    """Write the policy atomically, after checking that the generator's loader accepts it."""
    staging = path.with_name(f".{path.name}.check")
    write_atomic(staging, fitted.policy.model_dump_json(indent=2) + "\n")
    try:
        compile_policy(load_one(staging, StrategyPolicy), framework, staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
