"""LLM runs on several processes (`--workers N`) and on Ray (`--ray local`), against the loopback server.

The driver alone writes the run folder, so a scaled-out run must leave exactly what a one-process
run leaves: the same cases in the same order, the same failures, a clean resume after kill -9.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import persona_record, write_personas
from test_llm_gateway import KEY_ENV, RESUME_SCRIPT, SECRET, _finished, _open_threads, run_llm

from counselsynth.corpus import read_cases, read_manifest
from counselsynth.errors import DamagedFileError, EngineError
from counselsynth.failures import FailureBudget
from counselsynth.frameworks import load_catalog
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runconfig import RunConfig, build_engine
from counselsynth.runner import Generation, RunSettings
from counselsynth.scaleout.dispatch import slot_shares
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(latency=0.01)) as running:
        yield running
    assert running.stats.unexpected == []


def _personas(tmp_path: Path, count: int) -> Path:
    records = [persona_record(id=f"s{i}", framework=("mi", "cbt", "pct")[i % 3]) for i in range(count)]
    return write_personas(tmp_path / "personas.yaml", records)


def _lines(out: Path) -> list[str]:
    return (out / "dialogues.jsonl").read_text().splitlines()


def test_slot_shares_add_up_to_the_total() -> None:
    assert slot_shares(256, 2) == [128, 128]
    assert slot_shares(5, 3) == [2, 2, 1]
    assert sum(slot_shares(7, 4)) == 7


def test_errors_cross_from_workers_with_their_fields() -> None:
    damaged = pickle.loads(pickle.dumps(DamagedFileError("/run/cache.sqlite", "file is not a database")))
    assert isinstance(damaged, DamagedFileError) and damaged.path == "/run/cache.sqlite"
    assert "cache.sqlite is damaged" in str(damaged)
    failed = pickle.loads(pickle.dumps(EngineError("boom", cause="the critic broke", agent="critic", session=2)))
    assert (failed.cause, failed.agent, failed.session) == ("the critic broke", "critic", 2)


def test_two_worker_llm_run_writes_what_one_process_writes(tmp_path: Path, server: LoopbackServer) -> None:
    personas = _personas(tmp_path, 6)
    common: dict[str, Any] = {"sessions": 1, "max_revisions": 1, "concurrency": 4}
    run_llm(personas, tmp_path / "one", server.base_url, **common)
    answered = server.stats.completions
    server.stats.max_in_flight = 0
    generation, cases = run_llm(personas, tmp_path / "two", server.base_url, workers=2, **common)
    # The same cases, byte for byte, in input order.
    assert _lines(tmp_path / "two") == _lines(tmp_path / "one")
    assert [case.persona_id for case in cases] == [f"s{i}" for i in range(6)]
    # --concurrency stays the total: two workers with two request slots each.
    assert server.stats.max_in_flight <= 4
    manifest = read_manifest(tmp_path / "two")
    executor = manifest.executor
    assert executor["kind"] == "processes" and executor["workers"] == 2
    per_worker = executor["per_worker"]
    assert [w["slots"] for w in per_worker.values()] == [2, 2]
    assert all(w["cases"] > 0 for w in per_worker.values()), per_worker  # work went to both
    calls = server.stats.completions - answered
    assert sum(w["calls"] for w in per_worker.values()) == calls == manifest.resilience["calls"]
    assert manifest.usage["total"].calls == calls and manifest.settings["workers"] == 2
    assert generation.workers == 2 and manifest.status == "complete"


def test_failures_land_in_failures_jsonl_as_in_one_process(tmp_path: Path) -> None:
    personas = _personas(tmp_path, 9)
    config = LoopbackConfig(latency=0.005, break_schema=0.01)
    folders = {}
    for name, workers in (("one", 1), ("two", 2)):
        out = tmp_path / name
        with LoopbackServer(config) as server:
            catalog = load_catalog()
            engine = build_engine(
                RunConfig(model="openai/loopback", api_base=server.base_url, api_key_env=KEY_ENV, max_repairs=0), out
            )
            settings = RunSettings(out_dir=out, sessions=1, max_revisions=0, concurrency=4, workers=workers)
            generation = Generation(
                load_personas(personas, catalog.frameworks), catalog, PromptLibrary(), engine, settings
            )
            generation.failure_budget = FailureBudget(count=9)
            result = asyncio.run(generation.run())
        folders[name] = (result, [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()])
    (one, one_failures), (two, two_failures) = folders["one"], folders["two"]
    assert 0 < two.failed == one.failed < 9  # some cases failed, the others were written
    assert [f["case_id"] for f in two_failures] == [f["case_id"] for f in one_failures]
    assert [f["cause"] for f in two_failures] == [f["cause"] for f in one_failures]
    assert _lines(tmp_path / "two") == _lines(tmp_path / "one")
    assert read_manifest(tmp_path / "two").failures == read_manifest(tmp_path / "one").failures


def _command(personas: Path, out: Path, base_url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-c", RESUME_SCRIPT, "generate", str(personas), "--out", str(out),
        "--model", "openai/loopback", "--api-base", base_url, "--api-key-env", KEY_ENV,
        "--sessions", "1", "--max-revisions", "0", "--concurrency", "4", *extra,
    ]  # fmt: skip


def _kill_midway(command: list[str], out: Path, finished: int) -> dict[str, str]:
    """Start the run, kill -9 the driver once `finished` cases are written and another is part-way."""
    env = {**os.environ, KEY_ENV: SECRET}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        kept = _finished(out)
        if len(kept) >= finished and _open_threads(out) - set(kept):
            break
        assert process.poll() is None, f"the run ended before it could be killed: {process.communicate()[1]}"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return _finished(out)


def _dialogue(line: str) -> list[list[tuple[str, str]]]:
    case = json.loads(line)
    return [[(turn["speaker"], turn["text"]) for turn in session["turns"]] for session in case["sessions"]]


@pytest.mark.parametrize("executor", [["--workers", "2"], ["--ray", "local", "--workers", "2"]], ids=["workers", "ray"])
def test_scaled_out_run_survives_kill_9_of_the_driver(tmp_path: Path, executor: list[str]) -> None:
    personas = _personas(tmp_path, 8)
    with LoopbackServer(LoopbackConfig(latency=0.02)) as server:
        reference = tmp_path / "one"
        done = subprocess.run(
            _command(personas, reference, server.base_url),
            env={**os.environ, KEY_ENV: SECRET},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        out = tmp_path / "scaled"
        command = _command(personas, out, server.base_url, *executor)
        kept = _kill_midway(command, out, 2)
        assert 2 <= len(kept) < 8
        time.sleep(0.5)  # let the server finish answering requests the dead driver sent
        finished = subprocess.run(command, env={**os.environ, KEY_ENV: SECRET}, capture_output=True, text=True)
        assert finished.returncode == 0, finished.stderr
        assert "resumed: " in finished.stderr
        assert server.stats.unexpected == []
    final = _finished(out)
    ordered = _lines(out)
    assert ordered == [line for line in ordered if json.loads(line)["case_id"] in final]
    expected = _lines(reference)
    assert [json.loads(line)["case_id"] for line in ordered] == [json.loads(line)["case_id"] for line in expected]
    # Cases finished before the kill are kept as they were, and are the one-process run's cases.
    for case_id, line in kept.items():
        assert final[case_id] == line and line in expected, f"{case_id} was redone or differs"
    # Resumed cases (from checkpoints and the response cache) hold the same dialogues.
    assert [_dialogue(line) for line in ordered] == [_dialogue(line) for line in expected]
    manifest = read_manifest(out)
    assert manifest.status == "complete" and _open_threads(out) == set()
    assert manifest.executor["kind"] == ("ray" if "--ray" in executor else "processes")
    assert len(list(read_cases(out))) == 8


def test_ray_without_the_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # Ray is installed for the tests; hide it the way a missing package looks to `import`.
    script = "import sys\nsys.modules['ray'] = None\n" + RESUME_SCRIPT
    command = [
        sys.executable, "-c", script, "generate", str(_personas(tmp_path, 1)), "--out", str(tmp_path / "run"),
        "--model", "openai/loopback", "--api-base", "http://127.0.0.1:9/v1", "--ray", "local",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --ray needs the 'ray' extra: pip install 'counselsynth[ray]'"
    ], done.stderr


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return found


def test_a_worker_that_dies_stops_the_run_which_then_resumes(tmp_path: Path) -> None:
    personas = _personas(tmp_path, 6)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(latency=0.02)) as server:
        command = _command(personas, out, server.base_url, "--workers", "2")
        env = {**os.environ, KEY_ENV: SECRET}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while not _open_threads(out) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.05)
        workers = _children(process.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 1
        lines = stderr.strip().splitlines()
        assert lines[-1].startswith("error: worker process ") and "repeat the command to resume" in lines[-1], stderr
        assert "Traceback" not in stderr
        assert read_manifest(out).status == "interrupted"
        assert _gone(workers[1]), "the other worker outlived the run"
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr
        assert server.stats.unexpected == []
    assert read_manifest(out).status == "complete"
    assert [json.loads(line)["persona_id"] for line in _lines(out)] == [f"s{i}" for i in range(6)]


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


STORES = ("checkpoints.sqlite", "cache.sqlite")


def _holders(out: Path) -> dict[int, str]:
    """Processes with one of the run folder's SQLite files (or its -wal/-shm) open: pid -> cmdline."""
    targets = {str(out / name) + suffix for name in STORES for suffix in ("", "-wal", "-shm")}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            if links & targets:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # the process ended while we looked, or is not ours to read
    return found


def _ray_processes(kind: str) -> set[int]:
    """Live Ray worker processes running an actor of class `kind` (Ray titles them `ray::Class...`)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(f"ray::{kind}".encode()):
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def test_ray_actors_reach_the_run_folder_only_through_the_store_on_the_drivers_node(tmp_path: Path) -> None:
    """On a cluster the run folder is on the driver's machine only: no case actor may open its SQLite
    files (WAL needs its writers on one host), and the store answers the cache and the checkpoints."""
    personas = _personas(tmp_path, 6)
    env = {**os.environ, KEY_ENV: SECRET}
    with LoopbackServer(LoopbackConfig(latency=0.02)) as server:
        reference = tmp_path / "one"
        done = subprocess.run(_command(personas, reference, server.base_url), env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        answered = server.stats.completions
        out = tmp_path / "ray"
        out.mkdir()
        # The one-process run's replies, so every request of the Ray run must be answered from them.
        shutil.copy(reference / "cache.sqlite", out / "cache.sqlite")
        command = _command(personas, out, server.base_url, "--ray", "local", "--workers", "2")
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        holders: dict[int, str] = {}
        actors: set[int] = set()
        stores: set[int] = set()
        while process.poll() is None:
            holders.update(_holders(out))
            actors |= _ray_processes("CaseActor")
            stores |= _ray_processes("FolderStore")
            time.sleep(0.02)
        assert process.returncode == 0, process.communicate()[1]
        assert server.stats.completions == answered and server.stats.unexpected == []
    # Nothing but the driver and the store held the files, and the store did while the actors ran.
    assert set(holders) - stores <= {process.pid}, holders
    assert len(actors) == 2 and len(stores) == 1, (actors, stores)
    assert stores <= set(holders), holders
    # The same dialogues as the one-process run, every reply taken from the cache through the store
    # (the lines differ only in saying so: cached provenance, no new tokens).
    assert [_dialogue(line) for line in _lines(out)] == [_dialogue(line) for line in _lines(reference)]
    manifest = read_manifest(out)
    assert manifest.counts["cache_hits"] == manifest.usage["total"].calls > 0, manifest.counts
