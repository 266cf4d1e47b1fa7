"""Scale-out: LLM calls per second for 1, 2 and N worker processes and for `--ray local`.

Each run is the real command, `counselsynth generate ... --workers W` (or `--ray local`), timed
from outside against the loopback server (its own process) at low latency, where the client's CPU
is the limit. Calls per second = the manifest's calls / the command's wall time (start-up
included). In the same session, as many bare `litellm.acompletion` calls at the same latency and
concurrency give the efficiency E = run calls/s / bare calls/s. Memory: the peak resident set of
the driver and of each worker process (forked workers, or Ray's `CaseActor` processes), sampled
every 0.2 s from /proc.

    python bench/scale.py                                     # 160 cases x 1 session, C=256, 0.1 s; 3 repeats
    python bench/scale.py --workers 1,2,4 --ray --repeats 3
    python bench/scale.py --cases 40 --repeats 1 --workers 1,2    # a quick look

Target (issue 19): the median calls/s of `--workers 2` >= 1.4x that of `--workers 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_throughput import KEY_ENV, ROOT, bare, make_personas, realistic_prompts, start_server  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    wall: float
    calls: int
    driver_mb: float
    worker_mb: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.calls / self.wall


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss_mb(pid: int) -> float:
    try:
        return int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _is_worker(pid: int, driver: int) -> bool:
    """A forked worker (a direct child of the driver running the same command) or a Ray actor."""
    try:
        command = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        parent = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return False
    return "CaseActor" in command or (parent == driver and "counselsynth" in command)


def run_generate(personas: Path, out: Path, base_url: str, args: argparse.Namespace, executor: list[str]) -> Measured:
    command = [
        sys.executable, "-m", "counselsynth", "generate", str(personas), "--out", str(out),
        "--model", "openai/loopback", "--api-base", base_url, "--api-key-env", KEY_ENV,
        "--sessions", str(args.sessions), "--concurrency", str(args.concurrency),
        "--timeout", str(args.latency + 30), *executor,
    ]  # fmt: skip
    peaks: dict[int, float] = {}
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            for pid in _descendants(process.pid):
                peaks[pid] = max(peaks.get(pid, 0.0), _rss_mb(pid))
                if pid != process.pid and pid not in workers and _is_worker(pid, process.pid):
                    workers.add(pid)

    workers: set[int] = set()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"generate {' '.join(executor)} failed ({process.returncode}): {stderr[-2000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    calls = int(manifest["usage"]["total"]["calls"])
    return Measured(wall, calls, peaks.get(process.pid, 0.0), sorted(peaks[pid] for pid in workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=160)
    parser.add_argument("--sessions", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--ray", action="store_true", help="also run with --ray local (2 actors)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--personas", type=Path, default=ROOT / "personas", help="personas to cycle through")
    args = parser.parse_args()
    executors = {f"--workers {w}": ["--workers", w] for w in args.workers.split(",")}
    if args.ray:
        executors["--ray local (2 actors)"] = ["--ray", "local", "--workers", "2"]
    server, base_url = start_server(args.latency, 0.0)
    results: dict[str, list[Measured]] = {name: [] for name in executors}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            personas = Path(tmp) / "personas.jsonl"
            make_personas(args.cases, personas, args.personas)
            # Interleaved, so that a change in the machine's load hits every executor alike.
            for repeat in range(args.repeats):
                for number, (name, flags) in enumerate(executors.items()):
                    measured = run_generate(personas, Path(tmp) / f"run-{repeat}-{number}", base_url, args, flags)
                    results[name].append(measured)
                    rate = f"{measured.calls} calls in {measured.wall:.1f}s = {measured.rate:.1f} calls/s"
                    print(f"  {name}: {rate}", flush=True)
            reference = next(iter(results.values()))[0]
            prompts = realistic_prompts(Path(tmp) / "run-0-0", reference.calls)
            bare_rates = []
            for _ in range(args.repeats):
                measured_bare = asyncio.run(bare(base_url, prompts, args.concurrency, args.latency + 30))
                bare_rates.append(measured_bare["calls"] / measured_bare["wall"])
    finally:
        server.terminate()
        server.wait()
    bare_rate = statistics.median(bare_rates)
    print(
        f"{args.cases} cases x {args.sessions} session(s), concurrency {args.concurrency}, latency {args.latency}s, "
        f"medians of {args.repeats} run(s); bare litellm (one process): {bare_rate:.1f} calls/s"
    )
    base_rate = statistics.median(m.rate for m in next(iter(results.values())))
    for name, runs in results.items():
        rate = statistics.median(m.rate for m in runs)
        workers = [mb for m in runs for mb in m.worker_mb]
        memory = f"driver {statistics.median(m.driver_mb for m in runs):.0f} MB"
        if workers:
            memory += f", per worker {statistics.median(workers):.0f} MB (max {max(workers):.0f})"
        print(
            f"{name:24s} {rate:7.1f} calls/s (runs: {', '.join(f'{m.rate:.1f}' for m in runs)}); "
            f"x{rate / base_rate:.2f} of the first; E vs bare = {rate / bare_rate:.2f}; {memory}"
        )


if __name__ == "__main__":
    main()
