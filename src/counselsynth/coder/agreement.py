"""How far a corpus's counselor labels agree with what an independent coder reads in the text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from counselsynth.coder.fit import coded_turns
from counselsynth.coder.model import CoderFile
from counselsynth.errors import InputError
from counselsynth.fidelity.schemes import schemes

# "Far below" the coder's own agreement with human coders: a corpus whose labels describe its text
# agrees with the coder about as well as the coder's held-out data did (AnnoMI's low-quality
# transcripts: 0.39 fine, against 0.52 in cross-validation), while labels shuffled among turns
# agree at about 0. Half the validated kappa separates the two with room on both sides.
FLOOR_SHARE = 0.5


@dataclass(frozen=True)
class Agreement:
    kappa: float
    turns: int
    coarse: bool
    reference_kappa: float

    @property
    def floor(self) -> float:
        return round(FLOOR_SHARE * self.reference_kappa, 4)

    @property
    def passed(self) -> bool:
        return self.kappa >= self.floor


def code_agreement(corpus_dir: Path, coder: CoderFile) -> Agreement:
    """Cohen's kappa between the corpus's labels and the coder's predictions, on the fine classes
    when every label names one, else on the scheme's coarse classes."""
    from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

    scheme = schemes()[coder.scheme]
    _, units = coded_turns(corpus_dir, scheme, coarse_too=True)
    if not units.texts:
        raise InputError(f"{corpus_dir} has no counselor turns coded in the '{coder.scheme}' scheme")
    predicted = coder.predict(units.texts)
    coarse = any(label not in scheme.classes for label in units.classes)
    if coarse and coder.validation.kappa_coarse is None:
        raise InputError(f"{corpus_dir} is coded more coarsely than the coder '{coder.name}' was validated on")
    if coarse:
        labels = [scheme.coarse.get(c, c) for c in units.classes]
        predicted = [scheme.coarse.get(c, c) for c in predicted]
    else:
        labels = units.classes
    reference = coder.validation.kappa_coarse if coarse else coder.validation.kappa
    assert reference is not None
    return Agreement(round(float(cohen_kappa_score(labels, predicted)), 4), len(labels), coarse, reference)
