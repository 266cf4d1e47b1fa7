"""How far a corpus's counselor labels agree with what an independent coder reads in the text."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from counselsynth.coder.fit import Units, coded_turns
from counselsynth.coder.model import CoderFile, load_coder, shipped_coders
from counselsynth.errors import InputError
from counselsynth.fidelity.schemes import schemes
from counselsynth.languages import primary_subtag

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


def code_agreement(corpus_dir: Path, coder: CoderFile, max_turns: int | None = None) -> Agreement:
    """Cohen's kappa between the corpus's labels and the coder's predictions, on the fine classes
    when every label names one, else on the scheme's coarse classes. With `max_turns`, on a
    seeded sample of whole dialogues holding about that many turns."""
    from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

    scheme = schemes()[coder.scheme]
    _, units = coded_turns(corpus_dir, scheme, coarse_too=True)
    if not units.texts:
        raise InputError(f"{corpus_dir} has no counselor turns coded in the '{coder.scheme}' scheme")
    if max_turns is not None and len(units.texts) > max_turns:
        units = _sample(units, max_turns)
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


def _sample(units: Units, max_turns: int) -> Units:
    # Whole dialogues, so that the sample keeps each dialogue's mix of codes; seeded by the ids,
    # so that the same corpus gives the same figure.
    dialogues = sorted(set(units.groups), key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    share = max_turns / len(units.texts)
    kept = set(dialogues[: max(1, round(share * len(dialogues)))])
    rows = [i for i, group in enumerate(units.groups) if group in kept]
    return Units(
        [units.texts[i] for i in rows],
        [units.classes[i] for i in rows],
        [units.groups[i] for i in rows],
        units.skipped,
        units.sources,
        units.languages,
    )


def corpus_agreement(
    corpus_dir: Path, frameworks: Mapping[str, int], language: str, max_turns: int
) -> tuple[Agreement | None, str]:
    """The agreement of a corpus's labels with the shipped coder of its main framework, or None
    and why not."""
    coded = sorted((f for f in frameworks if f in shipped_coders()), key=lambda f: -frameworks[f])
    if not coded:
        available = ", ".join(shipped_coders())
        return None, f"no coder for the corpus's frameworks ({', '.join(frameworks)}); coders exist for {available}"
    coder = load_coder(coded[0])
    if primary_subtag(language) != coder.language:
        return None, f"the {coder.name} coder reads '{coder.language}'; the corpus is in '{language}'"
    try:
        found = code_agreement(corpus_dir, coder, max_turns)
    except InputError as exc:
        return None, str(exc)
    classes = "coarse classes" if found.coarse else "fine classes"
    note = (
        f"{coder.name} coder on {found.turns} {coded[0]} counselor turns ({classes}); "
        f"passes at {FLOOR_SHARE} x its cross-validated kappa {found.reference_kappa}"
    )
    return found, note
