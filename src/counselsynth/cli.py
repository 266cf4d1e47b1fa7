"""The `counselsynth` command: parse arguments, call the library, turn errors into one line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from counselsynth.engines import OfflineEngine
from counselsynth.errors import CounselsynthError
from counselsynth.frameworks import load_catalog
from counselsynth.models import Case, RunManifest
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runner import AUTO, Generation, RunSettings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
personas_app = typer.Typer(no_args_is_help=True, help="Check persona files.")
frameworks_app = typer.Typer(no_args_is_help=True, help="Inspect therapy frameworks.")
app.add_typer(personas_app, name="personas")
app.add_typer(frameworks_app, name="frameworks")

out = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

FrameworkDirs = Annotated[
    list[Path] | None,
    typer.Option("--frameworks-dir", help="Extra folder of framework YAML files (repeatable)."),
]


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's errors into one line on stderr and the error's exit code."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CounselsynthError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; finished cases are kept in the output folder", markup=False)
            raise typer.Exit(130) from None

    return wrapper


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


@personas_app.command("validate")
@reports_errors
def personas_validate(
    path: Annotated[Path, typer.Argument(help="A persona file or folder.")],
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Report every problem in a persona file, each with its file, record and field."""
    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(path, catalog.frameworks, collect=True)
    for problem in loaded.problems:
        err.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
    if loaded.problems:
        raise typer.Exit(2)
    out.print(f"ok: {len(loaded.personas)} personas in {len(loaded.files)} file(s)", highlight=False)


@frameworks_app.command("list")
@reports_errors
def frameworks_list(frameworks_dir: FrameworkDirs = None) -> None:
    """List the available frameworks with their phases and codes."""
    catalog = load_catalog(frameworks_dir or [])
    table = Table("id", "name", "phases", "counselor codes", "client codes", "rubric")
    for framework in catalog.frameworks.values():
        table.add_row(
            framework.id,
            framework.name,
            ", ".join(p.id for p in framework.phases),
            ", ".join(framework.code_ids),
            ", ".join(c.id for c in framework.client_codes),
            framework.rubric.name,
        )
    out.print(table)


def main() -> None:
    app(prog_name="counselsynth")


if __name__ == "__main__":
    main()
