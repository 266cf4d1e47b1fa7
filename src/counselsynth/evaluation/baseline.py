"""`--baseline DIR`: this run's sessions against another evaluate run's, paired by session.

Sessions pair by case id (suite, scenario, repeat), so both runs must have used the same suites,
seed and persona file for the pairs to be like for like. Per suite, the pass/fail pairs are
compared with McNemar's exact test (a two-sided binomial test on the discordant pairs); the
suites are one family, Holm-corrected at α = 0.05.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from counselsynth.corpus import read_manifest
from counselsynth.errors import InputError
from counselsynth.evaluation.record import EvaluationRecord
from counselsynth.evaluation.scorecard import evaluated_cases

ALPHA = 0.05
METHOD = "McNemar's exact test on discordant pairs"


def _records(run_dir: Path) -> dict[str, EvaluationRecord]:
    return {case.case_id: case.evaluation for case in evaluated_cases(run_dir) if case.evaluation is not None}


def mcnemar_p(worse: int, better: int) -> float:
    from scipy.stats import binomtest  # type: ignore[import-untyped]

    discordant = worse + better
    if discordant == 0:
        return 1.0
    return float(binomtest(min(worse, better), discordant, 0.5).pvalue)


def holm(p_values: dict[str, float], alpha: float = ALPHA) -> dict[str, bool]:
    """Which hypotheses Holm's step-down procedure rejects at family-wise level `alpha`."""
    ordered = sorted(p_values, key=p_values.__getitem__)
    rejected: dict[str, bool] = dict.fromkeys(p_values, False)
    for rank, name in enumerate(ordered):
        if p_values[name] > alpha / (len(ordered) - rank):
            break
        rejected[name] = True
    return rejected


def _row(pairs: list[tuple[EvaluationRecord, EvaluationRecord]]) -> dict[str, Any]:
    worse = sum(b.passed and not n.passed for b, n in pairs)
    better = sum(n.passed and not b.passed for b, n in pairs)
    base_rate = sum(b.passed for b, _ in pairs) / len(pairs)
    rate = sum(n.passed for _, n in pairs) / len(pairs)
    return {
        "pairs": len(pairs),
        "baseline_rate": round(base_rate, 4),
        "rate": round(rate, 4),
        "difference": round(rate - base_rate, 4),
        "now_failing": worse,
        "now_passing": better,
        "p_value": mcnemar_p(worse, better),
    }


def compare(run_dir: Path, baseline_dir: Path) -> dict[str, Any]:
    current, base = _records(run_dir), _records(baseline_dir)
    shared = sorted(set(current) & set(base))
    if not shared:
        raise InputError(
            f"--baseline {baseline_dir}: no session in common with this run "
            "(compare runs of the same suites, seed and persona file)"
        )
    suites: dict[str, Any] = {}
    for suite in sorted({current[c].suite for c in shared}):
        suites[suite] = _row([(base[c], current[c]) for c in shared if current[c].suite == suite])
    for suite, significant in holm({s: row["p_value"] for s, row in suites.items()}).items():
        suites[suite]["significant"] = significant
    return {
        "baseline_dir": str(baseline_dir),
        "baseline_model": read_manifest(baseline_dir).models.get("counselor"),
        "method": METHOD,
        "alpha": ALPHA,
        "unpaired": len(set(current) ^ set(base)),
        "overall": _row([(base[c], current[c]) for c in shared]),
        "suites": suites,
        "significantly_different": [s for s, row in suites.items() if row["significant"]],
    }
