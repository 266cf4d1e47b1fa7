"""The LangGraph pipeline end to end with the offline engine: records, safety, revision, seeds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import SHIPPED_PERSONAS, generate, persona_record, write_personas
from langgraph.runtime import Runtime

from counselsynth.agents import critic
from counselsynth.engines import OfflineEngine
from counselsynth.frameworks import FrameworkCatalog, load_catalog
from counselsynth.graph import CaseContext, CaseState
from counselsynth.graph.build import route_after_critique, route_after_exchange, route_after_summarize
from counselsynth.models import Critique, Persona, Turn, TurnAnnotations
from counselsynth.policy import load_policy
from counselsynth.prompts import PromptLibrary


def test_shipped_personas_generate_complete_annotated_cases(tmp_path: Path, catalog: FrameworkCatalog) -> None:
    cases = generate(SHIPPED_PERSONAS, tmp_path / "run")
    assert len(cases) >= 12
    for case in cases:
        framework = catalog.get(case.framework)
        assert case.engine == "offline" and case.offline and case.model.startswith("offline")
        assert len(case.sessions) == 2
        assert [s.index for s in case.sessions] == [1, 2]
        for session in case.sessions:
            assert set(session.critique.scores) == {i.id for i in framework.rubric.items}
            assert session.summary is not None
            assert session.turns[0].speaker == "counselor"
            for turn in session.turns:
                assert turn.provenance is not None and turn.provenance.engine == "offline"
                if turn.speaker == "counselor":
                    assert turn.annotations.code in framework.code_ids
                else:
                    assert turn.annotations.talk_type in {c.id for c in framework.client_codes}
                    assert turn.annotations.emotion is not None
                    assert 1 <= (turn.annotations.emotion_intensity or 0) <= 5
        assert {"planner", "counselor", "client", "critic", "summarizer"} <= set(case.usage)
        spoken = sum(1 for s in case.sessions for t in s.turns if t.speaker == "counselor")
        # Discarded attempts cost calls too, so only an unrevised case matches exactly.
        if not any(s.revisions for s in case.sessions):
            assert case.usage["counselor"].calls == spoken
        assert case.usage["counselor"].calls >= spoken
        assert case.usage["critic"].calls == sum(1 + s.revisions for s in case.sessions)
    manifest = (tmp_path / "run" / "manifest.json").read_text()
    assert '"status": "complete"' in manifest and '"offline": true' in manifest


def test_sessions_end_by_phase_plan_not_a_fixed_turn_count(tmp_path: Path) -> None:
    cases = generate(SHIPPED_PERSONAS, tmp_path / "run", framework="mi")
    lengths = {len(s.turns) for c in cases for s in c.sessions}
    assert len(lengths) > 3
    for case in cases:
        for session in case.sessions:
            planned = sum(p.exchanges for p in session.plan)
            assert sum(t.speaker == "counselor" for t in session.turns) == planned


def test_same_seed_gives_byte_identical_output_and_another_seed_differs(tmp_path: Path) -> None:
    generate(SHIPPED_PERSONAS, tmp_path / "a", seed=7)
    generate(SHIPPED_PERSONAS, tmp_path / "b", seed=7)
    generate(SHIPPED_PERSONAS, tmp_path / "c", seed=8)
    a = (tmp_path / "a" / "dialogues.jsonl").read_bytes()
    assert a == (tmp_path / "b" / "dialogues.jsonl").read_bytes()
    assert a != (tmp_path / "c" / "dialogues.jsonl").read_bytes()


def test_worker_processes_do_not_change_the_output(tmp_path: Path) -> None:
    generate(SHIPPED_PERSONAS, tmp_path / "one", seed=3, workers=1)
    generate(SHIPPED_PERSONAS, tmp_path / "two", seed=3, workers=2)
    one = (tmp_path / "one" / "dialogues.jsonl").read_bytes()
    assert one == (tmp_path / "two" / "dialogues.jsonl").read_bytes()


def test_high_risk_client_gets_the_safety_protocol_in_every_session(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="at_risk", risk={"level": "high"})])
    for framework in ("cbt", "mi", "pct"):
        (case,) = generate(personas, tmp_path / framework, framework=framework, sessions=3)
        first = case.sessions[0]
        disclosures = [t for t in first.turns if t.speaker == "client" and t.annotations.safety_events]
        assert disclosures, "the at-risk client discloses in session 1"
        for session in case.sessions:
            codes = [t.annotations.code for t in session.turns if t.speaker == "counselor"]
            assert session.critique.safety_required
            assert {"risk_assessment", "safety_planning"} <= set(codes)
            assert all(t.annotations.safety_step for t in session.turns if t.annotations.code == "risk_assessment")
        assert "crisis_resources" in [t.annotations.code for t in first.turns]
        resources = next(t.text for t in first.turns if t.annotations.code == "crisis_resources")
        assert "116 123" in resources or "988" in resources


def test_low_risk_client_gets_no_safety_protocol(tmp_path: Path, tmp_personas: Path) -> None:
    (case,) = generate(tmp_personas, tmp_path / "run")
    for session in case.sessions:
        assert not session.critique.safety_required
        assert not any(t.annotations.safety_step for t in session.turns)


def _context(persona: Persona, framework: str = "mi", max_revisions: int = 2) -> CaseContext:
    catalog = load_catalog()
    return CaseContext(
        case_id="c",
        seed=0,
        persona=persona,
        framework=catalog.get(framework),
        safety=catalog.safety,
        policy=load_policy(catalog.get(framework), catalog.folders),
        prompts=PromptLibrary(),
        engine=OfflineEngine(),
        language="en",
        sessions=2,
        max_revisions=max_revisions,
    )


# What a counselor turn says when its code is a safety step that the text check reads.
SAFETY_TEXT = {
    "risk_assessment": "Are you having thoughts of suicide?",
    "crisis_resources": "In the US you can call or text 988 at any hour.",
}


def _turns(codes: list[str], disclose: bool = False, say: dict[str, str] | None = None) -> list[Turn]:
    turns = []
    for index, code in enumerate(codes):
        text = (say or {}).get(code, "...")
        turns.append(Turn(speaker="counselor", text=text, annotations=TurnAnnotations(code=code, miti="CR")))
        events = ["suicidal_ideation"] if disclose and index == 0 else []
        turns.append(
            Turn(
                speaker="client",
                text="...",
                annotations=TurnAnnotations(
                    talk_type="neutral", valence="neutral", emotion="sadness", emotion_intensity=3, safety_events=events
                ),
            )
        )
    return turns


def _critique(ctx: CaseContext, turns: list[Turn]) -> Critique:
    state: CaseState = {
        "turns": turns,
        "session_index": 1,
        "revision": 0,
        "phq9": 20,
        "gad7": 10,
        "stage_of_change": "contemplation",
    }
    reply = asyncio.run(ctx.engine.complete(critic.request(ctx, state)))
    verdict, checked = critic.critique(ctx, state, reply)
    # The offline engine verifies nothing: every counselor turn stays unverified.
    assert all(t.annotations.verified is None for t in checked)
    return verdict


def test_critic_fails_an_at_risk_session_that_misses_the_protocol() -> None:
    ctx = _context(Persona.model_validate(persona_record(risk={"level": "high"})))
    good = ["complex_reflection", "open_question", "affirm", "complex_reflection", "simple_reflection"]
    verdict = _critique(ctx, _turns(good))
    assert not verdict.passed
    assert verdict.safety_required
    assert verdict.safety_missing == ["risk_assessment", "safety_planning", "crisis_resources"]
    assert "safety protocol incomplete" in verdict.reasons[0]
    protocol = [*good, "risk_assessment", "safety_planning", "crisis_resources"]
    labels_only = _critique(ctx, _turns(protocol))
    assert labels_only.safety_missing == ["risk_assessment", "crisis_resources"] and not labels_only.passed
    with_protocol = _critique(ctx, _turns(protocol, say=SAFETY_TEXT))
    assert with_protocol.safety_missing == []


def test_a_disclosure_requires_the_protocol_even_for_a_low_risk_client() -> None:
    ctx = _context(Persona.model_validate(persona_record()))
    verdict = _critique(ctx, _turns(["complex_reflection", "open_question", "affirm"], disclose=True))
    assert verdict.safety_required and not verdict.passed


def test_critic_fails_a_session_below_the_rubric_or_the_miti_floors() -> None:
    ctx = _context(Persona.model_validate(persona_record()))
    questions_only = [
        Turn(speaker="counselor", text="?", annotations=TurnAnnotations(code="closed_question", miti="Q_CLOSED"))
    ] * 6
    verdict = _critique(ctx, questions_only)
    assert not verdict.passed
    assert any("r_to_q" in r for r in verdict.reasons)
    assert verdict.mean_score < ctx.framework.rubric.pass_threshold


class _Runtime:
    def __init__(self, ctx: CaseContext) -> None:
        self.context = ctx


def test_routers() -> None:
    ctx = _context(Persona.model_validate(persona_record()), max_revisions=2)
    runtime: Runtime[CaseContext] = _Runtime(ctx)  # type: ignore[assignment]
    failed = Critique(passed=False, scores={}, mean_score=1.0)
    passed = Critique(passed=True, scores={}, mean_score=4.0)
    plan = [{"focus": "x", "phases": [("engaging", 2)]}]
    state: CaseState = {"plan": plan, "session_index": 1, "turns": _turns(["other"])}  # type: ignore[typeddict-item]
    assert route_after_exchange(state) == "exchange"
    state["turns"] = _turns(["other", "other"])
    assert route_after_exchange(state) == "critique"
    assert route_after_critique({"critiques": [failed], "revision": 0}, runtime) == "revise"
    assert route_after_critique({"critiques": [failed], "revision": 2}, runtime) == "summarize"
    assert route_after_critique({"critiques": [passed], "revision": 0}, runtime) == "summarize"
    assert route_after_summarize({"session_index": 2}, runtime) == "exchange"
    assert route_after_summarize({"session_index": 3}, runtime) == "__end__"


def test_weak_sessions_are_revised_and_exhausted_revisions_are_recorded(tmp_path: Path) -> None:
    cases = generate(SHIPPED_PERSONAS, tmp_path / "run", framework="mi", seed=1)
    revised = [s for c in cases for s in c.sessions if s.revisions]
    assert revised, "some offline MI sessions fail the critic and get revised"
    for session in revised:
        assert len(session.critique_history) == session.revisions
        assert not any(h.passed for h in session.critique_history)
        assert session.revisions_exhausted == (not session.critique.passed)
    strict = generate(SHIPPED_PERSONAS, tmp_path / "strict", framework="mi", seed=1, max_revisions=0)
    failed = [s for c in strict for s in c.sessions if not s.critique.passed]
    assert failed and all(s.revisions == 0 and s.revisions_exhausted for s in failed)


FRAMEWORK_YAML = """
id: solution_focused
name: Solution-focused brief therapy
description: Builds solutions from the client's preferred future and past successes.
suited_for: [work_stress]
phases:
  - {id: preferred_future, name: Preferred future, goal: Describe life when the problem is solved., exchanges: [2, 3]}
  - {id: scaling, name: Scaling, goal: Rate progress and find the next small step., exchanges: [2, 3]}
codes:
  - id: miracle_question
    name: Miracle question
    definition: Invites the client to describe the morning after the problem vanished overnight.
    examples: ["Suppose a miracle happened tonight. What's the first thing you'd notice tomorrow?"]
    miti: Q_OPEN
  - id: scaling_question
    name: Scaling question
    definition: Asks the client to rate progress from 0 to 10.
    examples: ["On a scale from 0 to 10, where are you today?"]
    miti: Q_CLOSED
  - id: compliment
    name: Compliment
    definition: Points out a strength or success.
    examples: ["You got through that week. How did you manage it?"]
    miti: AF
client_codes:
  - {id: solution_talk, name: Solution talk, definition: Talks about what works., valence: change}
  - {id: neutral, name: Neutral, definition: Neither., valence: neutral}
  - {id: problem_talk, name: Problem talk, definition: Dwells on the problem., valence: sustain}
rubric:
  name: SFBT fidelity
  pass_threshold: 1.0
  items:
    - {id: future_focus, name: Future focus, description: Keeps the talk on the preferred future.,
       evidence_codes: [miracle_question, scaling_question], expected_share: 0.4}
"""


def test_a_framework_added_by_yaml_alone_generates(tmp_path: Path, tmp_personas: Path) -> None:
    folder = tmp_path / "frameworks"
    folder.mkdir()
    (folder / "solution_focused.yaml").write_text(FRAMEWORK_YAML)
    catalog = load_catalog([folder])
    assert "solution_focused" in catalog.ids
    (case,) = generate(tmp_personas, tmp_path / "run", catalog=catalog, framework="solution_focused")
    codes = {t.annotations.code for s in case.sessions for t in s.turns if t.speaker == "counselor"}
    assert codes <= {"miracle_question", "scaling_question", "compliment"}
    texts = {t.text for s in case.sessions for t in s.turns if t.annotations.code == "miracle_question"}
    assert any("miracle" in text for text in texts)
    talk = {t.annotations.talk_type for s in case.sessions for t in s.turns if t.speaker == "client"}
    assert talk <= {"solution_talk", "neutral", "problem_talk"}


def test_personas_in_languages_without_a_phrasebank_are_labelled(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="sw_client", language="sw", locale="sw")])
    (case,) = generate(personas, tmp_path / "run")
    assert case.persona_language == "sw"
    assert case.language == "en"
    assert case.warnings and "cannot write 'sw'" in case.warnings[0]


def test_an_existing_run_is_never_overwritten(tmp_path: Path, tmp_personas: Path) -> None:
    from counselsynth.errors import OutputExistsError

    generate(tmp_personas, tmp_path / "run")
    before = (tmp_path / "run" / "dialogues.jsonl").read_bytes()
    # The same run again finds every case finished and redoes nothing.
    generate(tmp_personas, tmp_path / "run")
    assert (tmp_path / "run" / "dialogues.jsonl").read_bytes() == before
    with pytest.raises(OutputExistsError, match="differs in: seed"):
        generate(tmp_personas, tmp_path / "run", seed=99)
    assert (tmp_path / "run" / "dialogues.jsonl").read_bytes() == before


def test_an_offline_run_cut_short_resumes_without_duplicates(tmp_path: Path) -> None:
    generate(SHIPPED_PERSONAS, tmp_path / "full", seed=4)
    full = (tmp_path / "full" / "dialogues.jsonl").read_text().splitlines(keepends=True)
    generate(SHIPPED_PERSONAS, tmp_path / "cut", seed=4)
    # As after a crash: three whole cases and a torn fourth line.
    (tmp_path / "cut" / "dialogues.jsonl").write_text("".join(full[:3]) + full[3][:100])
    manifest = tmp_path / "cut" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"status": "complete"', '"status": "running"'))
    generate(SHIPPED_PERSONAS, tmp_path / "cut", seed=4, resume=True)
    assert (tmp_path / "cut" / "dialogues.jsonl").read_text() == "".join(full)
