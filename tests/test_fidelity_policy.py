"""policy fit: a strategy policy fitted on annotated sessions, and the shipped fitted MI policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, generate, persona_record, write_personas
from conftest import run_cli as run

from counselsynth.fidelity.corpora import fidelity_catalog
from counselsynth.fidelity.policy_fit import phase_thirds
from counselsynth.frameworks import load_catalog
from counselsynth.policy import load_policy, policy_path

FIXTURES = Path(__file__).parent / "fixtures" / "fidelity"


def import_fixture(fixture: str, out: Path) -> Path:
    code, _, stderr = run("import-corpus", "--source", "annomi", "--path", str(FIXTURES / fixture), "--out", str(out))
    assert code == 0, stderr
    return out


def test_phases_take_the_third_that_holds_their_expected_midpoint() -> None:
    catalog = fidelity_catalog()
    assert phase_thirds(catalog.get("mi")) == {"engaging": 0, "focusing": 1, "evoking": 1, "planning": 2}
    assert phase_thirds(catalog.get("esc")) == {"exploration": 0, "comforting": 1, "action": 2}
    assert phase_thirds(catalog.get("pct")) == {"opening": 0, "exploring": 1, "deepening": 2, "closing": 2}


def test_fit_on_an_annomi_import_realises_classes_as_speakable_mi_codes(tmp_path: Path) -> None:
    corpus = import_fixture("annomi_full.csv", tmp_path / "corpus")
    code, stdout, stderr = run("policy", "fit", str(corpus), "--out", str(tmp_path / "mi.json"))
    assert code == 0, stderr
    assert "from 2 sessions and 6 counselor turns, fitted on scheme classes" in stdout
    policy = json.loads((tmp_path / "mi.json").read_text())
    assert policy["framework"] == "mi"
    phases = policy["phases"]
    # First third: an open question and AnnoMI therapist input, spoken as persuade with permission.
    assert phases["engaging"]["start"] == {"open_question": 0.5, "persuade_with_permission": 0.5}
    assert (
        phases["focusing"]["start"] == phases["evoking"]["start"] == {"closed_question": 0.5, "complex_reflection": 0.5}
    )
    assert phases["planning"]["start"] == {"complex_reflection": 0.5, "give_information": 0.5}
    # One observed open_question -> complex_reflection, shrunk towards the third's mix with 5 pseudo-counts.
    assert phases["focusing"]["transitions"]["open_question"] == {
        "closed_question": 0.4167,
        "complex_reflection": 0.5833,
    }
    # Client talk 1 change / 3 neutral / 1 sustain, spread over the stages by policy_fit.yaml's odds.
    assert policy["client_talk"]["precontemplation"] == {"change": 0.0639, "neutral": 0.5435, "sustain": 0.3925}
    assert "fitted by counselsynth policy fit on corpus (annomi; 2 sessions, 6 counselor turns)" in policy["source"]


def test_fit_on_a_generated_corpus_uses_its_own_codes(tmp_path: Path) -> None:
    records = [persona_record(id=f"client_{i}", framework="mi") for i in range(3)]
    generate(write_personas(tmp_path / "p.yaml", records), tmp_path / "run", sessions=1)
    code, stdout, stderr = run("policy", "fit", str(tmp_path / "run"), "--out", str(tmp_path / "mi.json"))
    assert code == 0, stderr
    assert "fitted on codes" in stdout
    policy = json.loads((tmp_path / "mi.json").read_text())
    spoken = {c for phase in policy["phases"].values() for c in phase["start"]}
    assert "affirm" in spoken and "therapist_input" not in spoken
    for phase in policy["phases"].values():
        assert sum(phase["start"].values()) == pytest.approx(1.0, abs=1e-3)
        for row in phase["transitions"].values():
            assert sum(row.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_fitted_mi_policy_ships_and_is_the_default_for_mi() -> None:
    catalog = load_catalog()
    assert policy_path("mi", catalog.folders) == ROOT / "therapy_frameworks" / "policies" / "mi.json"
    compiled = load_policy(catalog.get("mi"), catalog.folders)
    assert compiled.source.startswith("fitted by counselsynth policy fit on annomi-high (annomi; 110 sessions")
    data = json.loads((ROOT / "therapy_frameworks" / "policies" / "mi.json").read_text())
    assert set(data["phases"]) == {"engaging", "focusing", "evoking", "planning"}
    esc = fidelity_catalog()
    assert load_policy(esc.get("esc"), esc.folders).source.startswith("fitted by counselsynth policy fit on esconv")


def test_fit_refuses_coarse_codes_and_mixed_frameworks(tmp_path: Path) -> None:
    corpus = import_fixture("annomi_simple.csv", tmp_path / "simple")
    code, _, stderr = run("policy", "fit", str(corpus), "--out", str(tmp_path / "x.json"))
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "code 'question' has no fine class in the mi scheme" in stderr
    records = [persona_record(id="a", framework="mi"), persona_record(id="b", framework="cbt")]
    generate(write_personas(tmp_path / "p.yaml", records), tmp_path / "mixed", sessions=1)
    code, _, stderr = run("policy", "fit", str(tmp_path / "mixed"), "--out", str(tmp_path / "x.json"))
    assert code == 2
    assert "mixes frameworks (cbt: 1 cases, mi: 1 cases); choose one with --framework" in stderr
    assert not (tmp_path / "x.json").exists()
