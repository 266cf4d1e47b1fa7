"""How long the shipped MI coder takes to code a corpus, and what it costs per turn.

Codes the counselor turns of an offline MI corpus (the shipped personas, 2 sessions each),
repeated until it holds as many counselor turns as `--dialogues` dialogues of that corpus, and
prints the median of `--repeats` timings with the extrapolation to 10,000 dialogues.

    python bench/coder.py                      # 10,000 dialogues, 3 repeats
    python bench/coder.py --dialogues 2000 --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from counselsynth.coder import load_coder  # noqa: E402
from counselsynth.corpus import read_cases  # noqa: E402
from counselsynth.engines import OfflineEngine  # noqa: E402
from counselsynth.frameworks import load_catalog  # noqa: E402
from counselsynth.personas import load_personas  # noqa: E402
from counselsynth.prompts import PromptLibrary  # noqa: E402
from counselsynth.runner import Generation, RunSettings  # noqa: E402


def counselor_texts(out: Path) -> tuple[list[str], int]:
    catalog = load_catalog()
    personas = load_personas(ROOT / "personas", catalog.frameworks)
    settings = RunSettings(out_dir=out, framework="mi", sessions=2, seed=0, workers=1)
    asyncio.run(Generation(personas, catalog, PromptLibrary(), OfflineEngine(), settings).run())
    cases = list(read_cases(out))
    texts = [t.text for c in cases for s in c.sessions for t in s.turns if t.speaker == "counselor"]
    return texts, len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        texts, dialogues = counselor_texts(Path(tmp) / "run")
    per_dialogue = len(texts) / dialogues
    wanted = round(per_dialogue * args.dialogues)
    corpus = (texts * (wanted // len(texts) + 1))[:wanted]
    coder = load_coder("mi")
    coder.predict(corpus[:10])  # loads the weights and scikit-learn once
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        coder.predict(corpus)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"counselor turns per dialogue (offline MI, 2 sessions): {per_dialogue:.1f}")
    print(f"coded {wanted} counselor turns ({args.dialogues} dialogues): median {median:.2f} s of {args.repeats}")
    print(f"turns per second: {wanted / median:,.0f}")
    print(f"10,000 dialogues: {median * 10_000 / args.dialogues:.1f} s")


if __name__ == "__main__":
    main()
