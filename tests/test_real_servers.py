"""The LLM path against servers that behave like real ones: keyless, picky about response_format,
sloppy or hopeless in their replies, away for a while, or not an API at all.

Each test runs the real litellm path and the real CLI against the loopback server in one of its
modes; nothing in the project is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import persona_record, run_cli, write_personas

from counselsynth.engines.llm import PLACEHOLDER_KEY
from counselsynth.models import Case
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

MODEL = "openai/smollm-like"


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # A local server needs no key: none is set anywhere in these tests.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def personas(tmp_path: Path, count: int) -> Path:
    frameworks = ("mi", "cbt", "pct")
    records = [persona_record(id=f"r{i}", framework=frameworks[i % 3]) for i in range(count)]
    return write_personas(tmp_path / "personas.yaml", records)


def generate(source: Path, out: Path, base_url: str, *extra: str, **config: Any) -> tuple[int, str]:
    settings = {"sessions": 1, "max_revisions": 0, "backoff_initial": 0.01, "concurrency": 4, **config}
    config_file = out.parent / f"{out.name}.yaml"
    config_file.write_text(yaml.safe_dump(settings))
    args = ["generate", str(source), "--out", str(out), "--model", MODEL, "--api-base", base_url]
    code, stdout, stderr = run_cli(*args, "--config", str(config_file), *extra)
    assert "Traceback" not in stdout + stderr
    return code, stdout + stderr


def cases(out: Path) -> list[Case]:
    return [Case.model_validate_json(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]


def manifest(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return result


def failures(out: Path) -> list[dict[str, Any]]:
    path = out / "failures.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_keyless_server_that_refuses_json_schema_completes_every_case(tmp_path: Path) -> None:
    source = personas(tmp_path, 3)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(reject_json_schema=True), keep_bodies=True) as server:
        code, text = generate(source, out, server.base_url)
        assert server.stats.unexpected == []
    assert code == 0, text
    assert len(cases(out)) == 3 and failures(out) == []
    run = manifest(out)
    assert run["status"] == "complete" and run["counts"]["failed"] == 0
    # The endpoint refused json_schema; the run moved to json_object once and stayed there.
    assert list(run["structured"].values()) == ["json_object"]
    assert run["resilience"]["structured_fallbacks"] == 1 and run["resilience"]["retries"] == 0
    assert server.stats.refused["json_schema"] <= 4  # only the calls in flight before the switch
    accepted = [b["response_format"] for b in server.stats.bodies]
    assert accepted and all(f["type"] == "json_object" and "properties" in f["schema"] for f in accepted)
    assert all("<json-schema>" in b["messages"][-1]["content"] for b in server.stats.bodies)
    assert "structured output:" in text and "json_object" in text
    for path in out.iterdir():
        assert PLACEHOLDER_KEY.encode() not in path.read_bytes(), path
    assert PLACEHOLDER_KEY not in text


def test_prompt_only_json_when_the_server_refuses_every_response_format(tmp_path: Path) -> None:
    source = personas(tmp_path, 1)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(reject_formats=True), keep_bodies=True) as server:
        code, text = generate(source, out, server.base_url, concurrency=1)
    assert code == 0, text
    assert list(manifest(out)["structured"].values()) == ["prompt"]
    assert server.stats.refused == {"json_schema": 1, "json_object": 1}
    assert server.stats.bodies and all("response_format" not in b for b in server.stats.bodies)
    assert manifest(out)["resilience"]["structured_fallbacks"] == 2


def test_non_transient_errors_are_not_retried(tmp_path: Path) -> None:
    source = personas(tmp_path, 2)
    out = tmp_path / "run"
    # A json_schema mode set by the user, refused with a request-validation 500: nothing to retry.
    with LoopbackServer(LoopbackConfig(reject_json_schema=True)) as server:
        code, text = generate(source, out, server.base_url, structured="json_schema", max_attempts=6)
    assert code == 3, text
    assert server.stats.refused["json_schema"] == 2  # one request per case, no retry
    recorded = failures(out)
    assert sorted(r["case_id"] for r in recorded) == ["r0-mi", "r1-cbt"]
    assert all(r["agent"] == "planner" and r["attempts"] == 1 for r in recorded)
    assert manifest(out)["resilience"]["retries"] == 0


def test_sloppy_replies_are_repaired_in_place_and_flagged(tmp_path: Path) -> None:
    source = personas(tmp_path, 2)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(sloppy=1.0)) as server:
        code, text = generate(source, out, server.base_url)
        assert server.stats.unexpected == []
    assert code == 0, text
    written = cases(out)
    usage = [u for case in written for u in case.usage.values()]
    assert sum(u.repairs for u in usage) == 0  # nothing had to be re-asked
    assert sum(u.fixed for u in usage) == sum(u.calls for u in usage)
    clients = [t for case in written for s in case.sessions for t in s.turns if t.speaker == "client"]
    assert clients
    for turn in clients:
        assert turn.annotations.emotion_intensity == 5  # clamped from 10
        assert turn.provenance is not None
        assert "clamped emotion_intensity 10 to 5" in turn.provenance.repairs
        assert any(r.startswith("json in") for r in turn.provenance.repairs)
        assert any(r.startswith("matched emotion") for r in turn.provenance.repairs)
    assert manifest(out)["resilience"]["fixed_replies"] == sum(u.fixed for u in usage)


def test_replies_that_break_every_schema_fail_their_cases_not_the_run(tmp_path: Path) -> None:
    source = personas(tmp_path, 3)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(break_schema=1.0)) as server:
        code, text = generate(source, out, server.base_url, max_repairs=2)
        assert server.stats.unexpected == []
    assert code == 3
    assert "0 of 3 cases; 3 failed (see failures.jsonl)" in text
    # Bounded: each case's first call was asked once and re-asked twice, then the case stopped.
    assert server.stats.completions == 3 * 3
    recorded = failures(out)
    assert sorted(r["case_id"] for r in recorded) == ["r0-mi", "r1-cbt", "r2-pct"]
    for record in recorded:
        assert record["agent"] == "planner" and record["session"] == 1 and record["turn"] is None
        assert record["error"] == "ReplyValidationError"
        assert record["cause"] == f"the planner reply from '{MODEL}' broke its schema"
        assert record["last_reply"] and len(record["last_reply"]) <= 500
    run = manifest(out)
    assert run["status"] == "complete" and run["counts"]["failed"] == 3 and run["counts"]["cases"] == 0
    assert run["failures"] == {f"the planner reply from '{MODEL}' broke its schema": 3}


def test_rerunning_the_command_retries_only_the_failed_cases(tmp_path: Path) -> None:
    source = personas(tmp_path, 6)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(break_schema=0.005, seed=1)) as server:
        code, text = generate(source, out, server.base_url, max_repairs=0, max_failures="6")
    assert code == 3, text
    failed = {r["case_id"] for r in failures(out)}
    finished = {c.case_id: c for c in cases(out)}
    assert failed and finished and not failed & set(finished)
    with LoopbackServer(keep_bodies=True) as healthy:
        code, text = generate(source, out, healthy.base_url, max_repairs=0, max_failures="6")
    assert code == 0, text
    again = {c.case_id: c for c in cases(out)}
    assert set(again) == failed | set(finished)
    # Only the failed cases made calls (each from its last checkpoint), never a finished one.
    retried = sum(u.calls for case_id in failed for u in again[case_id].usage.values())
    assert 0 < healthy.stats.completions <= retried
    assert all(again[case_id] == case for case_id, case in finished.items())
    assert failures(out) == [] and manifest(out)["counts"]["failed"] == 0


def test_max_failures_stops_the_run_and_names_the_dominant_cause(tmp_path: Path) -> None:
    source = personas(tmp_path, 6)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(break_schema=1.0)) as server:
        code, text = generate(source, out, server.base_url, "--max-failures", "1", max_repairs=0, concurrency=1)
    assert code == 3
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert lines == [
        f"error: stopped after 2 of 6 cases failed (--max-failures 1): the planner reply from '{MODEL}' "
        "broke its schema in 2 of 2 failed cases; see failures.jsonl"
    ]
    assert server.stats.completions < 6
    assert manifest(out)["status"] == "failed"
    code, text = generate(source, out, "http://127.0.0.1:9/v1", "--max-failures", "ten")
    assert code == 2 and "--max-failures must be a count" in text


def test_an_endpoint_down_for_twenty_seconds_is_waited_out(tmp_path: Path) -> None:
    source = personas(tmp_path, 3)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(outage=(0.3, 20.0), latency=0.02)) as server:
        code, text = generate(source, out, server.base_url, max_attempts=3)
        assert server.stats.unexpected == []
    assert code == 0, text
    assert len(cases(out)) == 3
    resilience = manifest(out)["resilience"]
    assert resilience["outage_pauses"] >= 1 and resilience["outage_seconds"] >= 15
    assert "the endpoint was down" in text


def test_an_outage_past_the_timeout_interrupts_and_the_rerun_resumes(tmp_path: Path) -> None:
    source = personas(tmp_path, 3)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(outage=(0.3, 60.0), outage_status=503, latency=0.02)) as server:
        code, text = generate(source, out, server.base_url, "--outage-timeout", "2")
    assert code == 1 and "has not answered for" in text and "--outage-timeout 2" in text
    first = manifest(out)
    assert first["status"] == "interrupted" and first["resilience"]["outage_pauses"] == 1
    with LoopbackServer() as healthy:
        code, text = generate(source, out, healthy.base_url, "--outage-timeout", "2")
    assert code == 0, text
    final = manifest(out)
    assert final["status"] == "complete" and len(cases(out)) == 3
    # Counted across the resume: the pause of the first run is still in the manifest.
    assert final["resilience"]["outage_pauses"] == 1
    assert final["resilience"]["retries"] >= first["resilience"]["retries"]


@pytest.mark.parametrize(
    ("config", "route", "expected"),
    [
        (LoopbackConfig(html=True), "/v1", "answered none of 3 probes like an OpenAI-compatible API"),
        (LoopbackConfig(fail_all=500), "/v1", "answered none of 3 probes"),
        (LoopbackConfig(fail_all=400), "/v1", "rejected a minimal request"),
        (LoopbackConfig(api_key="the-right-key"), "/v1", "refused the request (HTTP 401)"),
        (LoopbackConfig(), "/api/v2", "answered 404 to POST /chat/completions"),
    ],
)
def test_endpoints_that_cannot_serve_fail_before_any_case(
    tmp_path: Path, config: LoopbackConfig, route: str, expected: str
) -> None:
    source = personas(tmp_path, 2)
    out = tmp_path / "run"
    with LoopbackServer(config) as server:
        code, text = generate(source, out, server.address + route)
        assert server.stats.completions == 0
    errors = [line for line in text.splitlines() if line.strip()]
    assert code == 2 and len(errors) == 1 and expected in errors[0], text
    assert not out.exists()


def test_augment_fails_the_cases_it_cannot_translate_and_goes_on(tmp_path: Path) -> None:
    source = personas(tmp_path, 3)
    run = tmp_path / "run"
    assert run_cli("generate", str(source), "--out", str(run), "--sessions", "1")[0] == 0
    out = tmp_path / "sw"
    with LoopbackServer(LoopbackConfig(translate=True, break_schema=0.02, seed=4)) as server:
        config = tmp_path / "augment.yaml"
        config.write_text(yaml.safe_dump({"max_repairs": 0, "backoff_initial": 0.01, "max_failures": 3}))
        args = ["augment", str(run), "--to", "sw", "--out", str(out), "--model", MODEL]
        code, stdout, stderr = run_cli(*args, "--api-base", server.base_url, "--config", str(config))
        assert server.stats.unexpected == []
    recorded = failures(out)
    assert code == 3 and recorded, stdout + stderr
    assert {r["agent"] for r in recorded} <= {"translator", "back_translator"}
    assert len(cases(out)) + len(recorded) == 3
    assert f"{len(cases(out))} of 3 cases; {len(recorded)} failed" in stdout


def test_export_takes_the_complete_cases_and_its_card_says_what_failed(tmp_path: Path) -> None:
    source = personas(tmp_path, 6)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(break_schema=0.005, seed=1)) as server:
        code, _ = generate(source, out, server.base_url, max_repairs=0, max_failures="6")
    assert code == 3
    failed = len(failures(out))
    code, stdout, stderr = run_cli("export", str(out), "--out", str(tmp_path / "export"), "--format", "jsonl")
    assert code == 0, stdout + stderr
    card = (tmp_path / "export" / "README.md").read_text()
    assert f"**{failed} of 6 planned cases failed and are not in this dataset**" in card
    assert f"the planner reply from '{MODEL}' broke its schema" in card or "broke its schema" in card
