"""The turn-form model: how long real turns and sessions are, and how often a speaker goes on.

Structure is where generated counseling corpora miss real sessions most (every session the same
length, 75-word turns, no "Mm-hmm."). A form file (`therapy_frameworks/forms/<framework>.json`,
fitted on a real corpus by `counselsynth policy form`) holds numbers only: histograms of words per
utterance by counselor class and by client talk type, the chance that a speaker's turn is followed
by another of the same speaker, and histograms of session length in exchanges (counselor
utterances) by position in a course. The generator draws every session's length and every turn's
target length from it, so a corpus is real-like by construction rather than by luck.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError
from counselsynth.models import Speaker, Strict

FORM_FOLDER = "forms"
FALLBACK_FORM = "default"
# The key of the distribution over all turns of a speaker, used for a code or talk type the
# form has no data for (a framework added by YAML alone, a safety step).
ANY = "any"
NO_MITI = "none"

Histogram = dict[int, int]


class FormReference(Strict):
    corpus: str
    citation: str
    license: str


class TurnForm(Strict):
    format: Literal["counselsynth-form/1"] = "counselsynth-form/1"
    framework: str
    source: str = Field(description="how the form was fitted, on what")
    reference: FormReference | None = None
    counselor: dict[str, Histogram] = Field(description="class -> words per utterance -> turns; 'any' for all")
    code_class: dict[str, str] = Field(default_factory=dict, description="framework code -> class of `counselor`")
    miti_class: dict[str, str] = Field(
        default_factory=dict, description="MITI count ('none': no count) -> class, for codes not in code_class"
    )
    client: dict[str, Histogram] = Field(description="talk valence -> words per utterance -> turns; 'any' for all")
    continuation: dict[Speaker, float] = Field(description="chance that a speaker's turn is followed by their own")
    session_exchanges: list[Histogram] = Field(
        min_length=1, description="by position in a course (1st, 2nd, ...; the last applies after)"
    )
    short_share: dict[Speaker, float] = Field(description="share of 1-2-word utterances, for the record")


@dataclass(frozen=True)
class _Lengths:
    values: tuple[int, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, histogram: Mapping[int, int]) -> _Lengths:
        items = sorted((n, count) for n, count in histogram.items() if count > 0)
        return cls(tuple(n for n, _ in items), tuple(itertools.accumulate(c for _, c in items)))

    def draw(self, rng: random.Random) -> int:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(frozen=True)
class CompiledForm:
    """A form ready to draw from; `sha256` goes into the manifest."""

    framework: str
    source: str
    sha256: str
    counselor: Mapping[str, _Lengths]
    code_class: Mapping[str, str]
    miti_class: Mapping[str, str]
    client: Mapping[str, _Lengths]
    continuation: Mapping[Speaker, float]
    sessions: Sequence[_Lengths]

    def counselor_words(self, code: str, miti: str | None, rng: random.Random) -> int:
        label = self.code_class.get(code) or self.miti_class.get(miti or NO_MITI, ANY)
        lengths = self.counselor.get(label) or self.counselor[ANY]
        return lengths.draw(rng)

    def client_words(self, valence: str, rng: random.Random) -> int:
        return (self.client.get(valence) or self.client[ANY]).draw(rng)

    def session_exchanges(self, position: int, rng: random.Random) -> int:
        return self.sessions[min(position, len(self.sessions)) - 1].draw(rng)

    def continues(self, speaker: Speaker, rng: random.Random) -> bool:
        return rng.random() < self.continuation.get(speaker, 0.0)


def form_path(framework_id: str, folders: Sequence[Path]) -> Path | None:
    # Later folders (--frameworks-dir) win over the shipped one, as for frameworks and policies.
    for folder in reversed(folders):
        path = folder / FORM_FOLDER / f"{framework_id}.json"
        if path.is_file():
            return path
    return None


def load_form(framework_id: str, folders: Sequence[Path]) -> CompiledForm:
    """The framework's form, or the fallback form (all turns alike) when it ships none."""
    path = form_path(framework_id, folders) or form_path(FALLBACK_FORM, folders)
    if path is None:
        raise DataFileError(Path(FORM_FOLDER), None, None, f"no turn form for '{framework_id}' and no fallback")
    form = load_one(path, TurnForm)
    if form.framework not in (framework_id, FALLBACK_FORM):
        raise DataFileError(path, "record 1", "framework", f"is '{form.framework}', expected '{framework_id}'")
    return compile_form(form, path, hashlib.sha256(path.read_bytes()).hexdigest())


def compile_form(form: TurnForm, path: Path, sha256: str) -> CompiledForm:
    for side, table in (("counselor", form.counselor), ("client", form.client)):
        if ANY not in table:
            raise DataFileError(path, "record 1", side, f"needs an '{ANY}' histogram")
        empty = sorted(
            key for key, histogram in table.items() if not any(c > 0 and n > 0 for n, c in histogram.items())
        )
        if empty:
            raise DataFileError(path, "record 1", side, f"empty or non-positive histograms: {', '.join(empty)}")
    unknown = sorted((set(form.code_class.values()) | set(form.miti_class.values())) - set(form.counselor))
    if unknown:
        raise DataFileError(path, "record 1", "code_class", f"names classes without a histogram: {', '.join(unknown)}")
    if any(not any(c > 0 and n > 0 for n, c in h.items()) for h in form.session_exchanges):
        raise DataFileError(path, "record 1", "session_exchanges", "holds an empty histogram")
    return CompiledForm(
        framework=form.framework,
        source=form.source,
        sha256=sha256,
        counselor={key: _Lengths.of(_positive(h)) for key, h in form.counselor.items()},
        code_class=dict(form.code_class),
        miti_class=dict(form.miti_class),
        client={key: _Lengths.of(_positive(h)) for key, h in form.client.items()},
        continuation=dict(form.continuation),
        sessions=[_Lengths.of(_positive(h)) for h in form.session_exchanges],
    )


def _positive(histogram: Mapping[int, int]) -> dict[int, int]:
    # A 0-word utterance (an empty line in a transcript) cannot be a target.
    return {n: c for n, c in histogram.items() if n > 0 and c > 0}
