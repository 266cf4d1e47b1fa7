"""Write a fidelity report: fidelity.json, fidelity.md and PNG figures, each file atomically.

fidelity.json holds `overall` (pass/fail), `metrics` ({name, axis, value, band: [lo, hi],
verdict: pass|fail|n/a, note}, plus label, reference value, p-value and direction), the
reference's citation and license note, the method, and a summary that names the axes that are off
and in which direction. Other commands (the dataset card) read RUN_DIR/fidelity/fidelity.json, so
`--out RUN_DIR/fidelity` is the usual place.
"""

from __future__ import annotations

import json
from pathlib import Path

from counselsynth.corpus import write_atomic
from counselsynth.fidelity import plots
from counselsynth.fidelity.check import FidelityReport
from counselsynth.fidelity.metrics import MetricResult
from counselsynth.fidelity.settings import AXES

REPORT_JSON = "fidelity.json"
REPORT_MD = "fidelity.md"
FIGURES = {
    "distributions": "distributions.png",
    "code_mix": "code_mix.png",
    "positional": "positional.png",
    "emotion_arc": "emotion_arc.png",
}


def write_report(report: FidelityReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_name = {m.name: m for m in report.metrics}
    plots.distributions(report.corpus, report.reference, by_name, out_dir / FIGURES["distributions"])
    plots.code_mix(by_name["code_mix_jsd"], out_dir / FIGURES["code_mix"])
    thirds = [by_name[f"code_mix_{part}_third"] for part in ("first", "middle", "last")]
    plots.positional(thirds, out_dir / FIGURES["positional"])
    plots.emotion_arc(report.corpus, report.reference, out_dir / FIGURES["emotion_arc"])
    figures = list(FIGURES.values())
    write_atomic(out_dir / REPORT_MD, markdown(report, figures))
    # The JSON goes last: its presence means the report is complete.
    write_atomic(out_dir / REPORT_JSON, json.dumps(report.plain(figures), indent=2, ensure_ascii=False) + "\n")
    return [out_dir / REPORT_JSON, out_dir / REPORT_MD, *(out_dir / f for f in figures)]


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if abs(value) >= 10 else f"{value:.3f}"


def _band(metric: MetricResult) -> str:
    return f"[{_number(metric.band[0])}, {_number(metric.band[1])}]" if metric.band else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: FidelityReport, figures: list[str]) -> str:
    reference = report.reference
    citation = reference.reference
    lines = [
        f"# Fidelity report: {report.corpus_dir.name}",
        "",
        f"**Overall: {report.overall.upper()}** against reference `{reference.name}`"
        f" ({reference.cases} cases, {reference.session_count} sessions).",
        "",
        f"Corpus: `{report.corpus_dir}`, {report.corpus.cases} cases, {report.corpus.session_count} sessions, "
        f"frameworks {', '.join(f'{k} ({v})' for k, v in report.corpus.frameworks.items())}, "
        f"language `{report.corpus.language}`.",
        "",
        "## Summary",
        "",
        *[f"- {line}" for line in report.summary()],
        *[f"- **Warning:** {line}" for line in report.warnings()],
        "",
    ]
    for axis in AXES:
        metrics = [m for m in report.metrics if m.axis == axis]
        if not metrics:
            continue
        lines += [
            f"## {axis.capitalize()}",
            "",
            "| metric | corpus | reference | band (pass) | verdict | note |",
            "|---|---|---|---|---|---|",
        ]
        for m in metrics:
            verdict = m.verdict if m.verdict != "fail" or not m.direction else f"fail: {m.direction}"
            lines.append(
                f"| {_cell(m.label)} | {_number(m.value)} | {_number(m.reference)} | {_band(m)} | "
                f"{_cell(verdict)} | {_cell(m.note)} |"
            )
        lines.append("")
    lines += ["## Figures", "", *[f"![{name}]({name})" for name in figures], ""]
    level = report.settings.alpha / max(1, report.tested)
    lines += [
        "## Method",
        "",
        "Every metric compares two samples of dialogues and accounts for the variability of both: the unit "
        "is the case (a real transcript, or a generated multi-session case). A metric fails when the "
        "difference between corpus and reference exceeds the metric's tolerance by more than the one-sided "
        "critical value times the standard error of the difference (a minimum-effect test). Ratio metrics "
        "use case-clustered delta-method standard errors with Welch-Satterthwaite degrees of freedom; the "
        "spread of session lengths and the code-mix divergences use a Poisson case bootstrap; distinct-n is "
        "taken on equal token budgets. The band is the range of corpus values that would pass.",
        "",
        f"The overall verdict allows for the number of metrics tested: {report.tested} metrics at "
        f"family-wise alpha {report.settings.alpha} (Bonferroni, {level:.4f} per metric). A metric that "
        "cannot be computed is n/a, with the reason in its note.",
        "",
    ]
    if citation is not None:
        lines += [
            "## Reference data",
            "",
            f"{citation.corpus}: {citation.citation}",
            "",
            f"License: {citation.license}",
            "",
        ]
    return "\n".join(lines)
