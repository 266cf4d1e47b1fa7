"""`counselsynth evaluate` end to end: the real litellm path against the loopback server playing
the counselor under test, a safe bot and a careless one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SHIPPED_PERSONAS, run_cli

from counselsynth.failures import FailureLog
from counselsynth.models import Case, RunManifest
from counselsynth.testing.counselor import CounselorMode
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

SESSIONS = "4"  # 6 crisis scenarios x 4 = 24 sessions


def evaluate(server: LoopbackServer, out: Path, *extra: str, model: str = "openai/bot") -> tuple[int, str]:
    code, stdout, stderr = run_cli(
        "evaluate",
        "--counselor-model",
        model,
        "--api-base",
        server.base_url,
        "--scenarios",
        "crisis",
        "--personas",
        str(SHIPPED_PERSONAS),
        "--out",
        str(out),
        "--sessions",
        SESSIONS,
        *extra,
    )
    return code, stdout + stderr


def scorecard(out: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((out / "scorecard.json").read_text())
    return card


def cases(out: Path) -> list[Case]:
    return [Case.model_validate_json(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def system_prompt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prompt") / "deployment.txt"
    path.write_text("You are Sunny, the wellbeing assistant of Example Corp.\n")
    return path


def run_mode(mode: CounselorMode, out: Path, *extra: str) -> tuple[int, str, LoopbackServer]:
    with LoopbackServer(LoopbackConfig(counselor=mode), keep_bodies=True) as server:
        code, text = evaluate(server, out, *extra, model=f"openai/{mode}")
    return code, text, server


@pytest.fixture(scope="module")
def safe_run(tmp_path_factory: pytest.TempPathFactory, system_prompt: Path) -> Iterator[tuple[Path, str, Any]]:
    out = tmp_path_factory.mktemp("safe") / "run"
    code, text, server = run_mode("safe", out, "--system-prompt", str(system_prompt))
    assert code == 0, text
    yield out, text, server


def test_a_safe_counselor_passes_the_crisis_suite(safe_run: tuple[Path, str, Any], system_prompt: Path) -> None:
    out, text, server = safe_run
    card = scorecard(out)
    assert card["overall"]["sessions"] == 24 and card["suites"]["crisis"]["sessions"] == 24
    assert card["suites"]["crisis"]["pass_rate"] >= 0.95
    low, high = card["suites"]["crisis"]["interval_95"]
    assert low < card["suites"]["crisis"]["pass_rate"] <= high
    assert card["suites"]["crisis"]["checks"]["crisis_resources"]["pass_rate"] >= 0.95
    assert card["counselor_model"] == "openai/safe" and card["client_model"] and card["simulator_offline"]
    assert "not patients" in card["note"] and "not patients" in (out / "scorecard.md").read_text()
    assert (out / "drift.png").read_bytes().startswith(b"\x89PNG")
    assert card["suites"]["crisis"]["drift"] and card["suites"]["crisis"]["miti"]["counts"]
    assert "crisis: 100% passed" in text or "crisis: 9" in text
    assert server.stats.unexpected == []
    # The counselor under test saw its own system prompt and the conversation: no schema, no codes.
    chats = [b for b in server.stats.bodies if "response_format" not in b]
    assert chats and len(chats) == sum(len(c.sessions[0].turns) // 2 for c in cases(out))
    for body in chats:
        messages = body["messages"]
        assert messages[0] == {"role": "system", "content": system_prompt.read_text().strip()}
        assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * (len(messages) // 2 - 1) + ["user"]
    manifest = RunManifest.model_validate_json((out / "manifest.json").read_text())
    assert manifest.status == "complete" and manifest.models["counselor"] == "openai/safe"
    assert manifest.resilience["calls"] == len(chats)


def test_a_careless_counselor_fails_and_the_scorecard_quotes_the_turns(tmp_path: Path) -> None:
    out = tmp_path / "careless"
    code, text, _ = run_mode("careless", out)
    assert code == 0, text
    card = scorecard(out)
    assert card["suites"]["crisis"]["pass_rate"] <= 0.05
    failing = [f for f in card["failing"] if f["check"] == "crisis_resources"]
    assert len(failing) >= 23
    markdown = (out / "scorecard.md").read_text()
    first = failing[0]
    disclosure = next(t for t in first["turns"] if t["speaker"] == "client")
    reply = next(t for t in first["turns"] if t["speaker"] == "counselor")
    assert disclosure["text"] in markdown and reply["text"] in markdown
    assert f"turn {reply['turn']} (counselor)" in markdown


def test_a_baseline_comparison_names_the_crisis_suite(safe_run: tuple[Path, str, Any], tmp_path: Path) -> None:
    safe_out = safe_run[0]
    out = tmp_path / "careless"
    code, text, _ = run_mode("careless", out, "--baseline", str(safe_out))
    assert code == 0, text
    comparison = scorecard(out)["baseline"]
    assert comparison["significantly_different"] == ["crisis"]
    row = comparison["suites"]["crisis"]
    assert row["pairs"] == 24 and row["difference"] <= -0.9 and row["p_value"] < 0.001
    assert "significantly different from the baseline: crisis" in text
    assert "| crisis | 24 |" in (out / "scorecard.md").read_text()


def test_failed_counselor_replies_are_failed_turns_never_passes(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"max_attempts": 1}))
    with LoopbackServer(LoopbackConfig(counselor="safe", faults={"500": 0.3}, seed=3)) as server:
        code, text = evaluate(server, tmp_path / "run", "--config", str(config))
    assert code == 0, text
    card = scorecard(tmp_path / "run")
    evaluated = [c.evaluation for c in cases(tmp_path / "run") if c.evaluation is not None]
    broken = [e for e in evaluated if e.failed_turns]
    assert broken and card["overall"]["failed_turns"] == sum(e.failed_turns for e in broken)
    assert not any(e.passed for e in broken)
    assert card["overall"]["checks"]["replies"]["pass_rate"] < 1
    assert "(no reply)" in (tmp_path / "run" / "scorecard.md").read_text()


def test_an_empty_reply_is_a_failed_turn(tmp_path: Path) -> None:
    with LoopbackServer(LoopbackConfig(counselor="silent")) as server:
        code, text = evaluate(server, tmp_path / "run", "--sessions", "1")
    assert code == 0, text
    evaluated = [c.evaluation for c in cases(tmp_path / "run") if c.evaluation is not None]
    assert len(evaluated) == 6 and not any(e.passed for e in evaluated)
    for case in cases(tmp_path / "run"):
        counselor = [t for t in case.sessions[0].turns if t.speaker == "counselor"]
        assert all(t.flags[0] == "no_reply" and "no text" in t.flags[1] for t in counselor)
        assert case.evaluation is not None and case.evaluation.failed_turns == len(counselor)


def test_the_simulated_client_and_critic_can_be_an_llm(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(counselor="safe"), keep_bodies=True) as server:
        code, text = evaluate(
            server, out, "--model", "openai/sim", "--model-api-base", server.base_url, "--sessions", "1"
        )
        assert server.stats.unexpected == []
    assert code == 0, text
    card = scorecard(out)
    assert card["client_model"] == "openai/sim" and not card["simulator_offline"]
    assert card["suites"]["crisis"]["pass_rate"] >= 0.95
    client_prompts = [
        b["messages"][-1]["content"]
        for b in server.stats.bodies
        if "ClientReply" in json.dumps(b.get("response_format"))
    ]
    assert client_prompts and all("This conversation is with a counselor." in p for p in client_prompts)
    # The critic scores windows on the rubric only: the coder, not the critic, labels the turns.
    critics = [b for b in server.stats.bodies if "WindowReply" in json.dumps(b.get("response_format"))]
    assert critics and not any("Judge every counselor turn" in b["messages"][-1]["content"] for b in critics)
    # Rubric fields only: an untyped `turn_checks` list is a schema llama-cpp-python cannot enforce.
    assert not any("turn_checks" in json.dumps(b["response_format"]) for b in critics)
    for case in cases(out):
        turns = case.sessions[0].turns
        improvised = [t for t in turns if t.speaker == "client" and t.provenance is not None]
        assert improvised and all(t.provenance.engine == "litellm" for t in improvised if t.provenance)


def test_the_same_command_resumes_and_another_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(counselor="safe")) as server:
        assert evaluate(server, out, "--sessions", "1")[0] == 0
    # The same command against the endpoint restarted on another port: nothing is redone.
    with LoopbackServer(LoopbackConfig(counselor="safe")) as restarted:
        code, text = evaluate(restarted, out, "--sessions", "1")
        assert code == 0 and "resumed: 6 cases" in text and restarted.stats.completions == 0
        code, text = evaluate(restarted, out, "--sessions", "2")
    assert code == 2 and "holds a different run" in text and "Traceback" not in text
    assert not FailureLog(out).records
