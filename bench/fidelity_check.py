"""Fidelity check of a 10,000-dialogue corpus, and the check's calibration on real data.

Timing: generates 50 English MI cases (2 sessions each) with the offline engine, replicates them
under new ids into a corpus of N cases (default 10,000, i.e. 20,000 sessions), then times
`counselsynth fidelity CORPUS --reference annomi-high --out REPORT` (report and figures included,
no embeddings) in fresh processes and prints the median. When ../shared/data is present, the
run also gives `--against` the imported AnnoMI high-quality transcripts, so the classifier test
is timed too.

    python bench/fidelity_check.py                    # N = 10,000; 3 repeats
    python bench/fidelity_check.py --cases 2000 --repeats 5

Calibration (needs ../shared/data): splits AnnoMI's high-quality transcripts into random halves
K times, checks the second half against a profile of the first, and prints how often each metric
fails and how often the overall verdict passes (the family-wise error rate is set to 5%).

    python bench/fidelity_check.py --calibration 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED_CASES = 50


def build_corpus(cases: int, folder: Path) -> Path:
    """A corpus of `cases` cases: generated offline MI cases, replicated under new ids."""
    from counselsynth.engines import OfflineEngine
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runner import Generation, RunSettings

    catalog = load_catalog()
    shipped = [p for p in load_personas(ROOT / "personas", catalog.frameworks).personas if p.language == "en"]
    personas = folder / "personas.jsonl"
    with personas.open("w", encoding="utf-8") as handle:
        for index in range(SEED_CASES):
            persona = shipped[index % len(shipped)]
            record = persona.model_dump(mode="json", exclude_none=True) | {"id": f"{persona.id}-{index:03d}"}
            handle.write(json.dumps(record) + "\n")
    seed_run = folder / "seed"
    settings = RunSettings(out_dir=seed_run, framework="mi", sessions=2, seed=1)
    asyncio.run(
        Generation(
            load_personas(personas, catalog.frameworks), catalog, PromptLibrary(), OfflineEngine(), settings
        ).run()
    )
    lines = (seed_run / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    corpus = folder / "corpus"
    corpus.mkdir()
    with (corpus / "dialogues.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(cases):
            case = json.loads(lines[index % len(lines)])
            case["case_id"] = f"{case['case_id']}-copy{index:05d}"
            case["persona_id"] = f"{case['persona_id']}-copy{index:05d}"
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    return corpus


def real_corpus(folder: Path) -> Path | None:
    if not SHARED_DATA.is_dir():
        return None
    from counselsynth.fidelity.corpora import import_corpus

    out = folder / "annomi-high"
    import_corpus("annomi", SHARED_DATA / "annomi" / "AnnoMI-full.csv", out, "high")
    return out


def child(corpus: Path, report: Path, against: str) -> None:
    started = time.perf_counter()
    from counselsynth.fidelity.check import run_check
    from counselsynth.fidelity.report import write_report

    result = run_check(corpus, "annomi-high", against=Path(against) if against else None)
    write_report(result, report)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "cases": result.corpus.cases, "sessions": result.corpus.session_count}))


def timing(cases: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        corpus = build_corpus(cases, folder)
        against = real_corpus(folder)
        size = (corpus / "dialogues.jsonl").stat().st_size / 1e6
        print(
            f"built {cases} cases ({size:.0f} MB) in {time.perf_counter() - started:.1f} s; C2ST "
            f"{'against AnnoMI high-quality' if against else 'skipped (no ../shared/data)'}"
        )
        runs = []
        for repeat in range(repeats):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(corpus), str(folder / f"report{repeat}"), str(against or "")],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        seconds = [r["seconds"] for r in runs]
        print(
            f"cases {runs[0]['cases']}, sessions {runs[0]['sessions']}: fidelity check (report and figures, "
            f"no embeddings) median {statistics.median(seconds):.1f} s over {repeats} runs "
            f"(min {min(seconds):.1f}, max {max(seconds):.1f})"
        )


def calibration(splits: int) -> None:
    from counselsynth.fidelity.check import run_check
    from counselsynth.fidelity.profile import build_profile, save_profile

    if not SHARED_DATA.is_dir():
        sys.exit("calibration needs the real data in ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpus = real_corpus(folder)
        assert corpus is not None
        lines = (corpus / "dialogues.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        failures: Counter[str] = Counter()
        tested: Counter[str] = Counter()
        passes = 0
        for seed in range(splits):
            order = list(range(len(lines)))
            random.Random(seed).shuffle(order)
            halves = []
            for name, chosen in (("first", order[: len(order) // 2]), ("second", order[len(order) // 2 :])):
                half = folder / f"{seed}-{name}"
                half.mkdir()
                (half / "dialogues.jsonl").write_text("".join(lines[i] for i in sorted(chosen)), encoding="utf-8")
                halves.append(half)
            save_profile(build_profile(halves[0], name="first"), folder / f"{seed}.json")
            report = run_check(halves[1], str(folder / f"{seed}.json"))
            passes += report.overall == "pass"
            for metric in report.metrics:
                tested[metric.name] += metric.verdict != "n/a"
                failures[metric.name] += metric.verdict == "fail"
        print(
            f"AnnoMI high-quality, {splits} random half splits: overall pass in {passes} "
            f"({passes / splits:.1%}); failures per metric:"
        )
        for name in tested:
            if tested[name]:
                print(f"  {name:32s} {failures[name]:4d} / {tested[name]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calibration", type=int, metavar="K", help="run K random half splits of AnnoMI-high")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2])
    elif args.calibration:
        calibration(args.calibration)
    else:
        timing(args.cases, args.repeats)


if __name__ == "__main__":
    main()
