"""LLM-path throughput, CPU per call and token economy against the loopback server.

Runs the real pipeline (litellm → loopback OpenAI-compatible server in another process, so its
CPU is not counted) for N cases × 2 sessions at concurrency C with L seconds of latency per call,
then the same number of bare `litellm.acompletion` calls at the same latency and concurrency.

    python bench/llm_throughput.py                       # 200 cases, C=64, L=1.0 (about 11 minutes)
    python bench/llm_throughput.py --cases 40 --latency 0.5
    python bench/llm_throughput.py --cases 60 --fault-rate 0.2   # 20% faults: none lost, none duplicated

Efficiency E = ideal wall time / measured wall time, where the ideal is the larger of the longest
case's sequential calls × L and total calls × L / C. Targets: E >= 0.9 × E_bare; pipeline CPU per
call <= 2 × bare litellm's; one LLM call per counselor turn; prefix share >= 0.9.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
KEY_ENV = "COUNSELSYNTH_BENCH_KEY"
os.environ[KEY_ENV] = "bench-key-not-secret"


def start_server(latency: float, fault_rate: float) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "counselsynth.testing.loopback", "--latency", str(latency), "--stall", "3"]
    if fault_rate:
        command += ["--fault-rate", str(fault_rate)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def make_personas(count: int, path: Path, source: Path) -> None:
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas

    shipped = load_personas(source, load_catalog().frameworks).personas
    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            persona = shipped[index % len(shipped)]
            record = persona.model_dump(mode="json", exclude_none=True) | {"id": f"{persona.id}-{index:04d}"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


async def pipeline(
    base_url: str, cases: int, concurrency: int, out: Path, timeout: float, source: Path
) -> dict[str, float]:
    from counselsynth.frameworks import load_catalog
    from counselsynth.models import Case
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runconfig import RunConfig, build_engine
    from counselsynth.runner import Generation, RunSettings

    personas_file = out.parent / "personas.jsonl"
    make_personas(cases, personas_file, source)
    catalog = load_catalog()
    config = RunConfig(
        model="openai/loopback",
        api_base=base_url,
        api_key_env=KEY_ENV,
        timeout=timeout,
        backoff_initial=0.2,
        max_attempts=10,
    )
    engine = build_engine(config, out)
    settings = RunSettings(out_dir=out, sessions=2, concurrency=concurrency)
    generation = Generation(
        load_personas(personas_file, catalog.frameworks), catalog, PromptLibrary(), engine, settings
    )
    cpu, wall = time.process_time(), time.perf_counter()
    result = await generation.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_case = []
    ids = []
    for line in (out / "dialogues.jsonl").read_text().splitlines():
        case = Case.model_validate_json(line)
        ids.append(case.case_id)
        per_case.append(sum(u.calls + u.retries for u in case.usage.values()))
    manifest = result.manifest
    return {
        "open_cases": generation.open_cases(),
        "wall": wall,
        "cpu": cpu,
        "calls": manifest.usage["total"].calls,
        "attempts": sum(per_case),
        "longest_case_calls": max(per_case),
        "cases_written": len(ids),
        "unique_cases": len(set(ids)),
        **manifest.efficiency,
    }


def realistic_prompts(run: Path, count: int) -> list[list[dict[str, str]]]:
    """Prompts shaped like the pipeline's (a system prompt, the dialogue so far as alternating
    messages, a short instruction), built from the run's own dialogues, so that the bare calls
    carry the same message counts and sizes and only the pipeline's own overhead differs."""
    from counselsynth.models import Case

    prompts: list[list[dict[str, str]]] = []
    for line in (run / "dialogues.jsonl").read_text().splitlines():
        for session in Case.model_validate_json(line).sessions:
            for index in range(len(session.turns)):
                history = [
                    {"role": "assistant" if t.speaker == "counselor" else "user", "content": t.text}
                    for t in session.turns[:index]
                ]
                system = {"role": "system", "content": "You are a counselor. " * 150}
                instruction = {"role": "user", "content": "[evoking] next move: complex_reflection."}
                prompts.append([system, *history, instruction])
    return [prompts[i % len(prompts)] for i in range(count)]


async def bare(
    base_url: str, prompts: list[list[dict[str, str]]], concurrency: int, timeout: float
) -> dict[str, float]:
    import litellm

    litellm.suppress_debug_info = True
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    gate = asyncio.Semaphore(concurrency)

    async def one(messages: list[dict[str, str]]) -> None:
        async with gate:
            await litellm.acompletion(
                model="openai/loopback",
                api_base=base_url,
                api_key=os.environ[KEY_ENV],
                messages=messages,
                timeout=timeout,
                max_retries=0,
                num_retries=0,
                response_format={"type": "json_schema", "json_schema": {"name": "Reply", "schema": schema}},
            )

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(messages) for messages in prompts))
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "calls": len(prompts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--personas", type=Path, default=ROOT / "personas", help="personas to cycle through")
    args = parser.parse_args()
    import litellm  # noqa: F401 - import before timing, as a real run has

    server, base_url = start_server(args.latency, args.fault_rate)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            timeout = args.latency + 2.0
            run = asyncio.run(pipeline(base_url, args.cases, args.concurrency, out, timeout, args.personas))
            ideal = max(run["longest_case_calls"] * args.latency, run["attempts"] * args.latency / args.concurrency)
            efficiency = ideal / run["wall"]
            print(f"pipeline: {args.cases} cases x 2 sessions, concurrency {args.concurrency}, latency {args.latency}s")
            print(
                f"  cases written {run['cases_written']} (unique {run['unique_cases']}), calls {run['calls']:.0f}, "
                f"HTTP attempts {run['attempts']:.0f}, longest case {run['longest_case_calls']:.0f} calls"
            )
            print(f"  wall {run['wall']:.1f}s, ideal {ideal:.1f}s, E = {efficiency:.3f}")
            print(f"  {run['open_cases']} cases open at once for {args.concurrency} request slots")
            print(f"  client CPU per call {1000 * run['cpu'] / run['attempts']:.2f} ms")
            print(
                f"  calls per session {run['calls_per_session']}, counselor calls per counselor turn "
                f"{run.get('counselor_calls_per_counselor_turn')}, prompt tokens per delivered word "
                f"{run['prompt_tokens_per_word']}, mean prefix share {run['mean_prefix_share']}"
            )
            if args.fault_rate:
                return
            prompts = realistic_prompts(out, int(run["attempts"]))
            base = asyncio.run(bare(base_url, prompts, args.concurrency, timeout))
            ideal_bare = base["calls"] * args.latency / args.concurrency
            e_bare = ideal_bare / base["wall"]
            print(
                f"bare litellm: {base['calls']} calls, wall {base['wall']:.1f}s, ideal {ideal_bare:.1f}s, "
                f"E_bare = {e_bare:.3f}, CPU per call {1000 * base['cpu'] / base['calls']:.2f} ms"
            )
            cpu_ratio = (run["cpu"] / run["attempts"]) / (base["cpu"] / base["calls"])
            print(
                f"E / E_bare = {efficiency / e_bare:.3f} (target >= 0.9); "
                f"CPU per call ratio = {cpu_ratio:.2f} (target <= 2.0)"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
