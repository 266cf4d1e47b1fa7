"""The fidelity check: a corpus against a reference profile, and optionally against real text.

The corpus is measured exactly like the reference was (with the reference profile's measurement
settings), then every metric compares the two; see metrics.py and comparison.py for how.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from counselsynth.errors import InputError
from counselsynth.fidelity.c2st import C2STResult, classifier_test
from counselsynth.fidelity.metrics import MetricResult, compute_metrics
from counselsynth.fidelity.profile import Profile, load_profile, scan_corpus
from counselsynth.fidelity.settings import AXES, CheckSettings, check_settings

Overall = Literal["pass", "fail"]


@dataclass(frozen=True)
class FidelityReport:
    overall: Overall
    corpus: Profile
    reference: Profile
    metrics: list[MetricResult]
    settings: CheckSettings
    corpus_dir: Path
    against: Path | None
    against_cases: int | None

    def scope(self) -> str:
        """Which cases were compared with which reference: the verdict holds for these only."""
        return f"compared {_scope(self.corpus, self.corpus_dir.name)} with the reference {_scope(self.reference)}"

    def warnings(self) -> list[str]:
        """Comparisons of unlike with unlike that the verdict does not refuse but should not hide."""
        corpus, reference = set(self.corpus.frameworks), set(self.reference.frameworks)
        if corpus == reference:
            return []
        extra = sorted(corpus - reference)
        return [
            f"the corpus holds framework{'s' if len(extra) > 1 else ''} {', '.join(extra or sorted(corpus))} "
            f"and the reference {', '.join(sorted(reference))}: the behaviour metrics compare different kinds "
            "of counseling; choose the corpus's cases with --framework"
        ]

    @property
    def tested(self) -> int:
        return sum(m.verdict != "n/a" for m in self.metrics)

    @property
    def failed(self) -> list[MetricResult]:
        return [m for m in self.metrics if m.verdict == "fail"]

    @property
    def suggestive(self) -> list[MetricResult]:
        """Passing metrics whose difference would fail without the adjustment for multiple tests."""
        return [m for m in self.metrics if m.verdict == "pass" and m.direction]

    def off_axes(self) -> dict[str, list[str]]:
        off: dict[str, list[str]] = defaultdict(list)
        for metric in self.failed:
            off[metric.axis].append(metric.direction or metric.label)
        return {axis: off[axis] for axis in AXES if axis in off}

    def summary(self) -> list[str]:
        level = self.settings.alpha / max(1, self.tested)
        failed = self.failed
        lines = (
            []
            if self.corpus.language == self.reference.language
            else [
                f"the corpus is in '{self.corpus.language}' and the reference in '{self.reference.language}': "
                "metrics that count words are n/a; turn structure and code statistics are compared"
            ]
        )
        lines += [
            f"overall {self.overall}: {len(failed)} of {self.tested} metrics tested fail "
            f"(family-wise alpha {self.settings.alpha}, Bonferroni: {level:.4f} per metric); "
            f"{len(self.metrics) - self.tested} metrics n/a",
            self.scope(),
        ]
        for axis, directions in self.off_axes().items():
            lines.append(f"{axis} is off: {'; '.join(directions)}")
        if not failed:
            lines.append("no axis is off")
        if self.suggestive:
            hints = "; ".join(
                f"{m.direction} ({m.label}: {m.value:.3g} vs {m.reference:.3g}, p = {m.p_value:.3g})"
                for m in self.suggestive
                if m.value is not None and m.reference is not None and m.p_value is not None
            )
            lines.append(
                f"suggestive, not failing (beyond tolerance at p < {self.settings.alpha} before the adjustment "
                f"for {self.tested} tests): {hints}"
            )
        return lines

    def plain(self, plots: list[str]) -> dict[str, Any]:
        reference = self.reference
        citation = reference.reference
        return {
            "overall": self.overall,
            "reference": {
                "name": reference.name,
                "description": reference.description,
                "citation": citation.citation if citation else None,
                "license": citation.license if citation else None,
                "corpus": citation.corpus if citation else None,
                "cases": reference.cases,
                "sessions": reference.session_count,
                "frameworks": reference.frameworks,
            },
            "corpus": {
                "path": str(self.corpus_dir),
                "cases": self.corpus.cases,
                "sessions": self.corpus.session_count,
                "frameworks": self.corpus.frameworks,
                "language": self.corpus.language,
            },
            "against": None if self.against is None else {"path": str(self.against), "cases": self.against_cases},
            "method": {
                "alpha": self.settings.alpha,
                "adjustment": "bonferroni",
                "tested": self.tested,
                "per_metric_level": round(self.settings.alpha / max(1, self.tested), 6),
                "test": (
                    "minimum-effect two-sample test per metric: fail when |corpus - reference| exceeds the "
                    "tolerance by more than the critical value times the standard error of the difference, "
                    "which combines both samples' variability (case-clustered)"
                ),
                "settings": self.settings.model_dump(),
            },
            "scope": self.scope(),
            "warnings": self.warnings(),
            "summary": self.summary(),
            "off_axes": self.off_axes(),
            "metrics": [m.plain() for m in self.metrics],
            "plots": plots,
        }


def _scope(profile: Profile, name: str | None = None) -> str:
    frameworks = ", ".join(f"{k} ({v} sessions)" for k, v in profile.frameworks.items())
    return f"'{name or profile.name}' ({profile.cases} cases in '{profile.language}'; frameworks {frameworks})"


def run_check(
    corpus_dir: Path,
    reference: str,
    *,
    against: Path | None = None,
    language: str | None = None,
    framework: str | None = None,
    reference_language: str | None = None,
) -> FidelityReport:
    settings = check_settings()
    profile = load_profile(reference, reference_language)
    measured_with = profile.settings
    scan = scan_corpus(corpus_dir, name=corpus_dir.name, language=language, framework=framework, settings=measured_with)
    corpus = scan.profile
    # Across languages (a translated corpus against its source) only what does not count words is
    # compared: the structure of turns and sessions, and the code statistics.
    for side, cases in (("corpus " + str(corpus_dir), corpus.cases), (f"reference '{profile.name}'", profile.cases)):
        if cases < settings.min_cases:
            raise InputError(f"the {side} holds {cases} cases; the check needs at least {settings.min_cases}")
    c2st: C2STResult | None = None
    against_cases = None
    if against is not None:
        real = scan_corpus(against, name=against.name, settings=measured_with)
        if real.profile.language != corpus.language:
            raise InputError(f"--against {against} is in '{real.profile.language}', the corpus in '{corpus.language}'")
        against_cases = real.profile.cases
        c2st = classifier_test(
            scan.sample,
            real.sample,
            max_per_side=settings.c2st_max_per_side,
            folds=settings.c2st_folds,
            seed=settings.seed,
            replicates=settings.bootstrap,
        )
    # Imported here: the coder loads scikit-learn, which the rest of the check does not need.
    from counselsynth.coder.agreement import corpus_agreement

    agreement = corpus_agreement(corpus_dir, corpus.frameworks, corpus.language, settings.agreement_max_turns)
    metrics = compute_metrics(corpus, profile, settings, c2st, agreement=agreement)
    overall: Overall = "fail" if any(m.verdict == "fail" for m in metrics) else "pass"
    return FidelityReport(overall, corpus, profile, metrics, settings, corpus_dir, against, against_cases)
