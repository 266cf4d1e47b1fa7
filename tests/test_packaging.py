"""`pip install .` works outside the checkout: the wheel carries the data folders."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT

SCRIPT = """
import counselsynth, sys
from counselsynth.resources import data_dir
print(counselsynth.__file__)
print(data_dir("personas"))
sys.argv = ["counselsynth", "generate", str(data_dir("personas")), "--out", "run", "--limit", "2", "--sessions", "1"]
from counselsynth.cli import main
main()
"""


def test_the_wheel_runs_the_pipeline_from_anywhere(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(ROOT),
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("counselsynth-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    for folder in ("personas", "therapy_frameworks", "prompts", "scenarios"):
        assert (site / "counselsynth" / "_data" / folder).is_dir()
    for data in ("languages.yaml", "augment/gates.yaml", "testing/vocabulary.yaml", "fidelity/metrics.yaml"):
        assert (site / "counselsynth" / data).is_file(), data
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    module, personas = done.stdout.splitlines()[:2]
    assert module.startswith(str(site)) and personas.startswith(str(site))
    assert len((work / "run" / "dialogues.jsonl").read_text().splitlines()) == 2
