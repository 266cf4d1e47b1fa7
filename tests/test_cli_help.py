"""What a new user sees first: --version, and help that shows every option whole, with its default."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import persona_record, write_personas
from typer.testing import CliRunner

from counselsynth.cli import app


def _commands() -> list[tuple[list[str], Any]]:
    """Every command of the app with the words that call it."""
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk([*path, name], sub)
        else:
            found.append((path, command))

    walk([], typer.main.get_command(app))
    return found


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"counselsynth {metadata.version('counselsynth')}\n"


def test_generate_help_shows_the_defaults() -> None:
    help_text = CliRunner().invoke(app, ["generate", "--help"], terminal_width=80).stdout
    for shown in ("Sessions per case. [default: 2]", "[default: auto]", "[default: 0]", "[default: 60]"):
        assert shown in " ".join(help_text.split()), shown


@pytest.mark.parametrize("width", [80, 100, 200])
def test_no_option_name_is_cut_at_any_width_from_80(width: int) -> None:
    commands = _commands()
    assert len(commands) >= 15
    for path, command in commands:
        result = CliRunner().invoke(app, [*path, "--help"], terminal_width=width)
        assert result.exit_code == 0, path
        assert "…" not in result.stdout
        lines = result.stdout.splitlines()
        assert all(len(line) <= width for line in lines), path
        words = set(result.stdout.replace(",", " ").split())
        for parameter in command.params:
            for name in [*parameter.opts, *parameter.secondary_opts]:
                if name.startswith("-"):
                    assert name in words, (path, name)


def test_the_progress_bar_shows_an_eta(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"c{i}") for i in range(3)])
    command = [sys.executable, "-m", "counselsynth", "generate", str(personas), "--out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"generating .* 3/3 \d+:\d\d:\d\d ETA \d+:\d\d:\d\d ", result.stderr), result.stderr
