"""The shipped personas, frameworks, policies, phrasebanks and prompts hold their contracts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import SHIPPED_PERSONAS

from counselsynth.engines.offline import SLOTS, phrasebank, phrasebank_languages, slot_names
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.languages import language
from counselsynth.models import Phase, TherapyFramework, Turn, TurnAnnotations
from counselsynth.personas import load_personas
from counselsynth.policy import load_policy
from counselsynth.prompts import PromptLibrary


def test_shipped_personas_cover_the_required_mix(catalog: FrameworkCatalog) -> None:
    personas = load_personas(SHIPPED_PERSONAS, catalog.frameworks).personas
    assert len(personas) >= 12
    problems = {p.presenting_problem.category for p in personas}
    required = {"depression", "anxiety", "grief", "smoking", "relationship_conflict", "work_stress", "trauma"}
    assert required <= problems
    assert problems & {"alcohol_use", "substance_use"}
    assert any(p.risk.level == "high" for p in personas)
    assert sum(p.language != "en" for p in personas) >= 2
    assert {p.style for p in personas} == {"plain", "upset", "verbose", "reserved", "tangent", "pleasing"}
    suffixes = {path.suffix for path in SHIPPED_PERSONAS.iterdir()}
    assert {".yaml", ".jsonl"} <= suffixes


def test_mi_codes_map_onto_every_miti_count(catalog: FrameworkCatalog) -> None:
    mi = catalog.get("mi")
    mapped = {c.miti for c in mi.codes if not c.safety_step}
    assert {"SR", "CR", "Q_OPEN", "Q_CLOSED", "AF", "SEEK", "EMPH", "GI", "PERSUADE", "CONFRONT"} <= mapped


def test_cbt_and_pct_codes_name_their_techniques_and_conditions(catalog: FrameworkCatalog) -> None:
    cbt = [c for c in catalog.get("cbt").codes if not c.safety_step]
    assert all(c.ctrs_items for c in cbt)
    assert {"agenda", "guided_discovery", "homework", "feedback"} <= {i for c in cbt for i in c.ctrs_items}
    pct = [c for c in catalog.get("pct").codes if not c.safety_step]
    assert {c.core_condition for c in pct} == {"empathic_understanding", "unconditional_positive_regard", "congruence"}


@pytest.mark.parametrize("framework_id", ["cbt", "mi", "pct"])
def test_framework_has_phases_codes_client_codes_and_rubric(catalog: FrameworkCatalog, framework_id: str) -> None:
    framework = catalog.get(framework_id)
    assert len(framework.phases) >= 3
    assert all(c.definition and c.examples for c in framework.codes)
    assert {c.valence for c in framework.client_codes} == {"change", "neutral", "sustain"}
    assert framework.rubric.items
    assert {"risk_assessment", "safety_planning", "crisis_resources"} <= set(framework.code_ids)
    policy = load_policy(framework, catalog.folders)
    assert policy.framework == framework_id


def test_every_phrasebank_uses_only_known_slots_and_covers_every_shipped_code(catalog: FrameworkCatalog) -> None:
    codes = {c for f in catalog.frameworks.values() for c in f.code_ids}
    for bank_language in phrasebank_languages():
        bank = phrasebank(bank_language)
        missing = codes - set(bank["counselor"])
        assert not missing, f"{bank_language}: no lines for {sorted(missing)}"
        templates = [line for lines in bank["counselor"].values() for line in lines]
        templates += [
            line
            for key in ("change", "neutral", "sustain", "opening", "opening_return", "disclosure")
            for line in bank["client"][key]
        ]
        unknown = {slot for t in templates for slot in slot_names(t)} - SLOTS
        assert not unknown, f"{bank_language}: unknown slots {unknown}"


def _template_context(framework: TherapyFramework, catalog: FrameworkCatalog) -> dict[str, object]:
    personas = load_personas(SHIPPED_PERSONAS, catalog.frameworks).personas
    code = framework.codes[0]
    turn = Turn(speaker="counselor", text="Hello.", annotations=TurnAnnotations(code=code.id))
    return {
        "persona": personas[0],
        "framework": framework,
        "language": "en",
        "language_name": "Persian (fa)",
        "address": "Use the formal address.",
        "session_index": 2,
        "summaries": ["We talked."],
        "homework": "a thought record",
        "phq9": 10,
        "gad7": 8,
        "stage_of_change": "contemplation",
        "phase": framework.phases[0],
        "code": code,
        "opening": True,
        "guidance": "more reflections",
        "resources": "call 988",
        "talk": framework.client_codes[0],
        "disclose": False,
        "safety_step": None,
        "turns": [turn],
        "rubric": framework.rubric,
        "safety_steps": ["risk_assessment"],
        "verify_turns": True,
        "codes": framework.codes,
        "sessions": 3,
        # the translator's and back-translator's
        "source": language("en"),
        "target": language("fa"),
        "source_code": "en",
        "target_code": "fa",
        "framework_id": framework.id,
        "culture_note": "Tehran, a university clinic",
        "replacements": {"Daniel": "داریوش"},
        "segment": '{"turn": 1, "speaker": "client", "code": "change_talk", "text": "Hello."}',
        "reasons": "the translation is empty",
        "number": 1,
        # the turn-length instruction and the length gate's re-ask
        "target_words": 16,
        "words_said": 80,
        # the evaluation's scripted client
        "brief": "You feel low and tired.",
        "instruction": "Change the subject.",
    }


def test_every_prompt_template_renders_for_every_framework(catalog: FrameworkCatalog) -> None:
    prompts = PromptLibrary()
    assert len(prompts.names) >= 10
    for framework in catalog.frameworks.values():
        for name in sorted(prompts.names):
            text = prompts.render(name, _template_context(framework, catalog))
            assert text.strip(), name
            assert "{{" not in text and "{%" not in text


def test_a_prompt_with_an_undefined_variable_is_an_error(tmp_path: Path) -> None:
    from counselsynth.errors import PromptError

    (tmp_path / "critic").mkdir()
    (tmp_path / "critic" / "review.jinja2").write_text("{{ no_such_variable }}")
    prompts = PromptLibrary([tmp_path])
    with pytest.raises(PromptError, match="no_such_variable"):
        prompts.render("critic/review.jinja2", {})


def test_phase_ranges_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="min <= max"):
        Phase(id="x", name="x", goal="x", exchanges=(4, 2))


def test_code_ids_unique_across_protocol(catalog: FrameworkCatalog) -> None:
    for framework in catalog.frameworks.values():
        counts = Counter(framework.code_ids)
        assert max(counts.values()) == 1
