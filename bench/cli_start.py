"""Start-up cost: wall time of `counselsynth --help` and of `import counselsynth`.

Each measurement runs in a fresh interpreter (so nothing is cached in-process) and the script
prints the median of the repeats. The target is at most 1.0 s for `--help`.

    python bench/cli_start.py
    python bench/cli_start.py --repeats 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = shutil.which("counselsynth") or "counselsynth"
    commands = {
        "counselsynth --help": [script, "--help"],
        "import counselsynth": [sys.executable, "-c", "import counselsynth"],
    }
    for label, command in commands.items():
        wall(command)  # one warm-up run so the page cache does not count against the first repeat
        times = [wall(command) for _ in range(args.repeats)]
        print(
            f"{label}: median {statistics.median(times):.2f} s over {args.repeats} runs "
            f"(min {min(times):.2f}, max {max(times):.2f})"
        )


if __name__ == "__main__":
    main()
