"""Persona sampling speed: 10,000 personas, seeded, median of 3 repeats.

Each repeat runs `counselsynth personas sample -n N --out FILE --seed S` in a fresh process, so
the figure includes start-up, loading the distributions, Faker set-up, validation and the atomic
write. It is done for the default locale and for a five-locale mix that includes a fallback-table
locale. The last line is the start-up alone (importing the CLI), which every command pays. The
target is at most 10 s for 10,000 personas on 2 cores.

    python bench/sample_personas.py
    python bench/sample_personas.py -n 20000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS: dict[str, list[str]] = {
    "en_US": [],
    "fa_IR+sw+am_ET+es_MX+en_US": ["--locale", "fa_IR", "--locale", "sw", "--locale", "am_ET", "--locale", "es_MX"]
    + ["--locale", "en_US"],
}


def run_once(count: int, seed: int, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "personas.jsonl"
        entry = "import sys; from counselsynth.cli import main; sys.argv[0] = 'counselsynth'; main()"
        command = [sys.executable, "-c", entry, "personas", "sample", "-n", str(count)]
        command += ["--out", str(out), "--seed", str(seed), *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        elapsed = time.perf_counter() - start
        lines = sum(1 for _ in out.open(encoding="utf-8"))
        if lines != count:
            raise SystemExit(f"expected {count} personas, found {lines}")
        return elapsed


def startup_once() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import counselsynth.cli"], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"personas sample -n {args.n}, {args.repeats} repeats, fresh process each (seconds, wall clock)")
    for name, extra in SCENARIOS.items():
        times = [run_once(args.n, args.seed + i, extra) for i in range(args.repeats)]
        median = statistics.median(times)
        print(
            f"{name:28s} median {median:6.2f} s   ({args.n / median:,.0f} personas/s; "
            f"runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
    startup = statistics.median(startup_once() for _ in range(args.repeats))
    print(f"{'of which start-up (import)':28s} median {startup:6.2f} s")


if __name__ == "__main__":
    main()
