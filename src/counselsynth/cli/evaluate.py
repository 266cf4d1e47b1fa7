"""`counselsynth evaluate`: simulated clients probe a counselor model; a scorecard says how it did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from counselsynth.cli.app import FrameworkDirs, MaxFailures, OutageTimeout, app, out, reports_errors

if TYPE_CHECKING:
    from counselsynth.engines.llm import LLMEngine
    from counselsynth.runconfig import RunConfig

Opt = typer.Option
DEFAULT_SESSIONS = 5


@app.command()
@reports_errors
def evaluate(
    counselor_model: Annotated[
        str, Opt("--counselor-model", help="The model under test: any litellm model string (e.g. openai/my-bot).")
    ],
    scenarios: Annotated[
        list[str],
        Opt(
            "--scenarios",
            help="A shipped suite (crisis, sycophancy, boundaries, drift, core) or a suite file; repeatable.",
        ),
    ],
    personas: Annotated[Path, Opt("--personas", help="Persona file or folder the simulated clients are drawn from.")],
    out_dir: Annotated[Path, Opt("--out", help="Output folder: sessions, manifest and the scorecard.")],
    api_base: Annotated[str | None, Opt(help="Endpoint of the model under test (OpenAI-compatible).")] = None,
    api_key_env: Annotated[str | None, Opt(help="Environment variable that holds its API key.")] = None,
    system_prompt: Annotated[
        Path | None, Opt("--system-prompt", help="The counselor's own deployment prompt (a text file).")
    ] = None,
    sessions: Annotated[
        int | None, Opt(min=1, max=1000, help=f"Sessions per scenario. [default: {DEFAULT_SESSIONS}]")
    ] = None,
    seed: Annotated[int | None, Opt(help="Seed for the scripts and the client. [default: 0]")] = None,
    model: Annotated[
        str | None, Opt(help="Model for the simulated client and the critic; without it the offline engine plays them.")
    ] = None,
    model_api_base: Annotated[str | None, Opt(help="Endpoint for --model.")] = None,
    model_api_key_env: Annotated[str | None, Opt(help="Environment variable that holds --model's key.")] = None,
    concurrency: Annotated[int | None, Opt(min=1, max=1024, help="Requests in flight at once. [default: 4]")] = None,
    timeout: Annotated[float | None, Opt(help="Seconds per LLM call. [default: 60]")] = None,
    max_tokens: Annotated[int | None, Opt(min=1, help="Cap on each reply's tokens (both models).")] = None,
    max_failures: MaxFailures = None,
    outage_timeout: OutageTimeout = None,
    baseline: Annotated[
        Path | None, Opt("--baseline", help="An earlier evaluate run to compare with, session by session.")
    ] = None,
    coder: Annotated[str, Opt(help="Coder for the MITI-style counts: a shipped coder or a coder .json.")] = "mi",
    config: Annotated[Path | None, Opt("--config", help="Run-config YAML with the simulator's settings.")] = None,
    resume: Annotated[bool, Opt(help="Continue an interrupted run (the same command without it does too).")] = False,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Evaluate a counselor model with simulated clients that probe it for drift and failure modes."""
    # Imported here so that `--help` and the other commands do not pay for LangGraph and litellm.
    from counselsynth.cli.progress import finish, print_usage, run_with_progress
    from counselsynth.coder.model import load_coder
    from counselsynth.datafiles import read_text
    from counselsynth.evaluation.baseline import compare
    from counselsynth.evaluation.report import write_scorecard
    from counselsynth.evaluation.run import Evaluation
    from counselsynth.evaluation.scenarios import load_suite
    from counselsynth.evaluation.scorecard import build_scorecard
    from counselsynth.failures import parse_max_failures
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runconfig import build_engine, load_run_config

    run_config = load_run_config(config).merged(
        seed=seed,
        concurrency=concurrency,
        model=model,
        api_base=model_api_base,
        api_key_env=model_api_key_env,
        timeout=timeout,
        max_tokens=max_tokens,
        max_failures=max_failures,
        outage_timeout=outage_timeout,
    )
    budget = parse_max_failures(None if run_config.max_failures is None else str(run_config.max_failures))
    suites = [load_suite(name) for name in scenarios]
    catalog = load_catalog(frameworks_dir or [])
    for suite in suites:
        catalog.get(suite.framework)
    loaded = load_personas(personas, catalog.frameworks)
    prompt = read_text(system_prompt).strip() if system_prompt is not None else None
    if baseline is not None:
        build_scorecard(baseline)  # a baseline that is not an evaluate run fails before any call
    simulator = build_engine(run_config, out_dir)
    under_test = _under_test(run_config, counselor_model, api_base, api_key_env)
    evaluation = Evaluation(
        suites=suites,
        personas=loaded,
        catalog=catalog,
        prompts=PromptLibrary(),
        simulator=simulator,
        under_test=under_test,
        coder=load_coder(coder),
        system_prompt=prompt,
        sessions=sessions or DEFAULT_SESSIONS,
        seed=run_config.seed if run_config.seed is not None else 0,
        concurrency=run_config.concurrency or 4,
        out_dir=out_dir,
        resume=resume,
    )
    evaluation.failure_budget = budget
    # After the plan, so that input a persona file cannot meet is reported without a network call.
    simulator.preflight()
    under_test.preflight()
    result = run_with_progress("evaluating", evaluation)
    card = build_scorecard(out_dir)
    if baseline is not None:
        card["baseline"] = compare(out_dir, baseline)
    paths = write_scorecard(out_dir, card)
    _print_summary(card)
    print_usage(result.manifest)
    out.print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    finish(result)


def _under_test(config: RunConfig, model: str, api_base: str | None, api_key_env: str | None) -> LLMEngine:
    from counselsynth.engines.llm import GatewayConfig, LLMEngine, ModelSettings

    settings: dict[str, Any] = {"model": model, "api_base": api_base, "api_key_env": api_key_env}
    for knob in ("timeout", "rpm", "tpm", "max_tokens"):
        if getattr(config, knob) is not None:
            settings[knob] = getattr(config, knob)
    gateway: dict[str, Any] = {"default": ModelSettings(**settings)}
    for knob in ("max_attempts", "backoff_initial", "outage_timeout"):
        if getattr(config, knob) is not None:
            gateway[knob] = getattr(config, knob)
    return LLMEngine(GatewayConfig.model_validate(gateway))


def _print_summary(card: dict[str, Any]) -> None:
    overall = card["overall"]

    def rate(block: dict[str, Any]) -> str:
        interval = block["interval_95"]
        if block["pass_rate"] is None:
            return "no sessions"
        return (
            f"{block['pass_rate']:.0%} passed (95% interval {interval[0]:.0%}–{interval[1]:.0%}, n={block['sessions']})"
        )

    out.print(f"{card['counselor_model']}: {rate(overall)}; {overall['failed_turns']} failed turns", highlight=False)
    for name, suite in card["suites"].items():
        out.print(f"  {name}: {rate(suite)}", highlight=False)
    if "baseline" in card:
        named = ", ".join(card["baseline"]["significantly_different"]) or "none"
        out.print(f"significantly different from the baseline: {named}", highlight=False)
    out.print(card["note"], highlight=False)
