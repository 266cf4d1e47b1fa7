"""The scorecard as files: scorecard.json, a readable scorecard.md that quotes the failing turns,
and drift.png, the rubric's mean by window of turns for each suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from counselsynth.corpus import write_atomic
from counselsynth.evaluation.scorecard import EXCERPTS_PER_SCENARIO, SCORECARD

SCORECARD_MD = "scorecard.md"
DRIFT_PNG = "drift.png"
QUOTE_CHARS = 300


def write_scorecard(out_dir: Path, card: dict[str, Any]) -> list[Path]:
    paths = [out_dir / SCORECARD, out_dir / SCORECARD_MD]
    if any(suite["drift"] for suite in card["suites"].values()):
        plot_drift(card, out_dir / DRIFT_PNG)
        paths.append(out_dir / DRIFT_PNG)
    write_atomic(paths[0], json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    write_atomic(paths[1], markdown(card, drift=len(paths) == 3))
    return paths


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _interval(block: dict[str, Any]) -> str:
    interval = block["interval_95"]
    return "n/a" if interval is None else f"{interval[0]:.0%}–{interval[1]:.0%}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(card: dict[str, Any], *, drift: bool) -> str:
    overall = card["overall"]
    simulator = "the offline engine (template text, not an LLM)" if card["simulator_offline"] else card["client_model"]
    lines = [
        f"# Scorecard: {card['counselor_model']}",
        "",
        f"> {card['note']}",
        "",
        f"- Counselor under test: `{card['counselor_model']}`",
        f"- Simulated client: {simulator}; critic: `{card['critic_model']}`",
        f"- Sessions: {card['sessions']} ({card['sessions_per_scenario']} per scenario); "
        f"not run (simulator failures): {card['not_run']['sessions']}",
        f"- Counselor replies not produced (failed turns, counted as failures): {overall['failed_turns']}",
        f"- **Overall pass rate: {_pct(overall['pass_rate'])}** (95% interval {_interval(overall)}, "
        f"{overall['passed']} of {overall['sessions']} sessions)",
        "",
        "| suite | sessions | pass rate | 95% interval | R:Q | % complex refl. | % open q. |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, suite in card["suites"].items():
        miti = suite["miti"]
        lines.append(
            f"| {name} | {suite['sessions']} | {_pct(suite['pass_rate'])} | {_interval(suite)} | "
            f"{_number(miti['r_to_q'])} | {_pct(miti['pct_complex_reflections'])} | "
            f"{_pct(miti['pct_open_questions'])} |"
        )
    if "baseline" in card:
        lines += ["", *baseline_lines(card["baseline"])]
    for name, suite in card["suites"].items():
        lines += ["", f"## {name}", "", "| scenario | sessions | pass rate | 95% interval | failing checks |"]
        lines.append("|---|---|---|---|---|")
        for scenario, block in suite["scenarios"].items():
            weak = [f"{c} ({_pct(v['pass_rate'])})" for c, v in block["checks"].items() if v["pass_rate"] < 1]
            lines.append(
                f"| {scenario} | {block['sessions']} | {_pct(block['pass_rate'])} | {_interval(block)} | "
                f"{', '.join(weak) or '—'} |"
            )
        lines += ["", "Checks: " + "; ".join(f"{c} {_pct(v['pass_rate'])}" for c, v in suite["checks"].items())]
        if suite["drift"]:
            curve = ", ".join(f"turns {w['turns']}: {w['mean']}" for w in suite["drift"])
            lines += ["", f"Rubric mean by window (drift curve): {curve}"]
    if drift:
        lines += ["", f"![drift curve]({DRIFT_PNG})"]
    lines += ["", "## Failing turns", ""]
    lines += _failing(card["failing"]) or ["No check failed."]
    return "\n".join(lines) + "\n"


def _failing(failing: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    shown: dict[str, int] = {}
    for item in failing:
        scenario = item["case_id"].rsplit(".", 1)[0]
        shown[scenario] = shown.get(scenario, 0) + 1
        if shown[scenario] > EXCERPTS_PER_SCENARIO:
            continue
        lines += [f"**{item['case_id']}** failed `{item['check']}`: {item['detail']}", ""]
        for turn in item["turns"]:
            text = " ".join(turn["text"].split())
            text = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"
            lines.append(f"> turn {turn['turn']} ({turn['speaker']}): {text}")
        lines.append("")
    hidden = sum(max(0, n - EXCERPTS_PER_SCENARIO) for n in shown.values())
    if hidden:
        lines.append(f"({hidden} more failures are listed in {SCORECARD})")
    return lines


def baseline_lines(comparison: dict[str, Any]) -> list[str]:
    lines = [
        f"## Against the baseline `{comparison['baseline_model']}` ({comparison['baseline_dir']})",
        "",
        f"Paired by session ({comparison['method']}); significant at family-wise α = {comparison['alpha']} "
        "(Holm over the suites).",
        "",
        "| suite | pairs | baseline | this run | difference | p | significant |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in comparison["suites"].items():
        lines.append(
            f"| {name} | {row['pairs']} | {_pct(row['baseline_rate'])} | {_pct(row['rate'])} | "
            f"{row['difference']:+.0%} | {row['p_value']:.3g} | {'yes' if row['significant'] else 'no'} |"
        )
    return lines


def plot_drift(card: dict[str, Any], path: Path) -> None:
    # Imported here: matplotlib costs a second to import, and only a run with rubric windows plots.
    import matplotlib.pyplot as plt

    from counselsynth.fidelity.plots import save_figure  # sets the Agg backend first

    figure, axes = plt.subplots(figsize=(7, 4), layout="constrained")
    for name, suite in card["suites"].items():
        if suite["drift"]:
            firsts = [w["first"] for w in suite["drift"]]
            axes.plot(firsts, [w["mean"] for w in suite["drift"]], marker="o", label=name)
    axes.set_xlabel("first counselor turn of the window")
    axes.set_ylabel("critic's rubric mean")
    axes.set_title(f"Drift: {card['counselor_model']}")
    axes.legend()
    save_figure(figure, path)
