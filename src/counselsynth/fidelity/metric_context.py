"""What every fidelity metric works with: the two sides compared (per-case sums of a profile), the
shared bootstrap columns, a metric waiting for its per-metric level, and the result it becomes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from counselsynth.fidelity.c2st import C2STResult
from counselsynth.fidelity.comparison import (
    Array,
    Estimate,
    Outcome,
    bootstrap_sums,
    ratio_estimate,
)
from counselsynth.fidelity.profile import Profile
from counselsynth.fidelity.schemes import ClassMap, class_map, schemes
from counselsynth.fidelity.settings import CheckSettings, MetricSpec

if TYPE_CHECKING:
    from counselsynth.coder.agreement import Agreement

MetricVerdict = Literal["pass", "fail", "n/a"]
# A subtype share is computed only when nearly all of that kind carry a subtype.
SUBTYPE_COVERAGE = 0.95


@dataclass(frozen=True)
class MetricResult:
    name: str
    axis: str
    label: str
    value: float | None
    band: tuple[float, float] | None
    verdict: MetricVerdict
    note: str
    reference: float | None = None
    p_value: float | None = None
    direction: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def plain(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "axis": self.axis,
            "label": self.label,
            "value": rounded(self.value),
            "band": [rounded(self.band[0]), rounded(self.band[1])] if self.band else None,
            "verdict": self.verdict,
            "note": self.note,
            "reference": rounded(self.reference),
            "p_value": rounded(self.p_value, 6),
            "direction": self.direction,
            **self.extra,
        }


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


@dataclass(frozen=True)
class Pending:
    """A metric that can be tested once the per-metric level is known, or n/a."""

    spec: MetricSpec
    decide: Callable[[float], Outcome] | None
    note: str = ""
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def result(self, level: float, alpha: float) -> MetricResult:
        """The verdict at the per-metric `level`; the direction is named for a failure, and for a
        difference that would fail at the unadjusted `alpha` (reported as suggestive)."""
        spec = self.spec
        if self.decide is None:
            return MetricResult(spec.name, spec.axis, spec.label, self.value, None, "n/a", self.note, extra=self.extra)
        outcome = self.decide(level)
        phrase = None
        if outcome.direction is not None and (outcome.verdict == "fail" or outcome.p_value < alpha):
            phrase = spec.higher if outcome.direction == "higher" else spec.lower
        return MetricResult(
            spec.name,
            spec.axis,
            spec.label,
            outcome.value,
            spec.clip(outcome.band),
            outcome.verdict,
            self.note,
            outcome.reference,
            outcome.p_value,
            phrase or None,
            self.extra,
        )


def not_applicable(spec: MetricSpec, note: str, value: float | None = None) -> Pending:
    return Pending(spec, None, note, value)


class Side:
    """One profile's per-case sums, with cases that hold no session left out."""

    def __init__(self, profile: Profile, label: str) -> None:
        self.profile = profile
        self.label = label
        columns = profile.sessions
        _, self.case = np.unique(np.asarray(columns.case, dtype=np.int64), return_inverse=True)
        self.cases = int(self.case.max()) + 1 if len(self.case) else 0

    def per_case(self, values: Any) -> Array:
        weights = np.asarray(values, dtype=np.float64)
        return np.bincount(self.case, weights=weights, minlength=self.cases).astype(np.float64)

    def ratio(self, numerator: Any, denominator: Any) -> Estimate | None:
        return ratio_estimate(self.per_case(numerator), self.per_case(denominator))


@dataclass
class MetricContext:
    corpus: Side
    reference: Side
    settings: CheckSettings
    c2st: C2STResult | None
    agreement: tuple[Agreement | None, str] | None = None  # the coder's verdict, or None and why
    boot_corpus: Array | None = None
    boot_reference: Array | None = None
    classes: ClassMap | None = None
    class_note: str = ""


# -- bootstrap columns shared by the spread and the code-mix metrics --------------------------------


def _log_utterances(side: Side) -> Array:
    utterances = np.asarray(side.profile.sessions.utterances, dtype=np.float64)
    return np.log(np.clip(utterances, 1.0, None))


def _spread_columns(side: Side) -> Array:
    logs = _log_utterances(side)
    return np.column_stack([side.per_case(np.ones_like(logs)), side.per_case(logs), side.per_case(logs**2)])


def _class_columns(side: Side, classes: ClassMap) -> Array:
    """cases x (3 thirds x classes) counselor code counts."""
    k = len(classes.classes)
    out = np.zeros((side.cases, 3 * k))
    for code, counts in side.profile.sessions.codes.items():
        column = classes.classes.index(classes.of_code[code])
        per_third = np.asarray(counts, dtype=np.float64).reshape(-1, 3)
        for part in range(3):
            out[:, part * k + column] += side.per_case(per_third[:, part])
    return out


def prepare_bootstrap(context: MetricContext) -> None:
    corpus, reference = context.corpus.profile, context.reference.profile
    frameworks = list(reference.frameworks)
    scheme = schemes().get(frameworks[0]) if len(frameworks) == 1 else None
    if scheme is None:
        context.class_note = (
            f"no comparison scheme for the reference's framework ({', '.join(frameworks)}); "
            f"schemes exist for {', '.join(sorted(schemes()))}"
        )
    else:
        mapped = class_map(scheme, corpus.code_miti, reference.code_miti)
        if isinstance(mapped, list):
            context.class_note = (
                f"the codes {', '.join(mapped)} have no class in the {scheme.framework} comparison scheme"
            )
        else:
            context.classes = mapped
            if mapped.coarse:
                context.class_note = (
                    "compared on coarse classes (question / reflection / input / other): one side's codes "
                    "carry no subtype"
                )
    parts_c = [_spread_columns(context.corpus)]
    parts_r = [_spread_columns(context.reference)]
    if context.classes is not None:
        parts_c.append(_class_columns(context.corpus, context.classes))
        parts_r.append(_class_columns(context.reference, context.classes))
    seed = context.settings.seed
    context.boot_corpus = bootstrap_sums(np.hstack(parts_c), context.settings.bootstrap, seed)
    context.boot_reference = bootstrap_sums(np.hstack(parts_r), context.settings.bootstrap, seed + 1)
