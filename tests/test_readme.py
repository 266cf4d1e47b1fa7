"""The README's quick start stays true: its commands are the ones CI and users run."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from conftest import ROOT
from typer.testing import CliRunner

from counselsynth.cli import app

README = (ROOT / "README.md").read_text(encoding="utf-8")
QUICK_START = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
COMMANDS = re.findall(r"```bash\n(.+?)\n```", QUICK_START)


def test_quick_start_has_exactly_two_commands() -> None:
    assert len(COMMANDS) == 2
    assert "counselsynth generate personas" in COMMANDS[0]
    assert "pytest" in COMMANDS[1]


def test_ci_runs_the_readme_test_command() -> None:
    assert COMMANDS[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_generate_command_works(tmp_path: Path) -> None:
    generate = COMMANDS[0].split("&&")[-1].strip()
    args = shlex.split(generate)
    assert args[0].endswith("counselsynth")
    out = tmp_path / "demo"
    args = [str(out) if a == "outputs/demo" else a for a in args[1:]]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(app, args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.stderr
    lines = (out / "dialogues.jsonl").read_text().splitlines()
    assert len(lines) >= 12
