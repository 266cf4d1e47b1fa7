"""`export --first-role`: user-first, strictly alternating conversations for strict chat templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, persona_record, write_personas
from conftest import run_cli as run

FIXTURES = Path(__file__).parent / "fixtures" / "fidelity"
SUPPORT = str(Path(__file__).resolve().parents[1] / "therapy_frameworks" / "support")


def _rows(out: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for path in sorted((out / "data").glob("*.jsonl")) for line in path.read_text().splitlines()
    ]


def _export(run_dir: Path, out: Path, *extra: str) -> list[dict[str, Any]]:
    code, _, stderr = run("export", str(run_dir), "--out", str(out), "--format", "jsonl", "--split", "train=1", *extra)
    assert code == 0, stderr
    return _rows(out)


def _alternates_from_user(roles: list[str]) -> bool:
    return roles == [("user", "assistant")[i % 2] for i in range(len(roles))]


@pytest.fixture(scope="module")
def esconv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real-format corpus whose supporter sometimes speaks twice in a row."""
    out = tmp_path_factory.mktemp("esconv") / "corpus"
    source = str(FIXTURES / "esconv_converted.jsonl")
    assert run("import-corpus", "--source", "esconv", "--path", source, "--out", str(out))[0] == 0
    return out


def test_user_first_joins_runs_of_one_speaker_and_alternates(esconv: Path, tmp_path: Path) -> None:
    rows = _export(esconv, tmp_path / "user", "--frameworks-dir", SUPPORT)
    assert rows
    for row in rows:
        messages = row["messages"]
        assert messages[0]["role"] == "system"
        assert _alternates_from_user([m["role"] for m in messages[1:]])
        assert len(row["annotations"]) == len(messages)
    first = next(r for r in rows if r["messages"][1]["content"] == "Hello.")
    joined = "So the breakup is still very fresh.\n\nMany people find the first months the hardest."
    index = next(i for i, m in enumerate(first["messages"]) if m["content"] == joined)
    assert first["messages"][index]["role"] == "assistant"
    assert first["annotations"][index]["code"] == "restatement_or_paraphrasing"
    card = (tmp_path / "user" / "README.md").read_text()
    assert "Conversations start with the **user** and strictly alternate" in card
    assert "those\n  turns are joined into one message" in card
    assert json.loads((tmp_path / "user" / "export.json").read_text())["conversation"]["first_role"] == "user"
    # ESConv does not label the seeker's talk type: counted as not annotated, not as an undefined code.
    assert "0 counselor turn(s) and\n5 client turn(s) carry the code `not_annotated`" in card
    assert "does not define" not in card
    # --first-role assistant keeps one message per turn, as the turns were spoken.
    rows = _export(esconv, tmp_path / "turns", "--frameworks-dir", SUPPORT, "--first-role", "assistant")
    first = next(r for r in rows if r["messages"][1]["content"] == "Hello.")
    assert [m["role"] for m in first["messages"][3:6]] == ["user", "assistant", "assistant"]
    assert "Messages follow the turns one to one" in (tmp_path / "turns" / "README.md").read_text()


def test_a_session_the_counselor_opens_gets_a_user_opener(tmp_path: Path) -> None:
    records = [persona_record(id=f"c{i}", framework="mi") for i in range(3)]
    cases = generate(write_personas(tmp_path / "p.yaml", records), tmp_path / "run")
    assert all(s.turns[0].speaker == "counselor" for c in cases for s in c.sessions)
    for fmt_args, key in ((("--no-system",), "messages"), (("--format", "sharegpt"), "conversations")):
        code, _, stderr = run(
            "export", str(tmp_path / "run"), "--out", str(tmp_path / key), "--split", "train=1", *fmt_args
        )
        assert code == 0, stderr
    rows = _export(tmp_path / "run", tmp_path / "plain", "--no-system")
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert _alternates_from_user(roles)
        assert row["messages"][0]["content"] == f"[Session {row['session_index']} of 2 begins.]"
        assert row["annotations"][0]["speaker"] == "opener" and row["annotations"][0]["code"] is None
    sharegpt = _rows(tmp_path / "conversations")
    for row in sharegpt:
        sources = [m["from"] for m in row["conversations"][1:]]
        assert sources == [("human", "gpt")[i % 2] for i in range(len(sources))]
    code, _, stderr = run("export", str(tmp_path / "run"), "--out", str(tmp_path / "x"), "--first-role", "client")
    assert (code, stderr.strip()) == (2, "error: unknown first role 'client'; valid: assistant, user")
