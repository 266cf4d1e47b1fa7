"""The structure axis of the fidelity check for offline corpora of every framework (issue 15).

Samples 60 English personas (`personas sample -n 60 --locale en_US --seed 3`), generates one
offline corpus per framework from them (seed 3; MI, CBT and PCT with 2 sessions each, ESC with 1
session, since ESConv's conversations are single sessions), checks each against the reference
judged closest (MI, CBT, PCT: annomi-high, the only transcribed spoken counseling; ESC: esconv)
and prints every structure metric with its band and verdict.

Everything runs through the command line in fresh processes (`python -m counselsynth`), so the
same script measures an older checkout too: `PYTHONPATH=OLD/src python bench/structure_fidelity.py
--frameworks-root OLD/therapy_frameworks`.

    python bench/structure_fidelity.py
    python bench/structure_fidelity.py --frameworks mi --cases 30
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = {"mi": ("annomi-high", 2), "cbt": ("annomi-high", 2), "pct": ("annomi-high", 2), "esc": ("esconv", 1)}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "counselsynth", *args], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--frameworks", default="mi,cbt,pct,esc")
    parser.add_argument("--frameworks-root", type=Path, default=ROOT / "therapy_frameworks")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        personas = work / "personas.jsonl"
        cli("personas", "sample", "-n", str(options.cases), "--locale", "en_US", "--seed", str(options.seed),
            "--out", str(personas))  # fmt: skip
        for framework in options.frameworks.split(","):
            reference, sessions = PLAN[framework]
            run = work / framework
            extra = ["--frameworks-dir", str(options.frameworks_root / "support")] if framework == "esc" else []
            cli("generate", str(personas), "--framework", framework, "--seed", str(options.seed), "--sessions",
                str(sessions), "--out", str(run), *extra)  # fmt: skip
            cli("fidelity", str(run), "--reference", reference, "--out", str(work / f"{framework}-fidelity"))
            report = json.loads((work / f"{framework}-fidelity" / "fidelity.json").read_text())
            structure = [m for m in report["metrics"] if m["axis"] == "structure"]
            passed = sum(m["verdict"] == "pass" for m in structure)
            tested = sum(m["verdict"] != "n/a" for m in structure)
            print(f"{framework} ({options.cases} cases x {sessions} sessions, seed {options.seed}) "
                  f"against {reference}: {passed} of {tested} structure metrics pass")  # fmt: skip
            for metric in structure:
                band = metric.get("band")
                shown = f"{band[0]:.3f}-{band[1]:.3f}" if band else "-"
                value = metric.get("value")
                print(f"  {metric['name']:32} {value if value is not None else 'n/a':>10} band {shown:>14} "
                      f"{metric['verdict']:5} reference {metric.get('reference')}")  # fmt: skip


if __name__ == "__main__":
    main()
