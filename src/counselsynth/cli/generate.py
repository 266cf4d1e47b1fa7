"""`counselsynth generate`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from counselsynth.cli.app import FrameworkDirs, MaxFailures, OutageTimeout, app, err, out, reports_errors, say_error
from counselsynth.errors import InputError, UnknownNameError
from counselsynth.settings import AUTO, default_of
from counselsynth.vocabulary import ON_MISMATCH, OnMismatch

if TYPE_CHECKING:
    from counselsynth.models import RunManifest

Opt = typer.Option


def _shows_default(text: str, setting: str) -> str:
    # The option itself defaults to None so that a --config file can set it; the help shows the
    # run's real default, taken from RunSettings.
    return f"{text} [default: {default_of(setting)}]"


@app.command()
@reports_errors
def generate(
    personas: Annotated[Path, typer.Argument(help="A persona file (YAML/JSON/JSONL) or a folder of them.")],
    out_dir: Annotated[Path, Opt("--out", help="Output folder for dialogues.jsonl and manifest.json.")],
    framework: Annotated[
        str | None,
        Opt(
            help=_shows_default(
                "Framework id; a list such as mi,cbt,pct gives each persona one of them (balanced, seeded); "
                f"'{AUTO}' follows each persona.",
                "framework",
            )
        ),
    ] = None,
    each_framework: Annotated[
        bool | None,
        Opt(
            "--each-framework",
            help="One case per persona and framework: those of --framework, or every framework. [default: off]",
        ),
    ] = None,
    sessions: Annotated[int | None, Opt(min=1, max=50, help=_shows_default("Sessions per case.", "sessions"))] = None,
    seed: Annotated[int | None, Opt(help=_shows_default("Seed; the same seed gives the same corpus.", "seed"))] = None,
    limit: Annotated[int | None, Opt(min=1, help="Use only the first K personas.")] = None,
    max_revisions: Annotated[
        int | None, Opt(min=0, max=10, help=_shows_default("Critic revisions per session.", "max_revisions"))
    ] = None,
    on_mismatch: Annotated[
        str | None,
        Opt(
            help=_shows_default(
                f"A counselor turn whose text does not perform its code ({'|'.join(ON_MISMATCH)}): "
                "regenerate the session (within --max-revisions, then relabel), relabel it with the code "
                "the critic reads, or flag it. LLM runs only.",
                "on_mismatch",
            )
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        Opt(
            min=1,
            max=1024,
            help=_shows_default("LLM requests in flight at once (offline: cases).", "concurrency"),
        ),
    ] = None,
    workers: Annotated[int, Opt(min=0, max=64, help="Offline engine processes; 0 = one per core.")] = 0,
    language: Annotated[
        str | None,
        Opt(help="Generate in this language (e.g. sw) with localized personas; see `augment --list-languages`."),
    ] = None,
    model: Annotated[str | None, Opt(help="Any litellm model string; without it the offline engine runs.")] = None,
    api_base: Annotated[str | None, Opt(help="Endpoint for self-hosted models (vLLM, Ollama, ...).")] = None,
    api_key_env: Annotated[str | None, Opt(help="Environment variable that holds the API key.")] = None,
    planner_model: Annotated[str | None, Opt(help="Model for the planner only.")] = None,
    counselor_model: Annotated[str | None, Opt(help="Model for the counselor only.")] = None,
    client_model: Annotated[str | None, Opt(help="Model for the client only.")] = None,
    critic_model: Annotated[str | None, Opt(help="Model for the critic only.")] = None,
    summarizer_model: Annotated[str | None, Opt(help="Model for the summarizer only.")] = None,
    timeout: Annotated[float | None, Opt(help="Seconds per LLM call. [default: 60]")] = None,
    rpm: Annotated[int | None, Opt(help="Requests per minute allowed per model.")] = None,
    tpm: Annotated[int | None, Opt(help="Tokens per minute allowed per model.")] = None,
    max_failures: MaxFailures = None,
    outage_timeout: OutageTimeout = None,
    config: Annotated[Path | None, Opt("--config", help="Run-config YAML with the same settings.")] = None,
    resume: Annotated[bool, Opt(help="Continue an interrupted run (the same command without it does too).")] = False,
    shard: Annotated[str | None, Opt(help="i/n: generate only this machine's share of the personas.")] = None,
    skip_invalid: Annotated[bool, Opt(help="Generate from the valid personas; report the rest.")] = False,
    frameworks_dir: FrameworkDirs = None,
    prompts_dir: Annotated[
        list[Path] | None, Opt("--prompts-dir", help="Extra prompt folder that overrides shipped templates.")
    ] = None,
) -> None:
    """Generate annotated multi-session dialogues from personas (offline engine by default)."""
    # Imported here so that `--help` and the other commands do not pay for LangGraph.
    from counselsynth.cli.progress import finish, run_with_progress
    from counselsynth.failures import parse_max_failures
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runconfig import build_engine, load_run_config
    from counselsynth.runner import Generation

    run_config = load_run_config(config).merged(
        framework=framework,
        each_framework=each_framework,
        sessions=sessions,
        seed=seed,
        limit=limit,
        max_revisions=max_revisions,
        on_mismatch=_checked_on_mismatch(on_mismatch),
        concurrency=concurrency,
        language=language,
        model=model,
        api_base=api_base,
        api_key_env=api_key_env,
        planner_model=planner_model,
        counselor_model=counselor_model,
        client_model=client_model,
        critic_model=critic_model,
        summarizer_model=summarizer_model,
        timeout=timeout,
        rpm=rpm,
        tpm=tpm,
        max_failures=max_failures,
        outage_timeout=outage_timeout,
    )
    budget = parse_max_failures(None if run_config.max_failures is None else str(run_config.max_failures))
    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(personas, catalog.frameworks, collect=skip_invalid)
    for problem in loaded.problems:
        say_error(problem, "skipped")
    settings = run_config.run_settings(out_dir, workers=workers, shard=_parse_shard(shard), resume=resume)
    engine = build_engine(run_config, out_dir)
    engine.preflight()
    generation = Generation(loaded, catalog, PromptLibrary(prompts_dir or []), engine, settings)
    generation.failure_budget = budget
    result = run_with_progress("generating", generation)
    _print_summary(result.manifest, out_dir)
    if loaded.problems:
        err.print(f"{len(loaded.problems)} invalid persona record(s) skipped", markup=False)
    finish(result)


def _labels_line(manifest: RunManifest) -> str:
    if manifest.offline:
        return "labels: the offline phrasebank's codes, correct by construction and not verified"
    counts = manifest.counts
    kinds = ("verified", "relabelled", "flagged", "unverified")
    told = ", ".join(f"{counts.get(f'turns_{kind}', 0)} {kind}" for kind in kinds)
    return f"counselor labels: {told}; {counts.get('turns_regenerated', 0)} mismatched turns regenerated"


def _checked_on_mismatch(value: str | None) -> OnMismatch | None:
    if value is not None and value not in ON_MISMATCH:
        raise UnknownNameError("--on-mismatch policy", value, ON_MISMATCH)
    return value


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must look like i/n (e.g. 0/4), got '{text}'") from None
    if not 0 <= index < count:
        raise InputError(f"--shard {text}: need 0 <= i < n")
    return index, count


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0%}" if percent else f"{value:.2f}"


def _print_summary(manifest: RunManifest, out_dir: Path) -> None:
    from rich.table import Table

    from counselsynth.cli.progress import print_usage

    counts = {key: manifest.counts.get(key, 0) for key in ("cases", "sessions", "turns", "revisions")}
    passed = manifest.counts.get("sessions_passed", 0)
    label = "offline engine (not an LLM)" if manifest.offline else manifest.engine
    out.print(
        f"{counts['cases']} cases, {counts['sessions']} sessions, {counts['turns']} turns with {label}; "
        f"{passed}/{counts['sessions']} sessions passed the critic after "
        f"{counts['revisions']} revisions; {manifest.counts.get('safety_sessions', 0)} sessions with the "
        f"safety protocol; {manifest.timings['cases_per_second']} cases/s",
        highlight=False,
    )
    out.print(_labels_line(manifest), highlight=False)
    for warning in manifest.warnings:
        out.print(f"note: {warning}", highlight=False)
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
    print_usage(manifest)
    out.print(f"wrote {out_dir / 'dialogues.jsonl'} and {out_dir / 'manifest.json'}", highlight=False)
