"""`counselsynth augment`: translate a finished run into another language, behind quality gates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from counselsynth.cli.app import MaxFailures, OutageTimeout, app, out, reports_errors
from counselsynth.errors import InputError

if TYPE_CHECKING:
    from rich.table import Table

    from counselsynth.engines.llm import LLMEngine
    from counselsynth.models import GateTally, RunManifest
    from counselsynth.runconfig import RunConfig

Opt = typer.Option


@app.command()
@reports_errors
def augment(
    run_dir: Annotated[
        Path | None, typer.Argument(help="A finished run folder (dialogues.jsonl + manifest.json).")
    ] = None,
    to: Annotated[str, Opt("--to", help="Target language code, e.g. fa, sw, am (see --list-languages).")] = "",
    out_dir: Annotated[Path | None, Opt("--out", help="New folder for the translated run.")] = None,
    culture: Annotated[str | None, Opt(help="A note on the cultural setting, passed to the translator.")] = None,
    model: Annotated[str | None, Opt(help="Any litellm model string (augment needs a model).")] = None,
    api_base: Annotated[str | None, Opt(help="Endpoint for self-hosted models (vLLM, Ollama, ...).")] = None,
    api_key_env: Annotated[str | None, Opt(help="Environment variable that holds the API key.")] = None,
    concurrency: Annotated[int | None, Opt(min=1, max=1024, help="LLM requests in flight. [default: 8]")] = None,
    seed: Annotated[int | None, Opt(help="Seed for names, places and the back-translation sample.")] = None,
    limit: Annotated[int | None, Opt(min=1, help="Translate only the first K cases.")] = None,
    timeout: Annotated[float | None, Opt(help="Seconds per LLM call. [default: 60]")] = None,
    rpm: Annotated[int | None, Opt(help="Requests per minute allowed per model.")] = None,
    tpm: Annotated[int | None, Opt(help="Tokens per minute allowed per model.")] = None,
    max_failures: MaxFailures = None,
    outage_timeout: OutageTimeout = None,
    config: Annotated[Path | None, Opt("--config", help="Run-config YAML (model, api_base, limits, ...).")] = None,
    resume: Annotated[bool, Opt(help="Continue an interrupted augment run.")] = False,
    list_languages: Annotated[bool, Opt("--list-languages", help="List the target languages and exit.")] = False,
) -> None:
    """Translate a run turn by turn into another language, keeping every annotation."""
    # Imported here so that `--help` and the other commands do not pay for the translation stack.
    from counselsynth.augment.run import Augmentation, AugmentSettings
    from counselsynth.cli.progress import finish, run_with_progress
    from counselsynth.failures import parse_max_failures
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runconfig import load_run_config

    if list_languages:
        _print_languages()
        return
    if run_dir is None:
        raise InputError("RUN_DIR is required: the finished run to translate")
    if not to:
        raise InputError("--to LANG is required (see --list-languages)")
    if out_dir is None:
        raise InputError("--out DIR is required: the translated run is a new run folder")
    run_config = load_run_config(config).merged(
        model=model,
        api_base=api_base,
        api_key_env=api_key_env,
        concurrency=concurrency,
        seed=seed,
        limit=limit,
        timeout=timeout,
        rpm=rpm,
        tpm=tpm,
        max_failures=max_failures,
        outage_timeout=outage_timeout,
    )
    # Only what was given: AugmentSettings holds the defaults, as RunSettings does for generate.
    given = {k: v for k, v in (("seed", run_config.seed), ("concurrency", run_config.concurrency)) if v is not None}
    settings = AugmentSettings(
        source_dir=run_dir,
        out_dir=out_dir,
        target=to,
        culture=culture,
        limit=run_config.limit,
        resume=resume,
        **given,
    )
    if run_config.model is None and run_config.router is None:
        raise InputError(
            "augment needs a model: the offline engine cannot translate; "
            "pass --model (any litellm model string) or set model: in --config"
        )
    augmentation = Augmentation(settings, _engine(run_config, out_dir), PromptLibrary())
    augmentation.failure_budget = parse_max_failures(
        None if run_config.max_failures is None else str(run_config.max_failures)
    )
    augmentation.engine.preflight()
    result = run_with_progress(f"translating to {to}", augmentation)
    _print_summary(result.manifest, out_dir)
    finish(result)


def _engine(run_config: RunConfig, out_dir: Path) -> LLMEngine:
    from counselsynth.engines.llm import LLMEngine
    from counselsynth.runconfig import build_engine

    engine = build_engine(run_config, out_dir)
    assert isinstance(engine, LLMEngine)
    return engine


def _print_languages() -> None:
    from rich.table import Table

    from counselsynth.languages import catalogue

    table = Table("code", "language", "scripts", "names from", "tokens", "identifier", title="Target languages")
    for code, lang in sorted(catalogue().items()):
        table.add_row(
            code,
            f"{lang.name} ({lang.native})",
            "/".join(lang.scripts),
            lang.locale,
            lang.segmentation,
            lang.langid or "-",
        )
    out.print(table)


def gate_table(gates: dict[str, GateTally]) -> Table:
    from rich.table import Table

    from counselsynth.models import in_table_order

    table = Table("gate", "checked", "rejected", "flagged", "flagged %", "chrF", title="Quality gates")
    for name, tally in in_table_order(gates):
        share = f"{tally.flagged / tally.checked:.1%}" if tally.checked else "-"
        score = "-" if tally.mean_score is None else f"{tally.mean_score:.1f}"
        table.add_row(name, str(tally.checked), str(tally.failed_attempts), str(tally.flagged), share, score)
    return table


def _print_summary(manifest: RunManifest, out_dir: Path) -> None:
    from counselsynth.augment.gates import chrf_signature
    from counselsynth.cli.progress import print_usage

    counts = manifest.counts
    out.print(
        f"{counts.get('cases', 0)} cases, {counts.get('sessions', 0)} sessions, {counts.get('turns', 0)} turns "
        f"translated to '{manifest.settings['target']}' with {manifest.models['translator']}",
        highlight=False,
    )
    out.print(gate_table(manifest.gates))
    out.print(
        f"rejected: answers re-asked; flagged: still failing after the retries; chrF: mean back-translation "
        f"score (sacrebleu {chrf_signature()})",
        highlight=False,
    )
    print_usage(manifest)
    for skipped in manifest.skipped:
        out.print(f"not translated: {skipped}", highlight=False)
    out.print(f"wrote {out_dir / 'dialogues.jsonl'} and {out_dir / 'manifest.json'}", highlight=False)
