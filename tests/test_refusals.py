"""What merge and the run loop refuse, and that a refusal leaves every byte where it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import persona_record, run_cli, write_personas


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(6)])
    folders = []
    for index in range(2):
        folder = tmp_path / f"s{index}"
        code, _, err = run_cli(
            "generate", str(personas), "--out", str(folder), "--shard", f"{index}/2", "--sessions", "1"
        )
        assert code == 0, err
        folders.append(folder)
    return folders


def _snapshot(*folders: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file() and p.name != "run.lock"
    }


def _merge(shards: list[Path], out: Path) -> tuple[int, str]:
    code, _, err = run_cli("merge", *map(str, shards), "--out", str(out))
    return code, err


def _lines(folder: Path) -> list[str]:
    return (folder / "dialogues.jsonl").read_text().split("\n")[:-1]


def _write_lines(folder: Path, lines: list[str]) -> None:
    (folder / "dialogues.jsonl").write_text("".join(line + "\n" for line in lines))


def test_merge_refuses_an_unfinished_shard(shards: list[Path], tmp_path: Path) -> None:
    manifest = shards[1] / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"status": "complete"', '"status": "running"'))
    before = _snapshot(*shards)
    code, err = _merge(shards, tmp_path / "merged")
    assert (
        code == 2
        and err.strip() == f"error: {shards[1]} is running; finish it first by re-running its generate command"
    )
    assert not (tmp_path / "merged" / "dialogues.jsonl").exists() and _snapshot(*shards) == before


def test_merge_refuses_a_case_in_two_shards(shards: list[Path], tmp_path: Path) -> None:
    _write_lines(shards[1], [*_lines(shards[1]), _lines(shards[0])[0]])
    code, err = _merge(shards, tmp_path / "merged")
    case_id = json.loads(_lines(shards[0])[0])["case_id"]
    assert code == 2 and f"case '{case_id}' appears in more than one shard ({shards[1]})" in err
    assert not (tmp_path / "merged" / "dialogues.jsonl").exists()


def test_merge_refuses_a_missing_case(shards: list[Path], tmp_path: Path) -> None:
    lines = _lines(shards[0])
    _write_lines(shards[0], lines[1:])
    code, err = _merge(shards, tmp_path / "merged")
    assert code == 2 and f"1 planned cases are missing, e.g. '{json.loads(lines[0])['case_id']}'" in err
    assert not (tmp_path / "merged" / "dialogues.jsonl").exists()


def test_merge_never_overwrites_an_existing_run(shards: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "taken"
    shutil.copytree(shards[0], target)
    before = _snapshot(target)
    code, err = _merge(shards, target)
    assert code == 2 and "already exists; choose another --out folder" in err
    assert _snapshot(target) == before
    shard_bytes = _snapshot(*shards)
    code, err = _merge(shards, shards[0])  # into one of its own shards
    assert (
        code == 2
        and err.strip() == f"error: {shards[0] / 'dialogues.jsonl'} already exists; choose another --out folder"
    )
    assert _snapshot(*shards) == shard_bytes


def test_a_dialogues_file_without_a_manifest_is_never_touched(tmp_path: Path, tmp_personas: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "dialogues.jsonl").write_bytes(b'{"someone": "else\'s data"}\n')
    code, _, err = run_cli("generate", str(tmp_personas), "--out", str(out))
    assert code == 2 and "exists without a manifest; choose another --out folder" in err
    assert (out / "dialogues.jsonl").read_bytes() == b'{"someone": "else\'s data"}\n'
    assert not (out / "manifest.json").exists()


def test_a_run_that_holds_a_case_twice_is_refused_not_extended(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="a"), persona_record(id="b")])
    out = tmp_path / "run"
    assert run_cli("generate", str(personas), "--out", str(out), "--sessions", "1")[0] == 0
    lines = _lines(out)
    _write_lines(out, [lines[0], lines[0]])  # as if a case had been written twice, the other missing
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"status": "complete"', '"status": "interrupted"'))
    before = _snapshot(out)
    code, _, err = run_cli("generate", str(personas), "--out", str(out), "--sessions", "1")
    case_id = json.loads(lines[0])["case_id"]
    assert code == 2 and f"holds case '{case_id}' twice" in err
    assert _snapshot(out) == before


def test_every_bad_line_of_a_run_folder_is_reported_at_once(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(5)])
    out = tmp_path / "run"
    assert run_cli("generate", str(personas), "--out", str(out), "--sessions", "1")[0] == 0
    lines = _lines(out)
    lines[1] = lines[1].replace('"sessions":', '"sessionz":', 1)
    lines[3] = lines[3][:50]
    _write_lines(out, lines)
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"status": "complete"', '"status": "interrupted"'))
    before = _snapshot(out)
    code, _, err = run_cli("generate", str(personas), "--out", str(out), "--sessions", "1")
    assert code == 2 and err.count("\n") == 1
    assert f"{out / 'dialogues.jsonl'}, line 2, field 'sessions'" in err
    assert err.strip().endswith("(and 1 more bad lines: 4)")
    assert _snapshot(out) == before
