"""What `--on-mismatch` costs in calls: a loopback run whose critic judges a set share of counselor
turns not to perform their code, under each policy.

The loopback server answers every request with schema-valid content drawn from the request's
digest, so the runs are deterministic and one run per policy gives the figures; there is nothing
timed here. Every run uses the shipped personas, 2 sessions per case and 2 critic revisions.

    python bench/on_mismatch.py                    # 10% and 30% of turns judged wrong
    python bench/on_mismatch.py --wrong 0.2 --sessions 1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
KEY_ENV = "COUNSELSYNTH_BENCH_KEY"
os.environ[KEY_ENV] = "bench-key-not-secret"
POLICIES = ("flag", "relabel", "regenerate")


def run(base_url: str, policy: str, sessions: int, out: Path) -> dict[str, float]:
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runconfig import RunConfig, build_engine
    from counselsynth.runner import Generation

    catalog = load_catalog()
    config = RunConfig(model="openai/loopback", api_base=base_url, api_key_env=KEY_ENV, on_mismatch=policy)
    generation = Generation(
        load_personas(ROOT / "personas", catalog.frameworks),
        catalog,
        PromptLibrary(),
        build_engine(config, out),
        config.run_settings(out, sessions=sessions, concurrency=16),
    )
    manifest = asyncio.run(generation.run()).manifest
    counts = manifest.counts
    final = sum(counts.get(f"turns_{kind}", 0) for kind in ("verified", "relabelled", "flagged", "unverified"))
    calls = sum(u.calls for agent, u in manifest.usage.items() if agent != "total")
    return {
        "calls": calls,
        "counselor calls": manifest.usage["counselor"].calls,
        "final counselor turns": final,
        "calls per final counselor turn": round(calls / final, 3),
        "regenerated": counts.get("turns_regenerated", 0),
        "relabelled": counts.get("turns_relabelled", 0),
        "flagged": counts.get("turns_flagged", 0),
        "revisions": counts.get("revisions", 0),
    }


def main() -> None:
    from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wrong", type=float, action="append", help="share of turns the critic judges wrong")
    parser.add_argument("--sessions", type=int, default=2)
    args = parser.parse_args()
    for wrong in args.wrong or [0.1, 0.3]:
        with LoopbackServer(LoopbackConfig(true_share=1 - wrong)) as server, tempfile.TemporaryDirectory() as tmp:
            results = {policy: run(server.base_url, policy, args.sessions, Path(tmp) / policy) for policy in POLICIES}
        print(f"\n{wrong:.0%} of counselor turns judged not to perform their code")
        keys = list(results["flag"])
        print(f"{'':32}" + "".join(f"{policy:>12}" for policy in POLICIES))
        for key in keys:
            print(f"{key:32}" + "".join(f"{results[policy][key]:>12}" for policy in POLICIES))
        base = results["flag"]["calls per final counselor turn"]
        ratio = results["regenerate"]["calls per final counselor turn"] / base
        print(f"regenerate costs {ratio:.2f}x the calls of flag or relabel per final counselor turn")


if __name__ == "__main__":
    main()
