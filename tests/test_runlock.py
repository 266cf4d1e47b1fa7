"""One run per folder: the OS lock that `generate`, `augment`, `merge` and `export` honour."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import SHIPPED_PERSONAS, persona_record, run_cli, write_personas

from counselsynth.runlock import LOCK, run_lock

HOLD = """
import sys, time
from pathlib import Path
from counselsynth.runlock import run_lock
with run_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def _generate(personas: Path, out: Path, *flags: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "counselsynth", "generate", str(personas), "--out", str(out), *flags]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_two_runs_started_together_on_one_folder_leave_one_run(tmp_path: Path) -> None:
    # The probe's reproduction: two offline runs with different seeds on one --out folder.
    personas = write_personas(tmp_path / "many.yaml", [persona_record(id=f"p{i}") for i in range(120)])
    out = tmp_path / "run"
    first = _generate(personas, out, "--seed", "1", "--workers", "1")
    second = _generate(personas, out, "--seed", "2", "--workers", "1")
    results = {p.pid: (p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in (first, second)}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 2], results
    winner = next(pid for pid, (code, _) in results.items() if code == 0)
    refused = next(text for code, text in results.values() if code == 2)
    assert refused.strip().count("\n") == 0, refused  # one line, no traceback
    assert f"{out} is in use by another counselsynth process (pid {winner})" in refused
    lines = (out / "dialogues.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    cases = [json.loads(line) for line in lines[:-1]]
    assert len(cases) == 120 and len({c["case_id"] for c in cases}) == 120
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and {c["seed"] for c in cases} == {manifest["seed"]}


def test_the_lock_dies_with_its_process(tmp_path: Path, tmp_personas: Path) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = run_cli("generate", str(tmp_personas), "--out", str(out))
        assert code == 2
        assert err.strip() == (
            f"error: {out} is in use by another counselsynth process (pid {holder.pid}); "
            "wait for it to finish or stop it"
        )
        assert not (out / "dialogues.jsonl").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 cannot release anything itself: the kernel drops the lock with the process.
    code, _, err = run_cli("generate", str(tmp_personas), "--out", str(out))
    assert code == 0, err
    assert (out / LOCK).is_file()


def test_merge_export_and_augment_honour_the_lock(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(4)])
    for index in range(2):
        code, _, err = run_cli("generate", str(personas), "--out", str(tmp_path / f"s{index}"), "--shard", f"{index}/2")
        assert code == 0, err
    shards = [str(tmp_path / "s0"), str(tmp_path / "s1")]
    pid = os.getpid()
    with run_lock(tmp_path / "s1"):  # as if s1 were still being generated
        code, _, err = run_cli("merge", *shards, "--out", str(tmp_path / "merged"))
        assert code == 2 and f"{tmp_path / 's1'} is in use by another counselsynth process (pid {pid})" in err
        code, _, err = run_cli("export", shards[1], "--out", str(tmp_path / "hf"), "--split", "train=1")
        assert code == 2 and "in use by another counselsynth process" in err
        assert not (tmp_path / "hf").exists()
    with run_lock(tmp_path / "merged"):  # a second merge into the same folder
        code, _, err = run_cli("merge", *shards, "--out", str(tmp_path / "merged"))
        assert code == 2 and "in use" in err
        assert not (tmp_path / "merged" / "dialogues.jsonl").exists()
    with run_lock(tmp_path / "sw"):
        code, _, err = run_cli(
            "augment", shards[0], "--to", "sw", "--out", str(tmp_path / "sw"), "--model", "openai/x",
            "--api-base", "http://127.0.0.1:9",
        )  # fmt: skip
        # The unreachable endpoint would be reported first if the lock were not checked... it is
        # checked at run time, after preflight; so either refusal is one line and exit 2.
        assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("merge", *shards, "--out", str(tmp_path / "merged"))
    assert code == 0, err


def test_out_pointing_at_a_file_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(b"my notes\n")
    code, _, err = run_cli("generate", str(SHIPPED_PERSONAS), "--out", str(target))
    assert code == 2 and err.strip() == f"error: {target} is a file, not a folder; choose a folder for --out"
    assert target.read_bytes() == b"my notes\n"
    code, _, err = run_cli("merge", str(tmp_path), "--out", str(target))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_a_finished_lock_file_does_not_block(tmp_path: Path, tmp_personas: Path) -> None:
    out = tmp_path / "run"
    assert run_cli("generate", str(tmp_personas), "--out", str(out))[0] == 0
    started = time.monotonic()
    assert run_cli("generate", str(tmp_personas), "--out", str(out))[0] == 0  # resumes: nothing to do
    assert time.monotonic() - started < 60
