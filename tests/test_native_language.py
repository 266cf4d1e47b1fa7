"""`generate --language LANG`: agents write the target language, personas are localized."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import persona_record, run_cli, write_personas

from counselsynth.augment.scripts import script_share
from counselsynth.corpus import read_cases
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

KEY_ENV = "COUNSELSYNTH_TEST_KEY"


@pytest.fixture
def personas(tmp_path: Path) -> Path:
    records = [persona_record(id=f"p{i}", framework=("mi", "cbt", "pct")[i % 3]) for i in range(3)]
    return write_personas(tmp_path / "personas.yaml", records)


def test_offline_generation_in_persian_localizes_the_personas(personas: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli("generate", str(personas), "--out", str(tmp_path / "run"), "--language", "fa")
    assert code == 0, stderr
    cases = list(read_cases(tmp_path / "run"))
    assert [c.persona_id for c in cases] == ["p0", "p1", "p2"]  # ids are kept
    for case in cases:
        assert case.language == "fa" and case.persona_language == "fa" and case.warnings == []
        demographics = case.persona["demographics"]
        assert case.persona["locale"] == "fa_IR"
        assert script_share(demographics["name"], ["ARABIC"]) == 1.0
        assert "ایران" in demographics["location"]
        # Every turn is Persian, but the persona's own free text (thoughts, goals) stays in the
        # persona file's language, and the offline engine quotes it as it is: a short turn cut to
        # its target length can be mostly that quote, so each turn needs only some Persian.
        texts = [t.text for s in case.sessions for t in s.turns]
        assert all((script_share(text, ["ARABIC"]) or 0.0) > 0.0 for text in texts)
        assert (script_share(" ".join(texts), ["ARABIC"]) or 0.0) >= 0.75
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["settings"]["language"] == "fa"


def test_llm_generation_asks_for_the_language_and_its_register(
    personas: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-native-secret-0123456789")
    with LoopbackServer(LoopbackConfig(), keep_bodies=True) as server:
        code, _, stderr = run_cli(
            "generate", str(personas), "--out", str(tmp_path / "run"), "--language", "sw", "--limit", "1",
            "--sessions", "1", "--model", "openai/loopback", "--api-base", server.base_url, "--api-key-env", KEY_ENV,
        )  # fmt: skip
    assert code == 0, stderr
    systems = [b["messages"][0]["content"] for b in server.stats.bodies]
    counselor = [text for text in systems if "Each instruction names your next move" in text]
    client = [text for text in systems if "Real clients are brief" in text]
    assert counselor and client
    assert all("in Swahili (sw)." in text and "'Bwana', 'Bi'" in text for text in counselor)
    assert all("Speak Swahili (sw)." in text for text in client)
    case = next(read_cases(tmp_path / "run"))
    assert case.language == "sw" and case.persona["locale"] == "sw"
    assert case.persona["demographics"]["name"] != "Alex Morgan"


def test_an_unknown_language_is_one_line_and_writes_nothing(personas: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli("generate", str(personas), "--out", str(tmp_path / "run"), "--language", "xx")
    assert code == 2
    assert stderr.strip() == f"error: unknown language 'xx'; valid: {stderr.split('valid: ')[1].strip()}"
    assert "sw" in stderr and not (tmp_path / "run").exists()
