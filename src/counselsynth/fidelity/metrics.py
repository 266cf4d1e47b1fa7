"""The fidelity check's axes: every metric compares a corpus profile with a reference profile.

Each metric first works out what it can compare (or why it cannot: then it is n/a with a note,
never 0), then decides pass/fail at the per-metric level alpha/m once the number m of metrics
that can be tested is known (Bonferroni, so the overall verdict's family-wise error rate is at
most alpha). Definitions, tolerances and direction phrases are in metrics.yaml.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from counselsynth.errors import DataFileError
from counselsynth.fidelity.agreement_metric import agreement_metric
from counselsynth.fidelity.c2st import C2STResult
from counselsynth.fidelity.comparison import (
    Array,
    Estimate,
    MixTest,
    Outcome,
    compare,
    draws_estimate,
    mix_test,
    ratio_estimate,
)
from counselsynth.fidelity.measures import QUESTION_COUNT, REFLECTION_COUNT, THIRDS
from counselsynth.fidelity.metric_context import (
    SUBTYPE_COVERAGE,
    MetricContext,
    MetricResult,
    Pending,
    Side,
    _class_columns,
    _log_utterances,
    _spread_columns,
    not_applicable,
    prepare_bootstrap,
)
from counselsynth.fidelity.profile import Profile
from counselsynth.fidelity.settings import METRICS_FILE, CheckSettings, MetricSpec, metric_specs
from counselsynth.models import MI_ADHERENT, MI_NON_ADHERENT

# MetricResult is re-exported: callers of compute_metrics get it back.
__all__ = ["COMPUTE", "MetricResult", "compute_metrics"]


def compute_metrics(
    corpus: Profile, reference: Profile, settings: CheckSettings, c2st: C2STResult | None = None, **extra: Any
) -> list[MetricResult]:
    """Every metric of metrics.yaml for `corpus` against `reference`, decided at alpha / m.
    `extra` are further MetricContext fields (`agreement`)."""
    context = MetricContext(Side(corpus, "corpus"), Side(reference, "reference"), settings, c2st, **extra)
    prepare_bootstrap(context)
    specs = metric_specs()
    unknown = sorted(set(specs) - set(COMPUTE))
    if unknown:
        raise DataFileError(METRICS_FILE, None, "metrics", f"no computation for {', '.join(unknown)}")
    unannotated = _unannotated_note(corpus, reference, settings.max_unannotated_share)
    pending = [
        not_applicable(spec, f"the corpus is in '{corpus.language}', the reference in '{reference.language}'")
        if corpus.language != reference.language and (spec.language_bound or spec.axis in ("language", "c2st"))
        else not_applicable(spec, unannotated)
        if unannotated and spec.counselor_coded
        else COMPUTE[spec.name](spec, context)
        for spec in specs.values()
    ]
    tested = sum(p.decide is not None for p in pending)
    level = settings.alpha / max(1, tested)
    return [p.result(level, settings.alpha) for p in pending]


def _unannotated_note(corpus: Profile, reference: Profile, limit: float) -> str:
    """Why metrics that read counselor codes cannot be compared, if too few turns carry one."""
    for label, profile in (("corpus", corpus), ("reference", reference)):
        share = profile.unannotated_share()
        if share > limit:
            return (
                f"{share:.0%} of the {label}'s counselor turns are not annotated (above {limit:.0%}): "
                "no codes to compare"
            )
    return ""


# -- metric kinds -------------------------------------------------------------------------------


def _decide_ratio(spec: MetricSpec, corpus: Estimate, reference: Estimate) -> Callable[[float], Outcome]:
    def decide(level: float) -> Outcome:
        return compare(corpus, reference, spec.scale, spec.tolerance, level)

    return decide


def _ratio_pending(
    spec: MetricSpec, context: MetricContext, corpus: Estimate | None, reference: Estimate | None, what: str
) -> Pending:
    if reference is None:
        return not_applicable(spec, f"the reference has no {what}", corpus.value if corpus else None)
    if corpus is None:
        return not_applicable(spec, f"the corpus has no {what}")
    small = _too_small(context)
    if small:
        return not_applicable(spec, small, corpus.value)
    if spec.scale == "log" and reference.value <= 0:
        return not_applicable(spec, f"the reference value is {reference.value:g}: no ratio band", corpus.value)
    return Pending(spec, _decide_ratio(spec, corpus, reference))


def _too_small(context: MetricContext) -> str:
    need = context.settings.min_cases
    for side in (context.corpus, context.reference):
        if side.cases < need:
            return f"the {side.label} has {side.cases} cases; at least {need} are needed to estimate variability"
    return ""


Extract = Callable[[Side], tuple[Any, Any]]


def _columns(side: Side, name: str) -> Any:
    return getattr(side.profile.sessions, name)


def _ratio_of(numerator: str, denominator: str) -> Extract:
    return lambda side: (_columns(side, numerator), _columns(side, denominator))


def _same_speaker(side: Side) -> tuple[Any, Any]:
    columns = side.profile.sessions
    return columns.same_speaker, [max(0, u - 1) for u in columns.utterances]


def _miti(*keys: str) -> Callable[[Side], Array]:
    def total(side: Side) -> Array:
        miti = side.profile.sessions.miti
        total: Array = np.sum([np.asarray(miti[key], dtype=np.float64) for key in keys], axis=0)
        return total

    return total


def _talk(valence: str) -> Extract:
    def extract(side: Side) -> tuple[Any, Any]:
        talk = side.profile.sessions.talk
        total = np.sum([np.asarray(v, dtype=np.float64) for v in talk.values()], axis=0)
        return talk[valence], total

    return extract


RATIOS: dict[str, tuple[Extract, str]] = {
    "counselor_words_per_utterance": (_ratio_of("counselor_words", "counselor_utterances"), "counselor utterances"),
    "client_words_per_utterance": (_ratio_of("client_words", "client_utterances"), "client utterances"),
    "counselor_share_of_words": (_ratio_of("counselor_words", "words"), "words"),
    "short_utterance_share": (_ratio_of("short_utterances", "utterances"), "utterances"),
    "same_speaker_share": (_same_speaker, "utterance pairs"),
    "reflection_share": (
        lambda side: (_miti(REFLECTION_COUNT)(side), side.profile.annotated_counselor_utterances()),
        "annotated counselor utterances",
    ),
    "question_share": (
        lambda side: (_miti(QUESTION_COUNT)(side), side.profile.annotated_counselor_utterances()),
        "annotated counselor utterances",
    ),
    "r_to_q": (lambda side: (_miti(REFLECTION_COUNT)(side), _miti(QUESTION_COUNT)(side)), "questions"),
    "pct_mi_adherent": (
        lambda side: (_miti(*MI_ADHERENT)(side), _miti(*MI_ADHERENT, *MI_NON_ADHERENT)(side)),
        "annotated affirm, seek collaboration, emphasize autonomy, persuade or confront turns",
    ),
    "change_talk_share": (_talk("change"), "client turns with a talk type"),
    "sustain_talk_share": (_talk("sustain"), "client turns with a talk type"),
}
SUBTYPES: dict[str, tuple[str, str, str, str]] = {
    # metric: (numerator count, other subtype count, kind total, kind name)
    "pct_complex_reflections": ("CR", "SR", REFLECTION_COUNT, "reflections"),
    "pct_open_questions": ("Q_OPEN", "Q_CLOSED", QUESTION_COUNT, "questions"),
}


def _ratio_metric(spec: MetricSpec, context: MetricContext) -> Pending:
    extract, what = RATIOS[spec.name]
    estimates = []
    for side in (context.corpus, context.reference):
        numerator, denominator = extract(side)
        estimates.append(side.ratio(numerator, denominator))
    pending = _ratio_pending(spec, context, estimates[0], estimates[1], what)
    if spec.name == "r_to_q" and pending.decide is None and estimates[0] is None:
        return not_applicable(spec, "the corpus has no questions (or no codes of a known kind), so R:Q is undefined")
    return pending


def _subtype_metric(spec: MetricSpec, context: MetricContext) -> Pending:
    top, other, kind, name = SUBTYPES[spec.name]
    estimates = []
    for side in (context.corpus, context.reference):
        subtyped = _miti(top, other)(side)
        total = float(_miti(kind)(side).sum())
        if total > 0 and subtyped.sum() < SUBTYPE_COVERAGE * total:
            share = 1 - subtyped.sum() / total
            return not_applicable(
                spec,
                f"{share:.0%} of the {side.label}'s {name} carry no subtype (e.g. AnnoMI-simple, ESConv), "
                f"so the share cannot be computed",
            )
        estimates.append(side.ratio(_miti(top)(side), subtyped))
    return _ratio_pending(spec, context, estimates[0], estimates[1], f"subtyped {name}")


def _sessions_per_case(spec: MetricSpec, context: MetricContext) -> Pending:
    counts = [np.bincount(side.case, minlength=side.cases) for side in (context.corpus, context.reference)]
    corpus_value = float(counts[0].mean()) if len(counts[0]) else None
    if len(counts[1]) and bool(np.all(counts[1] == 1)):
        return not_applicable(
            spec,
            "the reference holds one session per case (real transcripts are single sessions), "
            "so multi-session structure cannot be compared",
            corpus_value,
        )
    corpus, reference = (ratio_estimate(c.astype(np.float64), np.ones(len(c))) for c in counts)
    return _ratio_pending(spec, context, corpus, reference, "sessions")


def _language_ratio(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates = []
    for side in (context.corpus, context.reference):
        text = side.profile.text
        if spec.name == "cross_dialogue_repetition":
            numerator, denominator = text.repetition_shared, text.repetition_total
        else:
            numerator, denominator = text.openers_matched, text.openers_total
        if not denominator:
            need = side.profile.settings.comparison_sessions + 1
            return not_applicable(spec, f"the {side.label} has fewer than {need} cases to compare dialogues with")
        estimates.append(ratio_estimate(np.asarray(numerator, float), np.asarray(denominator, float)))
    return _ratio_pending(spec, context, estimates[0], estimates[1], "n-grams or openers to compare")


def _emotion_within(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates = []
    for side in (context.corpus, context.reference):
        sums = np.asarray(side.profile.sessions.emotion_sum, dtype=np.float64).reshape(-1, 3)
        counts = np.asarray(side.profile.sessions.emotion_count, dtype=np.float64).reshape(-1, 3)
        usable = (counts[:, 0] > 0) & (counts[:, 2] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(usable, sums[:, 2] / counts[:, 2] - sums[:, 0] / counts[:, 0], 0.0)
        estimates.append(side.ratio(change, usable.astype(np.float64)) if usable.any() else None)
    return _ratio_pending(
        spec, context, estimates[0], estimates[1], "sessions with client emotion intensity in the first and last third"
    )


def _emotion_across(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates = []
    for side in (context.corpus, context.reference):
        columns = side.profile.sessions
        sums = np.asarray(columns.emotion_sum, dtype=np.float64).reshape(-1, 3).sum(axis=1)
        counts = np.asarray(columns.emotion_count, dtype=np.float64).reshape(-1, 3).sum(axis=1)
        first: dict[int, tuple[int, float]] = {}
        last: dict[int, tuple[int, float]] = {}
        for case, index, total, count in zip(side.case, columns.index, sums, counts, strict=True):
            if count == 0:
                continue
            mean = total / count
            if int(case) not in first or index < first[int(case)][0]:
                first[int(case)] = (index, mean)
            if int(case) not in last or index > last[int(case)][0]:
                last[int(case)] = (index, mean)
        changes = [last[c][1] - first[c][1] for c in first if last[c][0] != first[c][0]]
        estimates.append(ratio_estimate(np.asarray(changes), np.ones(len(changes))) if changes else None)
    return _ratio_pending(
        spec, context, estimates[0], estimates[1], "cases with client emotion intensity in two or more sessions"
    )


def _mean_log(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates: list[Estimate | None] = []
    for side in (context.corpus, context.reference):
        logs = _log_utterances(side)
        mean = side.ratio(logs, np.ones_like(logs))
        # The geometric mean, with its standard error by the delta method.
        estimates.append(
            None if mean is None else Estimate(math.exp(mean.value), math.exp(mean.value) * mean.se, mean.n)
        )
    return _ratio_pending(spec, context, estimates[0], estimates[1], "sessions")


def _spread(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates: list[Estimate | None] = []
    for side, boot in ((context.corpus, context.boot_corpus), (context.reference, context.boot_reference)):
        assert boot is not None
        columns = _spread_columns(side).sum(axis=0, keepdims=True)
        if columns[0, 0] < 2:
            estimates.append(None)
            continue
        value = float(_sd(columns)[0])
        replicates = _sd(boot[:, :3])
        estimates.append(Estimate(value, float(np.nanstd(replicates, ddof=1)), side.cases))
    return _ratio_pending(spec, context, estimates[0], estimates[1], "two or more sessions")


def _sd(sums: Array) -> Array:
    n, s1, s2 = sums[:, 0], sums[:, 1], sums[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (s2 - s1 * s1 / n) / (n - 1)
    return np.asarray(np.sqrt(np.clip(variance, 0.0, None)), dtype=np.float64)


def _mix(spec: MetricSpec, context: MetricContext) -> Pending:
    if context.classes is None:
        return not_applicable(spec, context.class_note)
    small = _too_small(context)
    if small:
        return not_applicable(spec, small)
    k = len(context.classes.classes)
    part = {"code_mix_jsd": None, "code_mix_first_third": 0, "code_mix_middle_third": 1, "code_mix_last_third": 2}
    chosen = part[spec.name]
    assert context.boot_corpus is not None and context.boot_reference is not None
    sides = []
    for side, boot in ((context.corpus, context.boot_corpus), (context.reference, context.boot_reference)):
        columns = _class_columns(side, context.classes).sum(axis=0)
        replicates = boot[:, 3:]
        if chosen is None:
            sides.append((columns.reshape(3, k).sum(axis=0), replicates.reshape(-1, 3, k).sum(axis=1)))
        else:
            sides.append((columns[chosen * k : (chosen + 1) * k], replicates[:, chosen * k : (chosen + 1) * k]))
    test = mix_test(sides[0][0], sides[0][1], sides[1][0], sides[1][1])
    where = "" if chosen is None else f" in the {THIRDS[chosen]} third"
    if test is None:
        return not_applicable(spec, f"no counselor codes{where} on one side")
    extra = {"classes": context.classes.classes, **_mix_extra(test)}
    return Pending(spec, _decide_mix(spec, test), context.class_note, extra=extra)


def _mix_extra(test: MixTest) -> dict[str, Any]:
    return {
        "corpus_mix": [round(float(v), 4) for v in test.corpus_mix],
        "reference_mix": [round(float(v), 4) for v in test.reference_mix],
    }


def _decide_mix(spec: MetricSpec, test: MixTest) -> Callable[[float], Outcome]:
    return lambda level: test.outcome(spec.tolerance, level)


def _draws(spec: MetricSpec, context: MetricContext) -> Pending:
    estimates = []
    for side in (context.corpus, context.reference):
        values = side.profile.text.distinct_1 if spec.name == "distinct_1" else side.profile.text.distinct_2
        estimate = draws_estimate(np.asarray(values, dtype=np.float64))
        if estimate is None:
            budget = side.profile.settings.token_budget
            return not_applicable(
                spec, f"the {side.label}'s sample holds {side.profile.text.tokens} tokens, fewer than {budget}"
            )
        estimates.append(estimate)
    if context.corpus.profile.settings.token_budget != context.reference.profile.settings.token_budget:
        return not_applicable(spec, "corpus and reference were measured at different token budgets")
    return Pending(spec, _decide_ratio(spec, estimates[0], estimates[1]), "")


def _c2st(spec: MetricSpec, context: MetricContext) -> Pending:
    result = context.c2st
    if result is None:
        return not_applicable(spec, "no real corpus given (--against REAL_CORPUS_DIR)")
    if result.auc is None:
        return not_applicable(spec, result.note)

    def decide(level: float) -> Outcome:
        return result.outcome(spec.tolerance, level)

    return Pending(spec, decide, result.note, extra={"utterances_per_side": result.per_side})


Compute = Callable[[MetricSpec, MetricContext], Pending]
# Every metric of metrics.yaml, by name; a name without an entry here is an error at load.
COMPUTE: dict[str, Compute] = {
    **dict.fromkeys(RATIOS, _ratio_metric),
    **dict.fromkeys(SUBTYPES, _subtype_metric),
    "utterances_per_session": _mean_log,
    "session_length_spread": _spread,
    "sessions_per_case": _sessions_per_case,
    "code_mix_jsd": _mix,
    "code_mix_first_third": _mix,
    "code_mix_middle_third": _mix,
    "code_mix_last_third": _mix,
    "distinct_1": _draws,
    "distinct_2": _draws,
    "cross_dialogue_repetition": _language_ratio,
    "formulaic_openers": _language_ratio,
    "emotion_change_within_sessions": _emotion_within,
    "emotion_change_across_sessions": _emotion_across,
    "c2st_auc": _c2st,
    "code_agreement": agreement_metric,
}
