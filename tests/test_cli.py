"""The command line: bad input gets one clear line and exit code 2, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import SHIPPED_PERSONAS, persona_record, write_personas
from conftest import run_cli as run


def test_generate_writes_cases_manifest_and_a_summary(tmp_path: Path) -> None:
    code, out, err = run("generate", str(SHIPPED_PERSONAS), "--out", str(tmp_path / "run"), "--limit", "3")
    assert code == 0, err
    assert "R:Q" in out and "% complex refl." in out
    assert "offline engine (not an LLM)" in out
    lines = (tmp_path / "run" / "dialogues.jsonl").read_text().splitlines()
    assert len(lines) == 3
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["engine"] == "offline" and manifest["offline"] is True
    assert manifest["counts"]["cases"] == 3
    assert set(manifest["framework_hashes"]) >= {"cbt", "mi", "pct", "safety/protocol"}
    assert "counselor/turn.jinja2" in manifest["prompt_hashes"]
    assert manifest["timings"]["seconds"] > 0


BAD_FILES = {
    "bad_yaml.yaml": ("id: ok\nrisk: [unclosed\n", "line ", None),
    "bad_json.jsonl": ('{"id": "a"\n', "line 1", None),
    "missing.yaml": (None, "record 1", "severity"),
    "wrong_type.yaml": (None, "record 1", "demographics.age"),
    "unknown_framework.yaml": (None, "record 1", "framework"),
    "empty.yaml": ("", None, None),
}


def _bad_text(name: str) -> str | bytes:
    text, _, _ = BAD_FILES[name]
    if text is not None:
        return text
    record = persona_record()
    if name == "missing.yaml":
        del record["severity"]
    elif name == "wrong_type.yaml":
        record["demographics"]["age"] = "forty"
    elif name == "unknown_framework.yaml":
        record["framework"] = "psychoanalysis"
    return yaml.safe_dump(record)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_persona_file_fails_with_one_line_naming_file_record_and_field(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(_bad_text(name))
    code, out, err = run("generate", str(path), "--out", str(tmp_path / "run"))
    assert code == 2
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    _, record, field = BAD_FILES[name]
    assert str(path) in lines[0]
    if record:
        assert record in lines[0]
    if field:
        assert f"field '{field}'" in lines[0]
    if name == "unknown_framework.yaml":
        assert "valid: cbt, mi, pct" in lines[0]
    assert not (tmp_path / "run" / "dialogues.jsonl").exists()


def test_non_utf8_persona_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"id: caf\xe9\n")
    code, _, err = run("generate", str(path), "--out", str(tmp_path / "run"))
    assert code == 2 and "not UTF-8" in err and str(path) in err
    assert not (tmp_path / "run").exists()


def test_unknown_framework_flag(tmp_path: Path, tmp_personas: Path) -> None:
    code, _, err = run("generate", str(tmp_personas), "--out", str(tmp_path / "run"), "--framework", "dbt")
    assert code == 2 and "unknown framework 'dbt'; valid: cbt, mi, pct" in err
    assert not (tmp_path / "run").exists()


def test_skip_invalid_generates_the_valid_records_and_reports_the_rest(tmp_path: Path) -> None:
    broken = persona_record(id="broken")
    broken["severity"] = {"phq9": 40, "gad7": 3}
    path = write_personas(tmp_path / "mixed.yaml", [persona_record(id="good"), broken])
    code, _, err = run("generate", str(path), "--out", str(tmp_path / "strict"))
    assert code == 2 and "record 2" in err and "severity.phq9" in err
    code, _, err = run("generate", str(path), "--out", str(tmp_path / "run"), "--skip-invalid")
    assert code == 0
    assert "skipped:" in err and "record 2" in err
    cases = [json.loads(line) for line in (tmp_path / "run" / "dialogues.jsonl").read_text().splitlines()]
    assert [c["persona_id"] for c in cases] == ["good"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert len(manifest["skipped"]) == 1


def test_validate_reports_every_problem(tmp_path: Path) -> None:
    two = persona_record(id="two")
    del two["goals"]
    two["style"] = "chatty"
    four = persona_record(id="four")
    four["stage_of_change"] = "denial"
    path = write_personas(tmp_path / "people.yaml", [persona_record(id="one"), two, persona_record(id="one"), four])
    code, _, err = run("personas", "validate", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 4
    assert any("record 4, field 'stage_of_change'" in line and "'precontemplation'" in line for line in lines)
    assert any("record 2, field 'goals'" in line for line in lines)
    assert any("record 2, field 'style'" in line for line in lines)
    assert any("record 3, field 'id'" in line and "duplicate" in line for line in lines)


def test_validate_accepts_the_shipped_personas() -> None:
    code, out, _ = run("personas", "validate", str(SHIPPED_PERSONAS))
    assert code == 0 and out.startswith("ok:")


def test_frameworks_list_and_show() -> None:
    code, out, _ = run("frameworks", "list")
    assert code == 0
    for framework in ("cbt", "mi", "pct"):
        assert framework in out
    code, out, _ = run("frameworks", "show", "mi")
    assert code == 0 and "complex_reflection" in out and "MITI CR" in out and "risk_assessment" in out
    code, _, err = run("frameworks", "show", "dbt")
    assert code == 2 and "unknown framework 'dbt'; valid: cbt, mi, pct" in err


def test_an_output_folder_holding_another_run_is_refused(tmp_path: Path, tmp_personas: Path) -> None:
    assert run("generate", str(tmp_personas), "--out", str(tmp_path / "run"))[0] == 0
    files = ("dialogues.jsonl", "manifest.json")
    before = {name: (tmp_path / "run" / name).read_bytes() for name in files}
    code, _, err = run("generate", str(tmp_personas), "--out", str(tmp_path / "run"), "--sessions", "3")
    assert code == 2 and "holds a different run (it differs in: sessions)" in err
    assert {name: (tmp_path / "run" / name).read_bytes() for name in files} == before
    code, _, err = run("generate", str(tmp_personas), "--out", str(tmp_path / "new"), "--resume")
    assert code == 2 and "nothing to resume" in err
