"""Benchmark: export a 10,000-session run to the `hf` format (target: at most 20 s on 2 cores).

Generates ~200 cases of 2 sessions once with the offline engine (not timed), replicates them
with new case and persona ids into a 5,000-case run folder, then times `export_run` alone and
prints the median over the repeats.

    python bench/export_sessions.py [--cases 200] [--copies 25] [--repeats 3] [--format hf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from counselsynth.engines import OfflineEngine
from counselsynth.export import ExportOptions, export_run
from counselsynth.frameworks import load_catalog
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runner import Generation, RunSettings

ROOT = Path(__file__).resolve().parents[1]
SEED_PERSONAS = ROOT / "tests" / "fixtures" / "export" / "personas.yaml"


def write_personas(path: Path, count: int) -> Path:
    """`count` personas: the six test personas, repeated under new ids."""
    base: list[dict[str, Any]] = yaml.safe_load(SEED_PERSONAS.read_text(encoding="utf-8"))
    records = []
    for index in range(count):
        record = json.loads(json.dumps(base[index % len(base)]))
        record["id"] = f"{record['id']}_{index:04d}"
        records.append(record)
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def generate(folder: Path, cases: int) -> Path:
    personas = write_personas(folder / "personas.yaml", cases)
    catalog = load_catalog()
    loaded = load_personas(personas, catalog.frameworks)
    run = folder / "seed-run"
    settings = RunSettings(out_dir=run, sessions=2)
    asyncio.run(Generation(loaded, catalog, PromptLibrary(), OfflineEngine(), settings).run())
    return run


def replicate(seed_run: Path, out: Path, copies: int) -> int:
    """Write a run of `copies` x the seed run's cases, each copy with fresh case and persona ids."""
    out.mkdir(parents=True)
    lines = (seed_run / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    sessions = 0
    with (out / "dialogues.jsonl").open("w", encoding="utf-8") as handle:
        for copy in range(copies):
            for line in lines:
                record = json.loads(line)
                record["persona_id"] = f"{record['persona_id']}-c{copy:03d}"
                record["case_id"] = f"{record['persona_id']}-{record['framework']}"
                sessions += len(record["sessions"])
                handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    manifest = json.loads((seed_run / "manifest.json").read_text(encoding="utf-8"))
    manifest["counts"] = {**manifest["counts"], "cases": len(lines) * copies, "sessions": sessions}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=200, help="cases to generate offline (2 sessions each)")
    parser.add_argument("--copies", type=int, default=25, help="copies of those cases in the benchmark run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", default="hf", choices=["hf", "jsonl", "openai", "sharegpt"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="counselsynth-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        seed_run = generate(folder, args.cases)
        run = folder / "run"
        sessions = replicate(seed_run, run, args.copies)
        size = (run / "dialogues.jsonl").stat().st_size
        setup = time.perf_counter() - started
        print(f"setup: {sessions} sessions ({size / 1e6:.0f} MB of dialogues.jsonl) in {setup:.1f} s", flush=True)
        timings = []
        for repeat in range(args.repeats):
            out = folder / f"export-{repeat}"
            started = time.perf_counter()
            result = export_run(run, out, ExportOptions(fmt=args.format))  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            timings.append(elapsed)
            written = sum((out / name).stat().st_size for name in result.files)
            splits = ", ".join(f"{s.name} {s.rows}" for s in result.splits)
            print(f"repeat {repeat + 1}: {elapsed:.2f} s ({splits}; {written / 1e6:.1f} MB written)", flush=True)
            shutil.rmtree(out)
        median = statistics.median(timings)
        print(
            f"export {args.format}: {sessions} sessions, median {median:.2f} s over {args.repeats} repeats "
            f"({sessions / median:,.0f} sessions/s); target <= 20 s",
            flush=True,
        )


if __name__ == "__main__":
    main()
