"""The README's quick start stays true: its commands are the ones CI and users run."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from counselsynth.cli import app
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

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


OTHER_LANGUAGES = README.split("## Corpora in other languages", 1)[1].split("\n## ", 1)[0]


def _readme_args(command: str, out: Path) -> list[str]:
    """A README command's arguments, with its outputs/ folders moved under `out`."""
    args = shlex.split(command)
    assert args[0] == "counselsynth"
    return [str(out / a.removeprefix("outputs/")) if a.startswith("outputs/") else a for a in args[1:]]


def test_readme_cross_language_fidelity_example_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick start corpus (four languages) -> augment into Swahili -> fidelity against the source."""
    (block,) = re.findall(r"```bash\n(.+?)\n```", OTHER_LANGUAGES, flags=re.S)
    commands = [line for line in block.replace("\\\n", " ").splitlines() if line.startswith("counselsynth ")]
    augment = next(c for c in commands if c.startswith("counselsynth augment"))
    fidelity = next(c for c in commands if c.startswith("counselsynth fidelity"))
    generate = _readme_args(COMMANDS[0].split("&&")[-1].strip().removeprefix(".venv/bin/"), tmp_path)
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    result = runner.invoke(app, generate)
    assert result.exit_code == 0, result.stderr
    monkeypatch.setenv("LOOPBACK_KEY", "sk-placeholder")
    with LoopbackServer(LoopbackConfig(translate=True)) as server:
        args = _readme_args(augment, tmp_path)
        args[args.index("--model") + 1] = "openai/loopback"
        args += ["--api-base", server.base_url, "--api-key-env", "LOOPBACK_KEY", "--concurrency", "8"]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert server.stats.unexpected == []
    result = runner.invoke(app, _readme_args(fidelity, tmp_path))
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "demo-sw" / "fidelity" / "fidelity.json").read_text())
    assert report["corpus"]["language"] == "sw"
    assert "'en+es+fa+zh'" in report["scope"]
    metrics = {m["name"]: m for m in report["metrics"]}
    for name in ("counselor_words_per_utterance", "counselor_share_of_words", "distinct_2"):
        assert metrics[name]["verdict"] == "n/a"
    assert metrics["utterances_per_session"]["verdict"] == "pass"
    # The translation keeps the source's codes: the code statistics match exactly.
    assert metrics["r_to_q"]["verdict"] == "pass" and metrics["r_to_q"]["value"] == metrics["r_to_q"]["reference"]
    assert report["warnings"] == [] and report["overall"] == "pass"
