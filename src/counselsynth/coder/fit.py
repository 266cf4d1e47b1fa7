"""Fit a coder on an annotated corpus, with its agreement measured by grouped cross-validation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from counselsynth.coder.features import FeatureSpec, vectorize
from counselsynth.coder.model import CoderFile, Validation
from counselsynth.corpus import read_cases
from counselsynth.errors import InputError, UnknownNameError
from counselsynth.fidelity.profile import corpus_citation
from counselsynth.fidelity.schemes import Scheme, schemes
from counselsynth.languages import primary_subtag
from counselsynth.models import NOT_ANNOTATED

# Inverse regularisation strength; chosen on AnnoMI's high-quality transcripts by grouped
# cross-validation (kappa was flat between 2 and 8 and fell off below 1).
STRENGTH = 4.0


@dataclass(frozen=True)
class Units:
    """The counselor turns a coder learns from: text, class and dialogue."""

    texts: list[str]
    classes: list[str]
    groups: list[str]
    skipped: int
    sources: Counter[str]
    languages: Counter[str]


def coded_turns(corpus_dir: Path, scheme: Scheme | None = None, *, coarse_too: bool = False) -> tuple[Scheme, Units]:
    """Every counselor turn whose code maps onto one of the scheme's fine classes (or, with
    `coarse_too`, onto a coarse one)."""
    texts: list[str] = []
    classes: list[str] = []
    groups: list[str] = []
    skipped = 0
    sources: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    for case in read_cases(corpus_dir):
        if scheme is None:
            if case.framework not in schemes():
                raise UnknownNameError("coding scheme for framework", case.framework, schemes())
            scheme = schemes()[case.framework]
        sources[case.model] += 1
        languages[primary_subtag(case.language)] += 1
        for session in case.sessions:
            for turn in session.turns:
                if turn.speaker != "counselor" or turn.annotations.code in (None, NOT_ANNOTATED):
                    continue
                found = scheme.class_of(f"{case.framework}/{turn.annotations.code}", turn.annotations.miti)
                if found is None or not (found in scheme.classes or coarse_too):
                    skipped += 1
                    continue
                texts.append(turn.text)
                classes.append(found)
                groups.append(case.case_id)
    if scheme is None:
        raise InputError(f"{corpus_dir} holds no cases")
    return scheme, Units(texts, classes, groups, skipped, sources, languages)


def fit_coder(
    corpus_dir: Path, *, name: str, features: FeatureSpec | None = None, folds: int = 5, seed: int = 0
) -> CoderFile:
    from sklearn.metrics import cohen_kappa_score, f1_score  # type: ignore[import-untyped]
    from sklearn.model_selection import StratifiedGroupKFold  # type: ignore[import-untyped]

    spec = features or FeatureSpec()
    scheme, units = coded_turns(corpus_dir)
    labels = sorted(set(units.classes), key=scheme.classes.index)
    dialogues = len(set(units.groups))
    if len(labels) < 2 or dialogues < folds:
        raise InputError(
            f"{corpus_dir}: a coder needs at least 2 classes and {folds} dialogues with counselor codes of the "
            f"'{scheme.framework}' scheme's fine classes; found {len(labels)} classes in {dialogues} dialogues"
        )
    matrix = vectorize(units.texts, spec)
    target = np.asarray(units.classes)
    predicted = np.empty_like(target)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(matrix, target, np.asarray(units.groups)):
        predicted[test] = _model(seed).fit(matrix[train], target[train]).predict(matrix[test])
    model = _model(seed).fit(matrix, target)
    f1 = f1_score(target, predicted, labels=labels, average=None, zero_division=0.0)
    coarse = None
    if scheme.coarse:
        coarse = float(cohen_kappa_score(_coarsen(scheme, target), _coarsen(scheme, predicted)))
    validation = Validation(
        folds=folds,
        dialogues=dialogues,
        turns=len(target),
        kappa=round(float(cohen_kappa_score(target, predicted)), 4),
        kappa_coarse=None if coarse is None else round(coarse, 4),
        f1={label: round(float(value), 4) for label, value in zip(labels, f1, strict=True)},
    )
    order = [list(model.classes_).index(label) for label in labels]
    return CoderFile.from_arrays(
        coefficients=model.coef_[order],
        intercepts=model.intercept_[order],
        name=name,
        scheme=scheme.framework,
        language=units.languages.most_common(1)[0][0],
        classes=labels,
        features=spec.model_dump(),
        validation=validation.model_dump(),
        source=None if (found := corpus_citation(units.sources)) is None else found.model_dump(),
    )


def _model(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    return LogisticRegression(C=STRENGTH, class_weight="balanced", max_iter=2000, random_state=seed)


def _coarsen(scheme: Scheme, classes: npt.NDArray[np.str_]) -> list[str]:
    return [scheme.coarse.get(str(c), str(c)) for c in classes]
