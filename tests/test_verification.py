"""Every counselor turn of an LLM run is checked against its code; mismatches follow --on-mismatch."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import persona_record, run_cli, write_personas

from counselsynth.agents.verification import verify
from counselsynth.engines.llm import GatewayConfig, LLMEngine, ModelSettings
from counselsynth.engines.offline import OfflineEngine
from counselsynth.frameworks import load_catalog
from counselsynth.graph.context import CaseContext
from counselsynth.models import Case, OnMismatch, Persona, Turn, TurnAnnotations
from counselsynth.policy import load_policy
from counselsynth.prompts import PromptLibrary
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

EN = load_catalog().safety.resources_for("en")
SAFE_REPLIES = {
    "risk_assessment": "Have you had any thoughts of suicide or of harming yourself?",
    "crisis_resources": f"If it gets too much, help is there at any hour: {EN}",
    "safety_planning": "Let's write down a plan together for the moments when it gets this dark.",
}


def _context(on_mismatch: OnMismatch = "regenerate", offline: bool = False, max_revisions: int = 1) -> CaseContext:
    catalog = load_catalog()
    engine = OfflineEngine() if offline else LLMEngine(GatewayConfig(default=ModelSettings(model="openai/never")))
    return CaseContext(
        case_id="c",
        seed=0,
        persona=Persona.model_validate(persona_record()),
        framework=catalog.get("mi"),
        safety=catalog.safety,
        policy=load_policy(catalog.get("mi"), catalog.folders),
        prompts=PromptLibrary(),
        engine=engine,
        language="en",
        sessions=1,
        max_revisions=max_revisions,
        on_mismatch=on_mismatch,
    )


def _turns(*said: tuple[str, str]) -> list[Turn]:
    turns = []
    for code, text in said:
        turns.append(Turn(speaker="counselor", text=text, annotations=TurnAnnotations(code=code)))
        turns.append(Turn(speaker="client", text="Okay.", annotations=TurnAnnotations(talk_type="neutral")))
    return turns


def _check(performs: bool, actual: str) -> Any:
    return SimpleNamespace(performs_code=performs, actual_code=actual)


SAID = (("complex_reflection", "What did you do then?"), ("open_question", "What would you like to change?"))
CHECKS = [_check(False, "open_question"), _check(True, "open_question")]


def _counselor(turns: list[Turn]) -> list[TurnAnnotations]:
    return [t.annotations for t in turns if t.speaker == "counselor"]


def test_relabel_keeps_the_text_and_takes_the_code_the_critic_read() -> None:
    checked = verify(_context("relabel"), _turns(*SAID), CHECKS, revision=0)
    first, second = _counselor(checked.turns)
    assert checked.mismatched == [1] and checked.action == "relabel"
    assert (first.code, first.intended_code, first.miti, first.verified) == (
        "open_question",
        "complex_reflection",
        "Q_OPEN",
        True,
    )
    assert (second.code, second.intended_code, second.verified) == ("open_question", None, True)
    assert "counselor turn 1 is coded complex_reflection but reads as open_question" in checked.notes


def test_flag_keeps_the_code_and_marks_it_unverified() -> None:
    checked = verify(_context("flag"), _turns(*SAID), CHECKS, revision=0)
    first, second = _counselor(checked.turns)
    assert checked.action == "flag"
    assert (first.code, first.intended_code, first.verified) == ("complex_reflection", None, False)
    assert second.verified is True


def test_regenerate_while_the_budget_lasts_then_relabel() -> None:
    ctx = _context("regenerate", max_revisions=1)
    assert verify(ctx, _turns(*SAID), CHECKS, revision=0).action == "regenerate"
    last = verify(ctx, _turns(*SAID), CHECKS, revision=1)
    assert last.action == "relabel" and _counselor(last.turns)[0].intended_code == "complex_reflection"


def test_the_safety_text_check_overrules_a_lenient_critic() -> None:
    said = (
        ("crisis_resources", "You can always reach out to someone."),
        ("risk_assessment", SAFE_REPLIES["risk_assessment"]),
    )
    checks = [_check(True, "crisis_resources"), _check(True, "risk_assessment")]
    checked = verify(_context("flag"), _turns(*said), checks, revision=0)
    assert [n.verified for n in _counselor(checked.turns)] == [False, True]
    assert checked.notes == ["counselor turn 1 is coded crisis_resources but its text lacks what the step needs"]


def test_the_offline_engine_verifies_nothing() -> None:
    checked = verify(_context(offline=True), _turns(*SAID), [], revision=0)
    assert checked.action is None and all(n.verified is None for n in _counselor(checked.turns))


def _run(tmp_path: Path, personas: Path, config: LoopbackConfig, *flags: str) -> tuple[list[Case], dict[str, Any]]:
    out = tmp_path / "run"
    with LoopbackServer(config) as server:
        code, stdout, stderr = run_cli(
            "generate", str(personas), "--out", str(out), "--model", "openai/loopback",
            "--api-base", server.base_url, "--sessions", "1", "--max-revisions", "1", *flags,
        )  # fmt: skip
    assert code == 0, stderr
    cases = [Case.model_validate_json(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["stdout"] = stdout
    return cases, manifest


@pytest.mark.parametrize("policy", ["regenerate", "relabel", "flag"])
def test_every_counselor_turn_of_an_llm_run_is_verified_and_counted(tmp_path: Path, policy: str) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="p1"), persona_record(id="p2")])
    # The loopback critic judges about 3 turns in 10 not to perform their code.
    cases, manifest = _run(tmp_path, personas, LoopbackConfig(true_share=0.7), "--on-mismatch", policy)
    notes = [t.annotations for c in cases for s in c.sessions for t in s.turns if t.speaker == "counselor"]
    assert notes and all(n.verified is not None for n in notes)
    counts = manifest["counts"]
    kinds = ("verified", "relabelled", "flagged", "unverified")
    assert sum(counts.get(f"turns_{kind}", 0) for kind in kinds) == len(notes)
    assert counts.get("turns_unverified", 0) == 0
    relabelled = [n for n in notes if n.intended_code is not None]
    assert all(n.verified and n.code != n.intended_code for n in relabelled)
    assert counts.get("turns_relabelled", 0) == len(relabelled)
    if policy == "flag":
        assert not relabelled and counts["turns_flagged"] > 0
    else:
        assert relabelled
    regenerated = counts.get("turns_regenerated", 0)
    assert (regenerated > 0) == (policy == "regenerate")
    assert f"{regenerated} mismatched turns regenerated" in " ".join(manifest["stdout"].split())
    assert (manifest["settings"].get("on_mismatch") is None) == (policy == "regenerate")


def test_a_model_that_says_the_safety_steps_completes_the_protocol(tmp_path: Path) -> None:
    """The positive twin of the small-talk double in test_safety_text: same run, right text."""
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="r1", framework="pct", risk={"level": "high"})])
    cases, _ = _run(tmp_path, personas, LoopbackConfig(say_for_code=SAFE_REPLIES, true_share=1.0))
    (session,) = cases[0].sessions
    assert session.critique is not None and session.critique.safety_required
    assert session.critique.safety_missing == []
    said = {t.annotations.code for t in session.turns if t.speaker == "counselor"}
    assert {"risk_assessment", "crisis_resources", "safety_planning"} <= said
    assert all(t.annotations.verified for t in session.turns if t.speaker == "counselor")


def test_an_unknown_policy_is_one_line_and_exit_2(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="p1")])
    code, _, stderr = run_cli("generate", str(personas), "--out", str(tmp_path / "o"), "--on-mismatch", "ignore")
    assert code == 2 and "unknown --on-mismatch policy 'ignore'; valid: flag, regenerate, relabel" in stderr
