"""Every valid record is read, and nothing is read in a way its author did not write it.

JSONL splits on "\\n" only and reads past a bad line; a key given twice is an error, not "the last
one wins"; nesting deeper than any record needs is one line, not a RecursionError.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import persona_record, run_cli

from counselsynth.frameworks import load_catalog
from counselsynth.personas import load_personas


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _record(**overrides: object) -> str:
    return json.dumps(persona_record(**overrides), ensure_ascii=False)


def test_skip_invalid_reads_past_a_broken_line_and_reports_every_bad_line(tmp_path: Path) -> None:
    bad_field = persona_record(id="p4")
    bad_field["style"] = "chatty"
    path = _jsonl(
        tmp_path / "people.jsonl",
        [_record(id="p1"), '{"id": "p2", "broken', _record(id="p3"), json.dumps(bad_field), _record(id="p5")],
    )
    code, _, err = run_cli("generate", str(path), "--out", str(tmp_path / "run"), "--skip-invalid")
    assert code == 0, err
    cases = [json.loads(line) for line in (tmp_path / "run" / "dialogues.jsonl").read_text().split("\n") if line]
    assert [c["persona_id"] for c in cases] == ["p1", "p3", "p5"]
    skipped = [line for line in err.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 2
    assert "line 2: invalid JSON" in skipped[0] and "line 4, field 'style'" in skipped[1]
    assert "2 invalid persona record(s) skipped" in err
    code, _, err = run_cli("personas", "validate", str(path))
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert f"{path}, line 2: invalid JSON" in errors[0] and f"{path}, line 4, field 'style'" in errors[1]


def test_line_separators_inside_strings_are_text_not_line_breaks(tmp_path: Path) -> None:
    # personas import writes JSONL with ensure_ascii=False, so these reach the file raw.
    goals = ["drink\u2028less", "sleep\u2029more", "walk\u0085daily"]
    path = _jsonl(tmp_path / "people.jsonl", [_record(id="p1", goals=goals), _record(id="p2")])
    loaded = load_personas(path, load_catalog().frameworks)
    assert [p.id for p in loaded.personas] == ["p1", "p2"] and loaded.personas[0].goals == goals
    code, out, err = run_cli("personas", "validate", str(path))
    assert code == 0 and "ok: 2 personas" in out, err
    run = tmp_path / "run"
    assert run_cli("generate", str(path), "--out", str(run))[0] == 0
    code, _, err = run_cli("export", str(run), "--out", str(tmp_path / "hf"), "--format", "jsonl", "--split", "train=1")
    assert code == 0, err


def test_a_key_given_twice_is_refused_with_file_record_and_field(tmp_path: Path) -> None:
    # The probe's case: a later `risk` would silently switch the safety protocol off.
    text = yaml.safe_dump(persona_record(id="p1", risk={"level": "high"}), sort_keys=False)
    path = tmp_path / "person.yaml"
    path.write_text(text + "risk: {level: none}\n")
    line = text.splitlines().index("risk:") + 1
    code, _, err = run_cli("personas", "validate", str(path))
    assert code == 2
    total = len(text.splitlines()) + 1
    assert err.strip() == (
        f"error: {path}, record 1, field 'risk': duplicate key (line {total}; first given at line {line})"
    )
    code, _, err = run_cli("generate", str(path), "--out", str(tmp_path / "run"))
    assert code == 2 and "field 'risk': duplicate key" in err and not (tmp_path / "run").exists()
    nested = tmp_path / "nested.yaml"
    nested.write_text("- id: a\n- id: b\n  severity:\n    phq9: 20\n    phq9: 3\n")
    code, _, err = run_cli("personas", "validate", str(nested))
    assert code == 2 and err.strip() == (
        f"error: {nested}, record 2, field 'severity.phq9': duplicate key (line 5; first given at line 4)"
    )
    as_json = tmp_path / "people.jsonl"
    as_json.write_text('{"id": "a", "risk": {"level": "high"}, "risk": {"level": "none"}}\n')
    code, _, err = run_cli("personas", "validate", str(as_json))
    assert code == 2 and f"{as_json}, line 1, field 'risk': duplicate key" in err


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("a: " + "[" * 500 + "]" * 500 + "\n")  # about 1 KB
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000)
    deep_line = _jsonl(tmp_path / "deep.jsonl", [_record(id="ok"), '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"])
    for path, where in ((deep_yaml, "line 1: nested more than 64 levels deep"), (deep_json, "nested too deeply")):
        code, _, err = run_cli("personas", "validate", str(path))
        assert code == 2 and err.count("\n") == 1 and where in err and "Traceback" not in err, err
    code, _, err = run_cli("generate", str(deep_line), "--out", str(tmp_path / "run"), "--skip-invalid")
    assert code == 0 and "line 2: nested too deeply to parse" in err
    config = tmp_path / "run.yaml"
    config.write_text("router: " + "[" * 500 + "]" * 500 + "\n")
    code, _, err = run_cli("generate", str(deep_line), "--out", str(tmp_path / "x"), "--config", str(config))
    assert code == 2 and err.strip() == f"error: {config}, line 1: nested more than 64 levels deep"
