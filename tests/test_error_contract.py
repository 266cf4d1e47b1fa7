"""What the environment throws ends as one line and an exit code, and written data stays safe.

Disk full, a file size limit, a damaged SQLite database, terminal escapes in a persona value:
one line that names the file, exit 2 for bad input or 1 for the environment, never a traceback;
a run that stops this way says `interrupted` in its manifest and resumes once the cause is gone.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import persona_record, run_cli, write_personas

from counselsynth.testing.loopback import LoopbackServer


def _valid_lines(path: Path) -> list[str]:
    """Complete lines; every one must be a whole JSON record (a torn last line is not counted)."""
    data = path.read_text(encoding="utf-8")
    lines = data.split("\n")
    for line in lines[:-1]:
        json.loads(line)
    return lines[:-1]


def _errors(stderr: str) -> list[str]:
    """The error lines of a command's stderr (a progress bar may have drawn a frame before)."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_write_that_hits_a_limit_is_one_line_and_the_run_resumes(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(40)])
    out = tmp_path / "run"
    command = [sys.executable, "-m", "counselsynth", "generate", str(personas), "--out", str(out), "--workers", "1"]
    limited = subprocess.run(
        command, capture_output=True, text=True, timeout=300, preexec_fn=lambda: _limit_file_size(200_000)
    )
    assert limited.returncode == 1, limited.stderr
    (line,) = _errors(limited.stderr)
    assert line.startswith(f"error: {out / 'dialogues.jsonl'}: File too large")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = _valid_lines(out / "dialogues.jsonl")
    assert 0 < len(kept) < 40
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    final = _valid_lines(out / "dialogues.jsonl")
    assert len(final) == 40 and set(kept) <= set(final)


NAMESPACE_SCRIPT = """
import json, subprocess, sys
from pathlib import Path
mount, personas = Path(sys.argv[1]), sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
out = mount / "run"
command = [sys.executable, "-m", "counselsynth", "generate", personas, "--out", str(out), "--workers", "1"]
full = subprocess.run(command, capture_output=True, text=True)
state = {"code": full.returncode, "stderr": full.stderr,
         "manifest": json.loads((out / "manifest.json").read_text())["status"],
         "lines": (out / "dialogues.jsonl").read_text().split("\\n")}
subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
freed = subprocess.run(command, capture_output=True, text=True)
state.update(resumed=freed.returncode, resumed_stderr=freed.stderr,
             final=(out / "dialogues.jsonl").read_text().split("\\n"))
print(json.dumps(state))
"""


def _user_namespaces() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _user_namespaces(), reason="needs unshare and user namespaces for a small tmpfs")
def test_a_full_disk_is_one_line_the_manifest_says_interrupted_and_the_run_resumes(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(60)])
    mount = tmp_path / "small"
    mount.mkdir()
    probe = subprocess.run(
        ["unshare", "-rm", sys.executable, "-c", NAMESPACE_SCRIPT, str(mount), str(personas)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    state = json.loads(probe.stdout)
    assert state["code"] == 1, state["stderr"]
    (line,) = _errors(state["stderr"])
    assert "No space left on device" in line and "dialogues.jsonl" in line
    assert state["manifest"] == "interrupted"
    kept = state["lines"][:-1]
    assert 0 < len(kept) < 60 and all(json.loads(line) for line in kept)
    assert state["resumed"] == 0, state["resumed_stderr"]
    final = state["final"][:-1]
    assert len(final) == 60 and set(kept) <= set(final)


KEY_ENV = "COUNSELSYNTH_TEST_KEY"


def _llm_run(out: Path, personas: Path, url: str) -> tuple[int, str, str]:
    return run_cli(
        "generate", str(personas), "--out", str(out), "--model", "openai/loopback", "--api-base", url,
        "--api-key-env", KEY_ENV, "--limit", "1", "--sessions", "1",
    )  # fmt: skip


def test_a_damaged_database_is_one_line_naming_it(
    tmp_path: Path, tmp_personas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-loopback-placeholder")
    out = tmp_path / "run"
    with LoopbackServer() as server:
        code, _, err = _llm_run(out, tmp_personas, server.base_url)
        assert code == 0, err
        before = (out / "dialogues.jsonl").read_bytes()
        for name in ("checkpoints.sqlite", "cache.sqlite"):
            damaged = tmp_path / f"damaged-{name}"
            shutil.copytree(out, damaged)
            for leftover in damaged.glob(f"{name}-*"):  # WAL side files of the healthy database
                leftover.unlink()
            (damaged / name).write_bytes(b"this is not a database" * 200)
            if name == "cache.sqlite":  # a new run in the folder, so the cache is asked
                (damaged / "manifest.json").unlink()
                (damaged / "dialogues.jsonl").unlink()
            code, _, err = _llm_run(damaged, tmp_personas, server.base_url)
            assert code == 2, err
            (line,) = _errors(err)
            assert line.startswith(f"error: {damaged / name} is damaged (file is not a database)"), err
            if name == "checkpoints.sqlite":
                assert (damaged / "dialogues.jsonl").read_bytes() == before
                assert json.loads((damaged / "manifest.json").read_text())["status"] == "interrupted"


def test_terminal_escapes_in_persona_values_never_reach_the_terminal(tmp_path: Path) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mcbt\r\nerror: fake second line"
    path = write_personas(tmp_path / "p.yaml", [persona_record(id="p1", framework=hostile)])
    code, _, err = run_cli("personas", "validate", str(path))
    assert code == 2
    assert "\x1b" not in err and "\r" not in err and err.count("\n") == 1
    assert "field 'framework': unknown framework 'cbt error: fake second line'" in err


def test_sigterm_stops_a_run_like_ctrl_c_and_leaves_no_worker(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(600)])
    out = tmp_path / "run"
    process, children = _start_with_workers(personas, out)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted; finished cases are kept" in stderr and "Traceback" not in stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert _gone(children)
    _valid_lines(out / "dialogues.jsonl")


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id=f"p{i}") for i in range(600)])
    process, children = _start_with_workers(personas, tmp_path / "run")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _gone(children), f"workers {children} outlived their parent"


def _start_with_workers(personas: Path, out: Path) -> tuple[subprocess.Popen[str], list[int]]:
    command = [sys.executable, "-m", "counselsynth", "generate", str(personas), "--out", str(out), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dialogues = out / "dialogues.jsonl"
    for _ in range(1200):
        if dialogues.exists() and dialogues.stat().st_size > 0:
            break
        assert process.poll() is None, "the run ended before it could be stopped"
        subprocess.run(["sleep", "0.1"])
    children = _children(process.pid)
    assert len(children) == 2, children
    return process, children


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pids: list[int], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds * 10)):
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        if not alive:
            return True
        subprocess.run(["sleep", "0.1"])
    return False


def _zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
