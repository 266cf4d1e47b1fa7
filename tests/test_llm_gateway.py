"""The real litellm path against the loopback OpenAI-compatible server the tests start.

Nothing in the project is mocked: the test double is the HTTP server, and it is strict (any
request other than a chat completion is recorded as unexpected, and every test checks none came).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import persona_record, run_cli, write_personas

from counselsynth.corpus import read_manifest
from counselsynth.engines.ratelimit import RateLimiter
from counselsynth.frameworks import load_catalog
from counselsynth.models import Case
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.redaction import redact
from counselsynth.runconfig import RunConfig, build_engine
from counselsynth.runner import Generation, RunSettings
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

KEY_ENV = "COUNSELSYNTH_TEST_KEY"
SECRET = "sk-loopback-secret-0123456789"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(), keep_bodies=True) as running:
        yield running
    assert running.stats.unexpected == []


@pytest.fixture
def personas(tmp_path: Path) -> Path:
    records = [
        persona_record(id="p1"),
        persona_record(id="p2", framework="cbt", stage_of_change="preparation"),
        persona_record(id="p3", framework="pct", style="verbose", risk={"level": "high"}),
        persona_record(id="p4", framework="mi", style="reserved"),
    ]
    return write_personas(tmp_path / "personas.yaml", records)


def run_llm(personas: Path, out: Path, base_url: str, **config: Any) -> tuple[Generation, list[Case]]:
    settings = {k: config.pop(k) for k in list(config) if k in RunSettings.__dataclass_fields__}
    run_config = RunConfig(model="openai/loopback", api_base=base_url, api_key_env=KEY_ENV, **config)
    catalog = load_catalog()
    engine = build_engine(run_config, out)
    generation = Generation(
        load_personas(personas, catalog.frameworks),
        catalog,
        PromptLibrary(),
        engine,
        RunSettings(out_dir=out, **settings),
    )
    asyncio.run(generation.run())
    cases = [Case.model_validate_json(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    return generation, cases


def test_llm_run_produces_annotated_cases_through_litellm(
    tmp_path: Path, server: LoopbackServer, personas: Path
) -> None:
    generation, cases = run_llm(personas, tmp_path / "run", server.base_url, concurrency=4)
    catalog = load_catalog()
    assert [c.persona_id for c in cases] == ["p1", "p2", "p3", "p4"]
    for case in cases:
        assert case.engine == "litellm" and not case.offline and case.model == "openai/loopback"
        assert case.language == "en"
        framework = catalog.get(case.framework)
        for session in case.sessions:
            assert session.critique is not None
            for turn in session.turns:
                assert turn.provenance is not None and turn.provenance.token_count == "provider"
                if turn.speaker == "counselor":
                    assert turn.annotations.code in framework.code_ids
    calls = sum(u.calls for c in cases for u in c.usage.values())
    assert calls == server.stats.completions
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["engine"] == "litellm" and manifest["offline"] is False
    assert manifest["usage"]["total"]["calls"] == calls
    assert manifest["efficiency"]["mean_prefix_share"] >= 0.9
    # Every request asked for a JSON schema and carried an explicit model.
    assert all(b["response_format"]["type"] == "json_schema" for b in server.stats.bodies)


def test_concurrency_bounds_requests_in_flight_while_more_cases_are_open(tmp_path: Path, personas: Path) -> None:
    # With 2 request slots and 4 cases, every case is open at once (cases are chains of calls,
    # so a slot freed by one case is taken by another), but never more than 2 requests are out.
    with LoopbackServer(LoopbackConfig(latency=0.02)) as server:
        generation, cases = run_llm(personas, tmp_path / "run", server.base_url, concurrency=2, sessions=1)
    assert len(cases) == 4 and generation.open_cases() >= 4
    assert server.stats.max_in_flight == 2
    assert server.stats.unexpected == []


def test_exactly_one_call_per_counselor_turn(tmp_path: Path, server: LoopbackServer, personas: Path) -> None:
    _, cases = run_llm(personas, tmp_path / "run", server.base_url, max_revisions=0)
    for case in cases:
        turns = sum(1 for s in case.sessions for t in s.turns if t.speaker == "counselor")
        assert case.usage["counselor"].calls == turns
        assert case.usage["critic"].calls == len(case.sessions)
        assert case.usage["planner"].calls == 1


def test_prompts_are_append_only_within_a_session(tmp_path: Path, server: LoopbackServer, personas: Path) -> None:
    run_llm(personas, tmp_path / "run", server.base_url, limit=1, max_revisions=0, sessions=1)
    counselor = [b["messages"] for b in server.stats.bodies if "next move" in b["messages"][-1]["content"]]
    assert len(counselor) > 5
    for earlier, later in zip(counselor, counselor[1:], strict=False):
        assert later[: len(earlier) - 1] == earlier[:-1]


def test_twenty_percent_faults_lose_and_duplicate_nothing(tmp_path: Path, personas: Path) -> None:
    faults = {"429": 0.05, "500": 0.05, "timeout": 0.05, "malformed": 0.05}
    with LoopbackServer(LoopbackConfig(faults=faults, stall=1.5, seed=3)) as server:
        _, cases = run_llm(
            personas,
            tmp_path / "run",
            server.base_url,
            timeout=0.5,
            backoff_initial=0.01,
            max_attempts=10,
            # A malformed answer is a reply to re-ask, not a transient fault: with the default two
            # re-asks, three in a row (1 in 8,000 at 5%) would fail a case in about one run in ten.
            max_repairs=5,
            concurrency=4,
        )
        assert server.stats.unexpected == []
    assert sorted(c.case_id for c in cases) == ["p1-mi", "p2-cbt", "p3-pct", "p4-mi"]
    assert set(server.stats.faults) == {"429", "500", "timeout", "malformed"}
    retries = sum(u.retries for c in cases for u in c.usage.values())
    repairs = sum(u.repairs for c in cases for u in c.usage.values())
    assert retries >= server.stats.faults["429"] + server.stats.faults["500"]
    assert repairs == server.stats.faults["malformed"]


def test_prompt_mode_for_providers_without_schema_support(
    tmp_path: Path, server: LoopbackServer, personas: Path
) -> None:
    _, cases = run_llm(personas, tmp_path / "run", server.base_url, structured="prompt", limit=1, sessions=1)
    assert cases and all("response_format" not in b for b in server.stats.bodies)
    assert all("<json-schema>" in b["messages"][-1]["content"] for b in server.stats.bodies)


def test_cache_reproduces_the_corpus_without_new_calls(tmp_path: Path, server: LoopbackServer, personas: Path) -> None:
    run_llm(personas, tmp_path / "first", server.base_url, seed=5)
    calls = server.stats.completions
    cache = tmp_path / "first" / "cache.sqlite"
    generation, _ = run_llm(personas, tmp_path / "second", server.base_url, seed=5, cache=cache)
    assert server.stats.completions == calls
    first = (tmp_path / "first" / "dialogues.jsonl").read_text()
    second = (tmp_path / "second" / "dialogues.jsonl").read_text()
    # The replay says where each reply came from; apart from that flag the corpus is identical.
    assert '"cached":false' not in second
    assert second.replace('"cached":true', '"cached":false') == first
    manifest = json.loads((tmp_path / "second" / "manifest.json").read_text())
    assert manifest["counts"]["cache_hits"] == calls


def test_router_spreads_calls_over_deployments(tmp_path: Path, personas: Path) -> None:
    with LoopbackServer() as one, LoopbackServer() as two:
        router = [
            {
                "model_name": "counselor-pool",
                "litellm_params": {"model": "openai/loopback", "api_base": s.base_url, "api_key": SECRET},
            }
            for s in (one, two)
        ]
        settings = {"out_dir": tmp_path / "run", "limit": 2}
        catalog = load_catalog()
        engine = build_engine(RunConfig(router=router), tmp_path / "run")
        generation = Generation(
            load_personas(personas, catalog.frameworks), catalog, PromptLibrary(), engine, RunSettings(**settings)
        )
        asyncio.run(generation.run())
        assert one.stats.completions > 0 and two.stats.completions > 0
        assert one.stats.unexpected == two.stats.unexpected == []


def test_rate_limiter_spaces_requests() -> None:
    async def burst() -> float:
        limiter = RateLimiter(rpm=600, tpm=None)  # 10 per second, bucket of 600
        limiter._requests = 0  # start empty so the refill rate decides
        started = time.monotonic()
        for _ in range(5):
            await limiter.acquire(10)
        return time.monotonic() - started

    assert asyncio.run(burst()) >= 0.4


def _cli(*args: str) -> tuple[int, str]:
    code, out, err = run_cli(*args)
    return code, out + err


def test_missing_key_unknown_model_and_unreachable_endpoint_fail_fast(
    tmp_path: Path, personas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    with LoopbackServer() as server:
        monkeypatch.delenv(KEY_ENV)
        code, text = _cli(
            "generate",
            str(personas),
            "--out",
            str(out),
            "--model",
            "openai/x",
            "--api-base",
            server.base_url,
            "--api-key-env",
            KEY_ENV,
        )
        assert code == 2 and f"{KEY_ENV} is not set" in text and "Traceback" not in text
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        code, text = _cli("generate", str(personas), "--out", str(out), "--model", "openai/gpt-4o-mini")
        assert code == 2 and "missing API key" in text and "OPENAI_API_KEY" in text
        code, text = _cli("generate", str(personas), "--out", str(out), "--model", "not-a-provider-model")
        assert code == 2 and "unknown model 'not-a-provider-model'" in text
        assert server.stats.requests == 0
    monkeypatch.setenv(KEY_ENV, SECRET)
    code, text = _cli(
        "generate",
        str(personas),
        "--out",
        str(out),
        "--model",
        "openai/x",
        "--api-base",
        "http://127.0.0.1:9",
        "--api-key-env",
        KEY_ENV,
    )
    assert code == 2 and "cannot reach" in text
    assert not (out / "dialogues.jsonl").exists()


def test_api_keys_never_appear_in_records_manifests_or_errors(tmp_path: Path, personas: Path) -> None:
    with LoopbackServer(LoopbackConfig(faults={"500": 1.0})) as server:
        code, text = _cli(
            "generate",
            str(personas),
            "--out",
            str(tmp_path / "failing"),
            "--model",
            "openai/x",
            "--api-base",
            server.base_url,
            "--api-key-env",
            KEY_ENV,
            "--config",
            str(_config(tmp_path, max_attempts=2, backoff_initial=0.01)),
        )
    # Every case fails (the probe is answered, completions are not), and the run stops at the budget.
    assert code == 3 and "answered HTTP 500" in text and "Traceback" not in text
    assert "failed after up to 2 attempts" in (tmp_path / "failing" / "failures.jsonl").read_text()
    with LoopbackServer() as server:
        code, _ = _cli(
            "generate",
            str(personas),
            "--out",
            str(tmp_path / "ok"),
            "--model",
            "openai/x",
            "--api-base",
            server.base_url,
            "--api-key-env",
            KEY_ENV,
            "--limit",
            "1",
        )
    assert code == 0
    assert SECRET not in text
    for folder in (tmp_path / "failing", tmp_path / "ok"):
        for path in folder.iterdir():
            assert SECRET.encode() not in path.read_bytes(), path
    assert redact(f"bad key {SECRET}", [SECRET]) == "bad key ***"
    assert redact("Incorrect API key provided: sk-abcdefghijk", []) == "Incorrect API key provided: sk-***"


def _config(tmp_path: Path, **settings: Any) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def test_config_file_holds_the_same_settings(tmp_path: Path, server: LoopbackServer, personas: Path) -> None:
    config = _config(
        tmp_path,
        model="openai/loopback",
        api_base=server.base_url,
        api_key_env=KEY_ENV,
        critic_model="openai/strict-critic",
        sessions=1,
        limit=1,
        seed=9,
    )
    code, text = _cli("generate", str(personas), "--out", str(tmp_path / "run"), "--config", str(config))
    assert code == 0, text
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["models"]["critic"] == "openai/strict-critic"
    assert manifest["models"]["counselor"] == "openai/loopback"
    assert manifest["seed"] == 9 and manifest["settings"]["sessions"] == 1
    bad = _config(tmp_path, modle="typo")
    code, text = _cli("generate", str(personas), "--out", str(tmp_path / "x"), "--config", str(bad))
    assert code == 2 and "field 'modle'" in text


def test_shards_merge_into_the_unsharded_run(tmp_path: Path, personas: Path) -> None:
    assert _cli("generate", str(personas), "--out", str(tmp_path / "all"))[0] == 0
    for index in range(3):
        code, text = _cli("generate", str(personas), "--out", str(tmp_path / f"s{index}"), "--shard", f"{index}/3")
        assert code == 0, text
    code, text = _cli("merge", *(str(tmp_path / f"s{i}") for i in range(3)), "--out", str(tmp_path / "merged"))
    assert code == 0, text
    merged = (tmp_path / "merged" / "dialogues.jsonl").read_bytes()
    assert merged == (tmp_path / "all" / "dialogues.jsonl").read_bytes()
    code, text = _cli("merge", str(tmp_path / "s0"), str(tmp_path / "s2"), "--out", str(tmp_path / "gap"))
    assert code == 2 and "missing shards [1]" in text
    code, text = _cli("generate", str(personas), "--out", str(tmp_path / "bad"), "--shard", "3/3")
    assert code == 2 and "0 <= i < n" in text


RESUME_SCRIPT = """
import sys
from counselsynth.cli import main
sys.argv = ["counselsynth", *sys.argv[1:]]
main()
"""


def _open_threads(out: Path) -> set[str]:
    """Case ids with a checkpoint: cases started and not finished (a finished case's thread is deleted)."""
    if not (out / "checkpoints.sqlite").exists():
        return set()
    with contextlib.closing(sqlite3.connect(out / "checkpoints.sqlite", timeout=5)) as db:
        try:
            rows = db.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
        except sqlite3.OperationalError:  # the table is not there yet
            return set()
    return {str(thread).split("@")[0] for (thread,) in rows}


def _finished(out: Path) -> dict[str, str]:
    path = out / "dialogues.jsonl"
    lines = path.read_text().split("\n")[:-1] if path.exists() else []
    return {json.loads(line)["case_id"]: line for line in lines}


def test_a_run_killed_with_finished_and_half_done_cases_redoes_only_what_was_lost(tmp_path: Path) -> None:
    records = [persona_record(id=f"k{i}", framework=("mi", "cbt", "pct")[i % 3]) for i in range(8)]
    personas = write_personas(tmp_path / "personas.yaml", records)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(latency=0.01)) as server:
        command = [
            sys.executable, "-c", RESUME_SCRIPT, "generate", str(personas), "--out", str(out),
            "--model", "openai/loopback", "--api-base", server.base_url, "--api-key-env", KEY_ENV,
            "--concurrency", "1", "--max-revisions", "0",
        ]  # fmt: skip
        env = {**os.environ, KEY_ENV: SECRET}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        # Kill once some cases are finished and others are part-way, with checkpoints on disk.
        while time.monotonic() < deadline:
            kept = _finished(out)
            if len(kept) >= 2 and _open_threads(out) - set(kept):
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(0.5)  # let the server finish answering requests the dead client sent
        kept = _finished(out)
        half_done = _open_threads(out) - set(kept)
        assert 2 <= len(kept) < 8 and half_done, (kept.keys(), half_done)
        answered_before = server.stats.completions
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr
        resumed_calls = server.stats.completions - answered_before
        assert server.stats.unexpected == []
    final = _finished(out)
    assert sorted(final) == sorted(f"k{i}-{('mi', 'cbt', 'pct')[i % 3]}" for i in range(8))
    assert len((out / "dialogues.jsonl").read_text().split("\n")) == 9  # 8 lines, none duplicated
    for case_id, line in kept.items():
        assert final[case_id] == line, f"{case_id} was redone"
    manifest = read_manifest(out)
    assert manifest.status == "complete" and _open_threads(out) == set()
    # Call accounting. Every call counted in the final cases was kept in a finished case, restored
    # with a half-done case's checkpoint, answered from the cache, or asked again, once.
    kept_calls = sum(u.calls for line in kept.values() for u in Case.model_validate_json(line).usage.values())
    hits = manifest.counts["cache_hits"]
    restored = manifest.usage["total"].calls - kept_calls - hits - resumed_calls
    # Half-done cases continued from their checkpoints: restarted, they would restore nothing.
    assert restored > 0
    # Every answer given before the kill is accounted for, but at most the one request in flight
    # (concurrency 1) whose answer the killed process never read.
    assert answered_before - kept_calls - restored - hits in (0, 1)
