"""The probe's smaller findings, each reproduced: a repo id with a newline, code in a shared
prompt pack, resume refused for the same files by another path, a replaced case id exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import persona_record, run_cli, write_personas

from counselsynth.errors import InputError
from counselsynth.export.publish import check_repo_id


def test_a_repo_id_with_a_trailing_newline_is_refused(tmp_path: Path, tmp_personas: Path) -> None:
    with pytest.raises(InputError):
        check_repo_id("user/name\n")
    assert check_repo_id("user/name") == "user/name"
    run = tmp_path / "run"
    assert run_cli("generate", str(tmp_personas), "--out", str(run))[0] == 0
    code, _, err = run_cli("publish", str(run), "--repo", "user/name\n", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and "is not a hub repository id" in err


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('echo pwned > PWNED').read() }}",
        "{% set seen = [] %}{% set _ = seen.append('x') %}{{ seen }}",
    ],
)
def test_a_shared_prompt_pack_cannot_run_code(tmp_path: Path, tmp_personas: Path, payload: str) -> None:
    pack = tmp_path / "pack" / "counselor"
    pack.mkdir(parents=True)
    (pack / "turn.jinja2").write_text(payload)
    code, _, err = run_cli(
        "generate", str(tmp_personas), "--out", str(tmp_path / "run"), "--prompts-dir", str(tmp_path / "pack")
    )
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: prompt 'counselor/turn.jinja2': access to attribute") and line.endswith("is unsafe.")
    assert not Path("PWNED").exists() and not (tmp_path / "PWNED").exists()


def test_the_same_persona_files_by_another_path_resume_the_run(
    tmp_path: Path, tmp_personas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    assert run_cli("generate", str(tmp_personas), "--out", str(run))[0] == 0
    before = (run / "dialogues.jsonl").read_bytes()
    monkeypatch.chdir(tmp_personas.parent)
    code, _, err = run_cli("generate", tmp_personas.name, "--out", str(run))
    assert code == 0, err
    assert "resumed: 1 cases were already finished" in err
    assert (run / "dialogues.jsonl").read_bytes() == before
    # A different file by the same path is still a different run.
    write_personas(tmp_personas, [persona_record(id="someone_else")])
    code, _, err = run_cli("generate", tmp_personas.name, "--out", str(run))
    assert code == 2 and "differs in: inputs" in err


def test_export_refuses_a_replaced_case_id(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record(id="a"), persona_record(id="b")])
    run = tmp_path / "run"
    assert run_cli("generate", str(personas), "--out", str(run), "--sessions", "1")[0] == 0
    lines = (run / "dialogues.jsonl").read_text().split("\n")
    case = json.loads(lines[1])
    case["case_id"] = "intruder-mi"
    lines[1] = json.dumps(case)
    (run / "dialogues.jsonl").write_text("\n".join(lines))
    code, _, err = run_cli("export", str(run), "--out", str(tmp_path / "hf"), "--split", "train=1")
    assert code == 2
    assert err.strip() == (
        f"error: {run / 'dialogues.jsonl'}, line 2, field 'case_id': 'intruder-mi' is not a case the run "
        "planned (manifest.json)"
    )
    assert not (tmp_path / "hf").exists()
