"""Fit the turn-form model on real sessions (`counselsynth policy form`); see counselsynth.turnform.

Counselor turns are counted by the class their code falls in: the corpus framework's comparison
scheme (schemes.yaml) when the corpus is a real import, else the code itself. The fitted
framework's codes are mapped onto the same classes (by code, else by MITI count), so a framework
without real data of its own (CBT, PCT) can take its form from the closest real corpus (AnnoMI):
its reflections get AnnoMI's reflection lengths, its questions AnnoMI's question lengths. Client
turns are counted by talk valence where the corpus records it, and always as 'any'.

Session lengths are counselor utterances per session, by the session's position in its case.
A same-speaker continuation is a turn followed by another turn of the same speaker.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from counselsynth.corpus import write_atomic
from counselsynth.errors import InputError
from counselsynth.fidelity.profile import corpus_citation
from counselsynth.fidelity.schemes import Scheme, schemes
from counselsynth.fidelity.sources import sources
from counselsynth.models import NOT_ANNOTATED, Case, Speaker, TherapyFramework
from counselsynth.turnform import ANY, FormReference, Histogram, TurnForm, compile_form
from counselsynth.wordcount import SHORT_WORDS, word_count

DIGITS = 4
SPEAKERS: tuple[Speaker, ...] = ("counselor", "client")


@dataclass
class _Counts:
    counselor: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    client: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    sessions: dict[int, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    followed: Counter[str] = field(default_factory=Counter)
    repeated: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    session_count: int = 0


def fit_form(cases: list[Case], framework: TherapyFramework, corpus_name: str) -> TurnForm:
    """The form of `framework` from the sessions of `cases` (all of one corpus framework)."""
    if not cases:
        raise InputError(f"{corpus_name} holds no dialogues")
    corpus_frameworks = sorted({c.framework for c in cases})
    if len(corpus_frameworks) > 1:
        raise InputError(f"{corpus_name} mixes frameworks ({', '.join(corpus_frameworks)}); choose one")
    corpus_framework = corpus_frameworks[0]
    real = {str(c.persona.get("source", "")) for c in cases} <= set(sources())
    scheme = schemes().get(corpus_framework) if real else None
    counts = _count(cases, corpus_framework, scheme)
    if not counts.counselor[ANY] or not counts.client[ANY]:
        raise InputError(f"{corpus_name} holds no counselor or no client turns to fit a form on")
    code_class = _code_classes(framework, scheme, set(counts.counselor))
    cited = corpus_citation(counts.sources)
    how = "its comparison scheme's classes" if scheme is not None else "its own codes"
    return TurnForm(
        framework=framework.id,
        source=(
            f"fitted by counselsynth policy form on {corpus_name} ({counts.session_count} sessions, "
            f"{sum(counts.counselor[ANY].values())} counselor and {sum(counts.client[ANY].values())} client "
            f"utterances; framework '{corpus_framework}') on {how}"
        ),
        reference=FormReference(**cited.model_dump()) if cited is not None else None,
        counselor={key: _histogram(c) for key, c in sorted(counts.counselor.items())},
        code_class=code_class,
        miti_class={m: c for m, c in sorted(scheme.miti.items()) if c in counts.counselor}
        if scheme is not None
        else {},
        client={key: _histogram(c) for key, c in sorted(counts.client.items())},
        continuation={
            s: round(counts.repeated[s] / counts.followed[s], DIGITS) if counts.followed[s] else 0.0 for s in SPEAKERS
        },
        session_exchanges=[_histogram(counts.sessions[p]) for p in sorted(counts.sessions)],
        short_share={
            "counselor": _short(counts.counselor[ANY]),
            "client": _short(counts.client[ANY]),
        },
    )


def _count(cases: list[Case], corpus_framework: str, scheme: Scheme | None) -> _Counts:
    counts = _Counts()
    for case in cases:
        counts.sources[str(case.persona.get("source", ""))] += 1
        for position, session in enumerate(case.sessions, start=1):
            counts.session_count += 1
            counts.sessions[position][sum(t.speaker == "counselor" for t in session.turns)] += 1
            for turn, after in zip(session.turns, [*session.turns[1:], None], strict=True):
                n = word_count(turn.text)
                notes = turn.annotations
                if after is not None:
                    counts.followed[turn.speaker] += 1
                    counts.repeated[turn.speaker] += after.speaker == turn.speaker
                if turn.speaker == "client":
                    counts.client[ANY][n] += 1
                    if notes.valence is not None:
                        counts.client[notes.valence][n] += 1
                    continue
                counts.counselor[ANY][n] += 1
                code = notes.code or NOT_ANNOTATED
                if code == NOT_ANNOTATED:
                    continue
                label = scheme.class_of(f"{corpus_framework}/{code}", notes.miti) if scheme is not None else code
                if label is not None:
                    counts.counselor[label][n] += 1
    return counts


def _code_classes(framework: TherapyFramework, scheme: Scheme | None, fitted: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code in framework.codes:
        if code.safety_step:
            continue  # the protocol's steps say what they must, at whatever length (no target)
        label = scheme.class_of(f"{framework.id}/{code.id}", code.miti) if scheme is not None else code.id
        if label is not None and label in fitted:
            out[code.id] = label
    return out


def _histogram(counts: Counter[int]) -> Histogram:
    return {n: counts[n] for n in sorted(counts)}


def _short(counts: Counter[int]) -> float:
    total = sum(counts.values())
    return round(sum(c for n, c in counts.items() if n <= SHORT_WORDS) / total, DIGITS) if total else 0.0


def save_form(form: TurnForm, path: Path) -> None:
    """Write the form atomically, after checking that the generator's loader accepts it."""
    text = form.model_dump_json(indent=None) + "\n"
    compile_form(form, path, hashlib.sha256(text.encode()).hexdigest())
    write_atomic(path, text)
