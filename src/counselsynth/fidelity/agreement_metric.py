"""The code_agreement metric: do the corpus's counselor codes describe their text?

Unlike the other metrics it compares the corpus with no reference sample: an independent coder
(see counselsynth.coder) reads the text, and the metric is Cohen's kappa between its reading and
the labels, against a floor taken from the coder's own cross-validated kappa on real data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from counselsynth.fidelity.comparison import Outcome
from counselsynth.fidelity.metric_context import MetricContext, Pending, not_applicable
from counselsynth.fidelity.settings import MetricSpec

if TYPE_CHECKING:
    from counselsynth.coder.agreement import Agreement

# The coder's verdict on a corpus, or None and why there is none.
LabelAgreement = tuple["Agreement | None", str]


def agreement_metric(spec: MetricSpec, context: MetricContext) -> Pending:
    if context.agreement is None:
        return not_applicable(spec, "the corpus folder was not given, only its profile")
    found, note = context.agreement
    if found is None:
        return not_applicable(spec, note)

    def decide(level: float) -> Outcome:
        # A floor, not a test: there is no sampling distribution to put a p-value on (NaN: none).
        passed = found.passed
        return Outcome(
            found.kappa,
            found.reference_kappa,
            (found.floor, 1.0),
            math.nan,
            "pass" if passed else "fail",
            None if passed else "lower",
        )

    return Pending(spec, decide, note, extra={"turns": found.turns, "coarse": found.coarse})
