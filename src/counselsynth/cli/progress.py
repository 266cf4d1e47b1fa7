"""The live progress bar of a run, with calls, tokens and cost as they add up, and the usage line
of its summary."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from counselsynth.cli.app import err, out
from counselsynth.failures import FAILURES
from counselsynth.models import RunManifest, Usage
from counselsynth.runloop import CaseRun, RunResult, Totals


def run_with_progress(label: str, run: CaseRun[Any]) -> RunResult:
    # The folder is claimed before the bar is drawn, so a refused run prints its one line alone.
    with (
        run.claimed(),
        Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            # Estimated from the recent pace of finished cases; blank until there is one.
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[usage]}"),
            console=err,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("cases", total=len(run.items), usage="")
        total = Usage()

        def advance(case_id: str, tally: Totals) -> None:
            for used in tally.usage.values():
                total.add(used)
            cost = f", ${total.cost_usd:.4f}" if total.cost_usd is not None else ""
            progress.update(
                task,
                advance=1,
                usage=f"{total.calls} calls, {total.prompt_tokens + total.completion_tokens} tokens{cost}",
            )

        def failed(case_id: str) -> None:
            progress.update(task, advance=1)

        run.on_case = advance
        run.on_failure = failed
        result = asyncio.run(run.run())
    if result.resumed:
        err.print(f"resumed: {result.resumed} cases were already finished and were kept", markup=False)
    return result


def print_usage(manifest: RunManifest) -> None:
    total = manifest.usage.get("total")
    if total is None:
        return
    cost = "unknown" if total.cost_usd is None else f"${total.cost_usd:.4f}"
    eff = manifest.efficiency
    resilience = manifest.resilience
    if resilience.get("outage_pauses"):
        out.print(
            f"the endpoint was down {resilience['outage_pauses']:.0f} time(s), "
            f"{resilience.get('outage_seconds', 0):.0f} s in all; the run waited and went on",
            highlight=False,
        )
    if manifest.structured:
        modes = "; ".join(f"{endpoint}: {mode}" for endpoint, mode in manifest.structured.items())
        out.print(f"structured output: {modes}", highlight=False)
    out.print(
        f"usage: {total.calls} calls ({total.retries} retried, {total.repairs} re-asked, "
        f"{total.fixed} replies repaired in place, "
        f"{manifest.counts.get('cache_hits', 0)} from cache), {total.prompt_tokens} prompt + "
        f"{total.completion_tokens} completion tokens, cost {cost}; "
        f"{eff.get('calls_per_session', 0)} calls per session, "
        f"{eff.get('prompt_tokens_per_word', 0)} prompt tokens per word of dialogue, "
        f"prefix share {eff.get('mean_prefix_share', 0):.2f}",
        highlight=False,
    )
    counts = manifest.counts
    out.print(
        f"turn lengths: {counts.get('length_reasks', 0)} replies re-asked for length, "
        f"{counts.get('length_flagged', 0)} turns kept with the flag 'length'",
        highlight=False,
    )


def finish(result: RunResult) -> None:
    """The line on cases finished and failed; exit code 3 when any case failed."""
    counts = result.manifest.counts
    if not result.failed:
        return
    out.print(
        f"{counts.get('cases', 0)} of {counts.get('planned', 0)} cases; {result.failed} failed (see {FAILURES})",
        highlight=False,
    )
    for cause, count in result.manifest.failures.items():
        out.print(f"  {count} × {cause}", highlight=False)
    out.print("run the same command again to retry the failed cases", highlight=False)
    raise typer.Exit(3)
