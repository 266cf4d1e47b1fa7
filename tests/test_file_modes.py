"""Files follow the umask: 0644 under 022, as a plain write would give, not mkstemp's private 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import persona_record, write_personas
from conftest import run_cli as run


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


def test_run_folders_reports_exports_and_persona_files_follow_the_umask(umask: int, tmp_path: Path) -> None:
    expected = 0o666 & ~umask
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"c{i}", framework="mi") for i in range(6)])
    run_dir = tmp_path / "run"
    assert run("generate", str(personas), "--out", str(run_dir), "--sessions", "1")[0] == 0
    assert run("fidelity", str(run_dir), "--reference", "annomi-high", "--out", str(run_dir / "fidelity"))[0] == 0
    assert run("export", str(run_dir), "--out", str(tmp_path / "ds"), "--format", "jsonl")[0] == 0
    sampled = tmp_path / "sampled.jsonl"
    assert run("personas", "sample", "-n", "3", "--out", str(sampled))[0] == 0
    modes = _modes(run_dir) | _modes(tmp_path / "ds") | {"sampled.jsonl": stat.S_IMODE(sampled.stat().st_mode)}
    for name in ("manifest.json", "dialogues.jsonl", "fidelity/fidelity.json", "fidelity/emotion_arc.png"):
        assert name in modes
    assert {name: oct(mode) for name, mode in modes.items() if mode != expected} == {}
    assert stat.S_IMODE((tmp_path / "ds").stat().st_mode) == 0o777 & ~umask
