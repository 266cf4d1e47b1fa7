"""Offline generation throughput and peak memory.

Generates N cases of 2 sessions with the offline engine from the shipped personas (cycled under
fresh ids), each size in a fresh process, and prints cases/s and peak RSS. Memory should stay
flat as N grows, since cases stream to disk.

    python bench/generate_offline.py                 # N = 250, 500, 1000; 3 repeats of N=1000
    python bench/generate_offline.py --sizes 1000 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_personas(count: int, path: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas

    catalog = load_catalog()
    shipped = load_personas(ROOT / "personas", catalog.frameworks).personas
    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            persona = shipped[index % len(shipped)]
            record = persona.model_dump(mode="json", exclude_none=True) | {"id": f"{persona.id}-{index:05d}"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def child(count: int) -> None:
    from counselsynth.engines import OfflineEngine
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runner import Generation, RunSettings

    with tempfile.TemporaryDirectory() as tmp:
        personas_file = Path(tmp) / "personas.jsonl"
        make_personas(count, personas_file)
        catalog = load_catalog()
        personas = load_personas(personas_file, catalog.frameworks)
        settings = RunSettings(out_dir=Path(tmp) / "run", sessions=2, seed=1)
        generation = Generation(personas, catalog, PromptLibrary(), OfflineEngine(), settings)
        started = time.perf_counter()
        result = asyncio.run(generation.run())
        elapsed = time.perf_counter() - started
    # The parent writes and tallies; worker processes generate. Both must stay flat.
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"cases": result.cases, "seconds": elapsed, "peak_mib": max(parent, workers)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the largest size")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for size in args.sizes:
        repeats = args.repeats if size == max(args.sizes) else 1
        runs = []
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(size)], check=True, capture_output=True, text=True
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rate = statistics.median(r["cases"] / r["seconds"] for r in runs)
        peak = statistics.median(r["peak_mib"] for r in runs)
        rows.append((size, repeats, rate, peak))
        print(
            f"cases={size:5d}  repeats={repeats}  median cases/s={rate:6.1f}  "
            f"median peak RSS={peak:6.0f} MiB (largest process)",
            flush=True,
        )
    smallest, largest = rows[0], rows[-1]
    print(f"peak memory ratio {largest[0]} vs {smallest[0]} cases: {largest[3] / smallest[3]:.2f} (flat is ~1.0)")
    print(f"target >= 20 cases/s on 2 cores: {'met' if largest[2] >= 20 else 'NOT met'} ({largest[2]:.1f})")


if __name__ == "__main__":
    main()
