"""One corpus with several frameworks: `--framework mi,cbt,pct` and `--each-framework`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import persona_record, write_personas
from conftest import run_cli as run

from counselsynth.corpus import read_manifest


@pytest.fixture
def personas(tmp_path: Path) -> Path:
    return write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(9)])


def _frameworks(run_dir: Path) -> dict[str, list[str]]:
    """persona id -> frameworks of its cases, in file order."""
    found: dict[str, list[str]] = {}
    for line in (run_dir / "dialogues.jsonl").read_text().splitlines():
        case = json.loads(line)
        assert case["case_id"] == f"{case['persona_id']}-{case['framework']}"
        found.setdefault(case["persona_id"], []).append(case["framework"])
    return found


def _generate(personas: Path, out: Path, *extra: str) -> dict[str, list[str]]:
    code, _, stderr = run("generate", str(personas), "--out", str(out), "--sessions", "1", *extra)
    assert code == 0, stderr
    return _frameworks(out)


def test_a_framework_list_gives_each_persona_one_balanced_and_seeded(personas: Path, tmp_path: Path) -> None:
    first = _generate(personas, tmp_path / "a", "--framework", "mi,cbt,pct", "--seed", "3")
    assert all(len(f) == 1 for f in first.values()) and len(first) == 9
    assert Counter(f[0] for f in first.values()) == {"mi": 3, "cbt": 3, "pct": 3}
    assert read_manifest(tmp_path / "a").settings["framework"] == "mi,cbt,pct"
    assert _generate(personas, tmp_path / "b", "--framework", "mi,cbt,pct", "--seed", "3") == first
    other = _generate(personas, tmp_path / "c", "--framework", "mi,cbt,pct", "--seed", "4")
    assert other != first and Counter(f[0] for f in other.values()) == {"mi": 3, "cbt": 3, "pct": 3}
    # Shards deal the same frameworks as the whole run.
    shards = {}
    for index in range(2):
        shard = ("--framework", "mi,cbt,pct", "--seed", "3", "--shard", f"{index}/2")
        shards |= _generate(personas, tmp_path / f"s{index}", *shard)
    assert shards == first


def test_each_framework_makes_one_case_per_persona_and_framework(personas: Path, tmp_path: Path) -> None:
    listed = _generate(personas, tmp_path / "a", "--framework", "mi,pct", "--each-framework")
    assert listed == {f"p{i}": ["mi", "pct"] for i in range(9)}
    every = _generate(personas, tmp_path / "b", "--each-framework", "--limit", "2")
    assert every == {"p0": ["cbt", "mi", "pct"], "p1": ["cbt", "mi", "pct"]}
    assert read_manifest(tmp_path / "b").settings["each_framework"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mi,,cbt", "error: --framework 'mi,,cbt': give framework ids separated by commas, each once"),
        ("mi,mi", "error: --framework 'mi,mi': give framework ids separated by commas, each once"),
        ("mi,dbt", "error: unknown framework 'dbt'"),
    ],
)
def test_a_bad_framework_list_is_one_line(personas: Path, tmp_path: Path, value: str, expected: str) -> None:
    code, _, stderr = run("generate", str(personas), "--out", str(tmp_path / "x"), "--framework", value)
    assert code == 2 and stderr.startswith(expected) and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "dialogues.jsonl").exists()
