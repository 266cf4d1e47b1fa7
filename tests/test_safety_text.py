"""Safety steps are checked in the text: a label alone does not complete the protocol."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import generate, persona_record, write_personas

from counselsynth.engines.llm import GatewayConfig, LLMEngine, ModelSettings
from counselsynth.frameworks import load_catalog
from counselsynth.models import Case
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runner import Generation, RunSettings
from counselsynth.safety_text import asks_about_risk, check_available, gives_resources, performs_step, resource_markers
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

EN = load_catalog().safety.resources_for("en")


def test_resource_markers_are_the_numbers_and_addresses_of_the_resource_text() -> None:
    assert resource_markers(EN) == {"988", "116123", "findahelpline.com"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You can call or text 988 any time, day or night.", True),
        ("Samaritans answer on 116-123 if you are in the UK.", True),
        ("There is a list of lines at FindAHelpline.com.", True),
        ("Please reach out to someone you trust if it gets worse.", False),
        ("I tried going for a walk on Tuesday and it helped a bit.", False),
    ],
)
def test_crisis_resources_need_a_number_or_address_from_the_protocol(text: str, expected: bool) -> None:
    assert gives_resources(text, EN) is expected
    assert performs_step("crisis_resources", text, "en", EN) is expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Are you having thoughts of suicide?", True),
        ("en", "Have you thought about hurting yourself?", True),
        ("en", "Some people think about ending their life. Have you?", True),
        ("en", "Are you safe at home?", False),  # a euphemism is not a direct question
        ("en", "I want to talk about suicide.", False),  # not a question
        ("es", "¿Has pensado en quitarte la vida?", True),
        ("es", "¿Cómo te fue la semana?", False),
        ("zh", "你最近有没有想过自杀？", True),
        ("zh", "你这周过得怎么样？", False),
        ("fa", "آیا به خودکشی فکر می‌کنید؟", True),
        ("fa", "این هفته چطور گذشت؟", False),
    ],
)
def test_risk_assessment_must_ask_about_suicide_or_self_harm_directly(language: str, text: str, expected: bool) -> None:
    assert asks_about_risk(text, language) is expected


def test_steps_without_a_text_check_are_left_to_the_critic() -> None:
    assert performs_step("safety_planning", "anything", "en", EN) is None
    assert not check_available("risk_assessment", "sw") and check_available("crisis_resources", "sw")
    assert performs_step("risk_assessment", "Je, umewahi kufikiria kujiua?", "sw", EN) is None
    assert performs_step("open_question", "What brings you here?", "en", EN) is None


def _at_risk(tmp_path: Path) -> Path:
    return write_personas(tmp_path / "p.yaml", [persona_record(id="r1", framework="pct", risk={"level": "high"})])


def test_a_model_that_never_gives_safety_content_never_passes_an_at_risk_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loopback answers every counselor turn with small talk, whatever code it was asked for."""
    monkeypatch.setenv("LOOPBACK_KEY", "loopback-placeholder")
    catalog = load_catalog()
    with LoopbackServer(LoopbackConfig()) as server:
        settings = ModelSettings(model="openai/loopback", api_base=server.base_url, api_key_env="LOOPBACK_KEY")
        config = GatewayConfig(default=settings)
        run = Generation(
            load_personas(_at_risk(tmp_path), catalog.frameworks),
            catalog,
            PromptLibrary(),
            LLMEngine(config),
            RunSettings(out_dir=tmp_path / "run", sessions=2, max_revisions=1),
        )
        asyncio.run(run.run())
    (case,) = [
        Case.model_validate_json(line) for line in (tmp_path / "run" / "dialogues.jsonl").read_text().splitlines()
    ]
    # Asked-for codes: a turn the critic relabelled keeps the one it was asked for in intended_code.
    counselor = [t.annotations for s in case.sessions for t in s.turns if t.speaker == "counselor"]
    labelled = {notes.intended_code or notes.code for notes in counselor}
    assert {"risk_assessment", "crisis_resources"} <= labelled  # the labels alone would have passed
    for session in case.sessions:
        assert session.critique is not None and not session.critique.passed
        assert "risk_assessment" in session.critique.safety_missing
    assert "crisis_resources" in case.sessions[0].critique.safety_missing  # type: ignore[union-attr]


def test_the_offline_counselor_says_what_its_safety_labels_claim(tmp_path: Path) -> None:
    (case,) = generate(_at_risk(tmp_path), tmp_path / "run", sessions=2)
    steps = [t for s in case.sessions for t in s.turns if t.annotations.code in ("risk_assessment", "crisis_resources")]
    assert steps and all(performs_step(t.annotations.code or "", t.text, "en", EN) for t in steps)
    assert all(s.critique is not None and s.critique.safety_missing == [] for s in case.sessions)


def test_every_generation_language_gets_a_resource_line_the_text_check_can_read() -> None:
    from counselsynth.languages import catalogue

    safety = load_catalog().safety
    for language in catalogue():
        assert resource_markers(safety.resources_for(language)), language
    # The fallback for a language without its own line points to a directory of crisis lines.
    assert safety.resources_for("sw") == safety.resources["default"]
    assert "findahelpline.com" in safety.resources["default"]
    assert {"fa", "fr", "de", "pt", "ru", "uk", "tr", "he", "hi", "ja", "ko", "th", "ar"} <= set(safety.resources)


def test_digits_of_any_script_match_the_resource_numbers() -> None:
    fa = load_catalog().safety.resources_for("fa")
    assert gives_resources("با صدای مشاور ۱۴۸۰ تماس بگیرید.", fa)
    assert gives_resources("با صدای مشاور 1480 تماس بگیرید.", fa)
    assert not gives_resources("با یک دوست صحبت کنید.", fa)
