"""Importing Patient-Psi profiles and Cactus intake forms: faithful where the source speaks, filled
reproducibly from the distributions where it does not, and clear about the first bad record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import generate
from conftest import run_cli as run

from counselsynth.frameworks import FrameworkCatalog
from counselsynth.models import Persona
from counselsynth.personas import import_personas, load_personas
from counselsynth.personas.distributions import load_distributions

FIXTURES = Path(__file__).parent / "fixtures" / "personas"
PATIENT_PSI = FIXTURES / "patient_psi.json"
CACTUS = FIXTURES / "cactus.json"


def _by_id(personas: list[Persona]) -> dict[str, dict[str, Any]]:
    return {p.id: p.model_dump(mode="json", exclude_none=True) for p in personas}


def _subset(record: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every key of `expected` has that value in `record` (nested mappings compared the same way)."""
    for key, value in expected.items():
        if isinstance(value, dict):
            _subset(record[key], value)
        else:
            assert record[key] == value, (key, record[key], value)


def test_patient_psi_profiles_keep_what_the_source_says() -> None:
    result = import_personas(PATIENT_PSI, "patient-psi", seed=0)
    records = _by_id(result.personas)
    assert list(records) == ["patient-psi-7-1", "patient-psi-7-2", "patient-psi-8"]
    _subset(
        records["patient-psi-7-1"],
        {
            "language": "en",
            "demographics": {"name": "Marcus", "gender": "male", "occupation": "not stated", "location": "not stated"},
            "presenting_problem": {
                "category": "depression",
                "description": "Recent situation: Seeing a job advert that matches his skills. "
                "Emotions: sad, down, lonely, unhappy; ashamed, humiliated, embarrassed. "
                "Behaviour: Closes the laptop and goes back to bed.",
            },
            "conceptualization": {
                "core_beliefs": [
                    {"category": "helpless", "belief": "I am incompetent."},
                    {"category": "helpless", "belief": "I am a failure, loser."},
                ],
                "intermediate_beliefs": [
                    "It's important to provide for the family.",
                    "If I apply for jobs, I'll just be turned down again.",
                    "If I can't earn money, I'm no use to anyone.",
                ],
                "automatic_thoughts": ["They'd never hire someone like me."],
                "coping_strategies": [
                    "Stays up late watching television and lets calls from former colleagues ring out."
                ],
            },
            "risk": {"level": "none", "factors": []},
            "history": "Marcus is the eldest of four and looked after his siblings while his mother worked nights. "
            "He lost his job at a print shop last year and has not found steady work since. "
            "He describes his father as distant and hard to please.",
        },
    )
    priya = records["patient-psi-7-2"]
    assert priya["style"] == "reserved"  # Patient-Psi's "guarded"
    assert priya["demographics"]["gender"] == "female"
    assert priya["conceptualization"]["core_beliefs"] == [
        {"category": "unlovable", "belief": "I am bound to be alone."},
        {"category": "worthless", "belief": "I am worthless, waste."},
    ]
    lena = records["patient-psi-8"]
    assert lena["risk"] == {
        "level": "moderate",
        "factors": ["the source record mentions suicidal thoughts or self-harm"],
    }
    assert lena["demographics"]["gender"] == "female"
    # Marcus lists all six styles and Lena none; the style then comes from the distributions.
    assert records["patient-psi-7-1"]["style"] in {"plain", "verbose", "tangent", "upset", "reserved", "pleasing"}


def test_patient_psi_fills_what_the_format_lacks_from_the_distributions() -> None:
    result = import_personas(PATIENT_PSI, "patient-psi", seed=0)
    assert dict(result.filled) == {
        "demographics.age": 3,
        "severity": 3,
        "stage_of_change": 3,
        "resistance": 3,
        "disclosure": 3,
        "trust": 3,
        "conceptualization.cognitive_distortions": 3,
        "goals": 3,
        "style": 2,
        "risk": 2,
    }
    d = load_distributions()
    pool = d.pools["en"]
    phq9 = d.severity.scales["phq9"]
    for persona in result.personas:
        assert persona.demographics.age >= d.imports.patient_psi.min_age
        assert d.severity.problems["depression"].phq9[phq9.band_of(persona.severity.phq9)] > 0
        assert set(persona.goals) <= set(pool.problems["depression"].goals)
        assert all(
            d.conceptualization.problems["depression"].distortions.get(x, 0) > 0
            for x in persona.conceptualization.cognitive_distortions
        )
    again = import_personas(PATIENT_PSI, "patient-psi", seed=0)
    assert _by_id(again.personas) == _by_id(result.personas)
    other = import_personas(PATIENT_PSI, "patient-psi", seed=1)
    assert _by_id(other.personas) != _by_id(result.personas)


def test_cactus_intake_forms_map_attitude_patterns_and_problem() -> None:
    result = import_personas(CACTUS, "cactus", seed=0)
    records = _by_id(result.personas)
    assert list(records) == ["cactus-000001", "cactus-000002", "cactus-000003"]
    _subset(
        records["cactus-000001"],
        {
            "demographics": {
                "name": "June Okafor",
                "age": 29,
                "gender": "female",
                "occupation": "Junior architect",
                "location": "not stated",
                "relationship_status": "single",
            },
            "presenting_problem": {
                "category": "work_stress",
                "description": "Since I missed a project deadline three weeks ago, I keep telling myself I am not cut "
                "out for the job. My manager mentioned the delay in a team meeting and I have replayed it every "
                "night. I now stay late every day and check my work several times.",
            },
            "conceptualization": {
                "automatic_thoughts": ["I missed one deadline, so I'll never be any good at this job."],
                "cognitive_distortions": ["overgeneralization", "labeling"],
            },
            "style": "plain",
            "resistance": "low",
            "disclosure": "high",
            "trust": "high",
            # "I have never had suicidal thoughts" is a negated mention.
            "risk": {"level": "none", "factors": []},
            "history": "I have not had similar problems before. I have never had suicidal thoughts. "
            "My flatmate is supportive and my sister calls every week.",
        },
    )
    _subset(
        records["cactus-000002"],
        {
            "demographics": {"name": "Tomas Keller", "age": 63, "relationship_status": "divorced"},
            "presenting_problem": {"category": "alcohol_use"},
            "conceptualization": {"cognitive_distortions": ["all_or_nothing"]},
            "style": "upset",
            "resistance": "high",
            "disclosure": "low",
            "trust": "low",
        },
    )
    _subset(
        records["cactus-000003"],
        {
            "demographics": {
                "name": "Ravi Menon",
                "age": 41,
                "occupation": "Bus driver",
                "relationship_status": "married",
            },
            "presenting_problem": {"category": "loneliness"},
            "conceptualization": {"cognitive_distortions": ["mental_filter", "mind_reading"]},
            "risk": {"level": "moderate", "factors": ["the source record mentions suicidal thoughts or self-harm"]},
        },
    )
    assert dict(result.problems) == {"work_stress": 1, "alcohol_use": 1, "loneliness": 1}
    assert result.filled["conceptualization.core_beliefs"] == 3


def test_a_cactus_row_converts_the_same_wherever_it_sits(tmp_path: Path) -> None:
    rows = json.loads(CACTUS.read_text())
    reordered = tmp_path / "reordered.jsonl"
    reordered.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    first = import_personas(CACTUS, "cactus", seed=0).personas
    last = import_personas(reordered, "cactus", seed=0).personas
    assert first[0].model_dump(exclude={"id"}) == last[2].model_dump(exclude={"id"})


def test_problem_override_applies_to_every_record() -> None:
    result = import_personas(CACTUS, "cactus", problem="anxiety")
    assert {p.presenting_problem.category for p in result.personas} == {"anxiety"}


def test_import_command_writes_a_valid_persona_file_that_generates(tmp_path: Path, catalog: FrameworkCatalog) -> None:
    out = tmp_path / "imported.yaml"
    code, stdout, err = run("personas", "import", "--from", "cactus", str(CACTUS), "--out", str(out))
    assert code == 0, err
    assert stdout.strip() == f"wrote 3 personas to {out} (problems: work_stress 1, alcohol_use 1, loneliness 1)"
    assert err.startswith("note: not in the source, filled from counselsynth's distributions: ")
    assert "conceptualization.core_beliefs (3)" in err
    assert run("personas", "validate", str(out))[0] == 0
    psi = tmp_path / "psi.jsonl"
    assert run("personas", "import", "--from", "patient-psi", str(PATIENT_PSI), "--out", str(psi))[0] == 0
    cases = generate(psi, tmp_path / "run", catalog, sessions=1)
    assert [c.persona_id for c in cases] == ["patient-psi-7-1", "patient-psi-7-2", "patient-psi-8"]
    assert load_personas(psi, catalog.frameworks).personas[2].risk.level == "moderate"


def _write(tmp_path: Path, name: str, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def _psi_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(PATIENT_PSI.read_text())[1]
    record.update(changes)
    return record


def _cactus_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(CACTUS.read_text())[1]
    record.update(changes)
    return record


BAD_IMPORTS: dict[str, tuple[str, Any, str]] = {
    "cactus file as patient-psi": (
        "patient-psi",
        "cactus",
        "record 1, field 'name': required field is missing (not a Patient-Psi profile?)",
    ),
    "patient-psi file as cactus": (
        "cactus",
        "patient-psi",
        "record 1, field 'intake_form': required field is missing (not a Cactus record?)",
    ),
    "second profile without core beliefs": (
        "patient-psi",
        [_psi_record(), _psi_record(id="9", unlovable_belief_current=[], worthless_belief_current=[])],
        "record 2, field 'helpless_belief': no core beliefs",
    ),
    "unknown style": (
        "patient-psi",
        [_psi_record(type=["chatty"])],
        "record 1, field 'type': unknown conversational style 'chatty'",
    ),
    "not a mapping": ("patient-psi", ["just text"], "record 1: expected a Patient-Psi profile (a mapping), got str"),
    "unknown pattern": (
        "cactus",
        [_cactus_record(), _cactus_record(patterns=["wishful thinking"])],
        "record 2, field 'patterns': unknown thinking pattern 'wishful thinking'; known: catastrophizing",
    ),
    "unknown attitude": (
        "cactus",
        [_cactus_record(attitude="hostile")],
        "field 'attitude': unknown attitude 'hostile'; valid: positive, neutral, negative",
    ),
    "age out of range": (
        "cactus",
        [_cactus_record(intake_form=_cactus_record()["intake_form"].replace("Age:\n63", "Age:\n8"))],
        "record 1, field 'intake_form': age 8 is outside 12-100",
    ),
    "no name": (
        "cactus",
        [_cactus_record(intake_form="2. Presenting Problem\nI worry.")],
        "record 1, field 'intake_form': no 'Name:' line; is this a Cactus intake form?",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_bad_import_names_the_first_unreadable_record_and_writes_nothing(tmp_path: Path, case: str) -> None:
    source, content, message = BAD_IMPORTS[case]
    if content == "cactus":
        path = CACTUS
    elif content == "patient-psi":
        path = PATIENT_PSI
    else:
        path = _write(tmp_path, "input.json", content)
    out = tmp_path / "out.jsonl"
    code, stdout, err = run("personas", "import", "--from", source, str(path), "--out", str(out))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}") and message in lines[0], lines[0]
    assert not out.exists() and stdout == ""


def test_jsonl_input_is_labelled_by_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_cactus_record()) + "\n\n" + json.dumps({"thought": "x"}) + "\n")
    code, _, err = run("personas", "import", "--from", "cactus", str(path), "--out", str(tmp_path / "o.yaml"))
    assert code == 2
    assert f"{path}, line 3, field 'intake_form': required field is missing (not a Cactus record?)" in err


def test_unknown_format_or_problem_is_one_line(tmp_path: Path) -> None:
    out = str(tmp_path / "o.yaml")
    code, _, err = run("personas", "import", "--from", "psi", str(CACTUS), "--out", out)
    assert (code, err.strip()) == (2, "error: unknown format 'psi'; valid: patient-psi, cactus")
    code, _, err = run("personas", "import", "--from", "cactus", str(CACTUS), "--out", out, "--problem", "sadness")
    assert code == 2 and err.strip().startswith("error: unknown --problem 'sadness'; valid: depression, anxiety")
