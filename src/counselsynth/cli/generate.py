"""`counselsynth generate`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from counselsynth.cli.app import FrameworkDirs, app, err, out, reports_errors
from counselsynth.engines import OfflineEngine
from counselsynth.frameworks import load_catalog
from counselsynth.models import Case, RunManifest
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runner import AUTO, Generation, RunSettings


@app.command()
@reports_errors
def generate(
    personas: Annotated[Path, typer.Argument(help="A persona file (YAML/JSON/JSONL) or a folder of them.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder for dialogues.jsonl and manifest.json.")],
    framework: Annotated[str, typer.Option(help="Framework id, or 'auto' to follow each persona.")] = AUTO,
    sessions: Annotated[int, typer.Option(min=1, max=50, help="Sessions per case.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same corpus.")] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first K personas.")] = None,
    max_revisions: Annotated[int, typer.Option(min=0, max=10, help="Critic revisions per session.")] = 2,
    concurrency: Annotated[int, typer.Option(min=1, max=1024, help="Cases in flight at once.")] = 8,
    workers: Annotated[
        int, typer.Option(min=0, max=64, help="Offline engine processes; 0 = one per core.")
    ] = 0,
    skip_invalid: Annotated[bool, typer.Option(help="Generate from the valid personas; report the rest.")] = False,
    frameworks_dir: FrameworkDirs = None,
    prompts_dir: Annotated[
        list[Path] | None, typer.Option("--prompts-dir", help="Extra prompt folder that overrides shipped templates.")
    ] = None,
) -> None:
    """Generate annotated multi-session dialogues from personas (offline engine by default)."""
    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(personas, catalog.frameworks, collect=skip_invalid)
    for problem in loaded.problems:
        err.print(f"skipped: {problem}", markup=False, highlight=False, soft_wrap=True)
    settings = RunSettings(
        out_dir=out_dir,
        framework=framework,
        sessions=sessions,
        seed=seed,
        limit=limit,
        max_revisions=max_revisions,
        concurrency=concurrency,
        workers=workers,
    )
    engine = OfflineEngine()
    with Progress(
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[usage]}"),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("cases", total=None, usage="")
        calls = 0

        def advance(case: Case) -> None:
            nonlocal calls
            calls += sum(u.calls for u in case.usage.values())
            progress.update(task, advance=1, usage=f"{calls} engine calls")

        generation = Generation(loaded, catalog, PromptLibrary(prompts_dir or []), engine, settings, on_case=advance)
        progress.update(task, total=len(generation.plans))
        result = asyncio.run(generation.run())
    _print_summary(result.manifest, out_dir)
    if loaded.problems:
        err.print(f"{len(loaded.problems)} invalid persona record(s) skipped", markup=False)


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def _print_summary(manifest: RunManifest, out_dir: Path) -> None:
    counts = manifest.counts
    label = "offline engine (not an LLM)" if manifest.offline else manifest.engine
    out.print(
        f"{counts['cases']} cases, {counts['sessions']} sessions, {counts['turns']} turns with {label}; "
        f"{counts['sessions_passed']}/{counts['sessions']} sessions passed the critic after "
        f"{counts['revisions']} revisions; {counts['safety_sessions']} sessions with the safety protocol; "
        f"{manifest.timings['cases_per_second']} cases/s",
        highlight=False,
    )
    table = Table(
        "framework",
        "R:Q",
        "% complex refl.",
        "% open questions",
        "% MI-adherent",
        title="Counselor code statistics (MITI 4.2 summary scores)",
    )
    frameworks = sorted({key.split(".")[0] for key in manifest.code_statistics})
    for framework in frameworks:
        stat = manifest.code_statistics
        table.add_row(
            framework,
            _fmt(stat[f"{framework}.r_to_q"]),
            _fmt(stat[f"{framework}.pct_complex_reflections"], True),
            _fmt(stat[f"{framework}.pct_open_questions"], True),
            _fmt(stat[f"{framework}.pct_mi_adherent"], True),
        )
    out.print(table)
    out.print(f"wrote {out_dir / 'dialogues.jsonl'} and {out_dir / 'manifest.json'}", highlight=False)
