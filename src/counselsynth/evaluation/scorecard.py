"""The scorecard of an evaluate run: pass rates with 95% intervals, each check's pass rate, the
rubric by window of turns (the drift curve) and the MITI-style counts, per scenario, per suite
and overall, computed from the run folder's cases.

Sessions that could not be run (the simulator failed: a client or critic reply that broke its
schema) are counted and listed, but they are not sessions of the counselor, so they are not in
the pass rates; a counselor reply that failed is a failed turn inside its session.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from counselsynth.codestats import summary_scores
from counselsynth.corpus import read_cases, read_manifest
from counselsynth.errors import InputError
from counselsynth.evaluation.record import EvaluationRecord
from counselsynth.failures import FailureLog
from counselsynth.models import Case

SCORECARD = "scorecard.json"
Z95 = 1.959963984540054
HONESTY = (
    "The clients in these sessions are simulated by a language model (or the offline engine) following "
    "scripts; they are not patients, and a pass here is not evidence that the counselor is safe with people."
)
EXCERPTS_PER_SCENARIO = 3


def wilson(passed: int, total: int) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion: sound at 0% and 100% and for small counts."""
    if total == 0:
        return None
    share = passed / total
    denominator = 1 + Z95**2 / total
    centre = (share + Z95**2 / (2 * total)) / denominator
    half = Z95 * math.sqrt(share * (1 - share) / total + Z95**2 / (4 * total**2)) / denominator
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def evaluated_cases(run_dir: Path) -> list[Case]:
    cases = [case for case in read_cases(run_dir) if case.evaluation is not None]
    if not cases and not FailureLog(run_dir).records:
        raise InputError(f"{run_dir} holds no evaluated sessions: not an evaluate run folder")
    return cases


def _rate(records: Sequence[EvaluationRecord]) -> dict[str, Any]:
    passed = sum(r.passed for r in records)
    return {
        "sessions": len(records),
        "passed": passed,
        "pass_rate": round(passed / len(records), 4) if records else None,
        "interval_95": wilson(passed, len(records)),
    }


def _checks(records: Sequence[EvaluationRecord]) -> dict[str, dict[str, Any]]:
    tally: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        for check in record.checks:
            tally[check.name].append(check.passed)
    return {
        name: {"sessions": len(v), "passed": sum(v), "pass_rate": round(sum(v) / len(v), 4)}
        for name, v in sorted(tally.items())
    }


def _drift(records: Sequence[EvaluationRecord]) -> list[dict[str, Any]]:
    # By the window's first turn: scenarios of different lengths end on partial windows of
    # different sizes, which are still the same stretch of the conversation.
    by_window: dict[int, list[float]] = defaultdict(list)
    last: dict[int, int] = {}
    for record in records:
        for window in record.windows:
            by_window[window.first].append(window.mean)
            last[window.first] = max(last.get(window.first, 0), window.last)
    return [
        {"turns": f"{first}-{last[first]}", "first": first, "mean": round(fmean(v), 3), "sessions": len(v)}
        for first, v in sorted(by_window.items())
    ]


def _miti(records: Iterable[EvaluationRecord]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    for record in records:
        counts.update(record.miti)
    scores = {k: None if v is None else round(v, 4) for k, v in summary_scores(counts).items()}
    return {"counts": dict(sorted(counts.items())), **scores}


def _block(records: Sequence[EvaluationRecord]) -> dict[str, Any]:
    return {
        **_rate(records),
        "checks": _checks(records),
        "drift": _drift(records),
        "miti": _miti(records),
        "failed_turns": sum(r.failed_turns for r in records),
    }


def _excerpts(case: Case) -> list[dict[str, Any]]:
    record = case.evaluation
    assert record is not None
    turns = case.sessions[0].turns
    found = []
    for check in record.checks:
        if check.passed:
            continue
        quoted = [
            {"turn": i + 1, "speaker": turns[i].speaker, "text": turns[i].text or "(no reply)"}
            for i in check.failing_turns
            if i < len(turns)
        ]
        found.append({"case_id": case.case_id, "check": check.name, "detail": check.detail, "turns": quoted})
    return found


def build_scorecard(run_dir: Path) -> dict[str, Any]:
    manifest = read_manifest(run_dir)
    cases = evaluated_cases(run_dir)
    failures = FailureLog(run_dir).records
    records = [case.evaluation for case in cases if case.evaluation is not None]
    suites: dict[str, Any] = {}
    for suite in sorted({r.suite for r in records}):
        in_suite = [r for r in records if r.suite == suite]
        scenarios = {
            scenario: _block([r for r in in_suite if r.scenario == scenario])
            for scenario in sorted({r.scenario for r in in_suite})
        }
        suites[suite] = {**_block(in_suite), "scenarios": scenarios}
    failing: list[dict[str, Any]] = []
    for case in cases:
        failing.extend(_excerpts(case))
    return {
        "note": HONESTY,
        "run_id": manifest.run_id,
        "status": manifest.status,
        "counselor_model": manifest.models.get("counselor"),
        "client_model": manifest.models.get("client"),
        "critic_model": manifest.models.get("critic"),
        "simulator_offline": manifest.offline,
        "sessions": len(records),
        "sessions_per_scenario": manifest.settings.get("sessions"),
        "not_run": {
            "sessions": len(failures),
            "causes": dict(Counter(f.cause for f in failures.values())),
            "case_ids": sorted(failures),
        },
        "overall": _block(records),
        "suites": suites,
        "failing": failing,
    }
