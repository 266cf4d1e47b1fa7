"""`counselsynth augment` through the real litellm path against the loopback server.

The loopback server's translator double writes the target language's words and can corrupt its
answers on purpose, one kind per gate; the gates under test are the project's own code.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SHIPPED_PERSONAS, generate, run_cli

from counselsynth.augment.gates import Gates
from counselsynth.augment.languages import gate_settings
from counselsynth.augment.scripts import script_share
from counselsynth.corpus import read_cases, read_manifest
from counselsynth.frameworks import load_catalog
from counselsynth.languages import language
from counselsynth.models import Case
from counselsynth.personas import load_personas
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer, LoopbackStats

KEY_ENV = "COUNSELSYNTH_TEST_KEY"
SECRET = "sk-augment-secret-0123456789"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 20-case English corpus from the offline engine."""
    folder = tmp_path_factory.mktemp("source")
    english = [p for p in load_personas(SHIPPED_PERSONAS, load_catalog().frameworks).personas if p.language == "en"]
    with (folder / "personas.jsonl").open("w", encoding="utf-8") as handle:
        for index in range(20):
            persona = english[index % len(english)]
            record = persona.model_dump(mode="json", exclude_none=True) | {"id": f"{persona.id}-{index:02d}"}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    generate(folder / "personas.jsonl", folder / "run", sessions=1)
    return folder / "run"


@pytest.fixture
def translator() -> Iterator[LoopbackServer]:
    with LoopbackServer(LoopbackConfig(translate=True)) as running:
        yield running
    assert running.stats.unexpected == []


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())).hexdigest()


def augment(source: Path, out: Path, server: LoopbackServer, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        "augment", str(source), "--out", str(out), "--model", "openai/loopback",
        "--api-base", server.base_url, "--api-key-env", KEY_ENV, *extra,
    )  # fmt: skip


@dataclass(frozen=True)
class Augmented:
    out: Path
    stdout: str
    stats: LoopbackStats


@pytest.fixture(scope="module")
def augmented(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Augmented]:
    """The 20-case corpus translated into a language, once per module and language."""
    done: dict[str, Augmented] = {}

    def run(target: str) -> Augmented:
        if target not in done:
            out = tmp_path_factory.mktemp("augmented") / target
            before = digest(source)
            with pytest.MonkeyPatch.context() as patch, LoopbackServer(LoopbackConfig(translate=True)) as server:
                patch.setenv(KEY_ENV, SECRET)
                code, stdout, stderr = augment(source, out, server, "--to", target, "--concurrency", "6")
            assert code == 0, stderr
            assert server.stats.unexpected == []
            assert digest(source) == before
            done[target] = Augmented(out, stdout, server.stats)
        return done[target]

    return run


@pytest.mark.parametrize("target", ["fa", "sw", "am"])
def test_a_20_case_corpus_is_translated_and_passes_the_gates(
    source: Path, augmented: Callable[[str], Augmented], target: str
) -> None:
    result = augmented(target)
    assert "Quality gates" in result.stdout and "turn.back_translation" in result.stdout

    originals = {case.case_id: case for case in read_cases(source)}
    cases = list(read_cases(result.out))
    assert [c.case_id for c in cases] == list(originals)  # same cases, same order
    lang = language(target)
    sampled = 0
    for case in cases:
        original = originals[case.case_id]
        assert case.language == target and case.persona_language == target
        assert case.translation is not None and case.translation.source_case_id == case.case_id
        assert case.offline and case.engine == "offline"  # the dialogue's origin stays labelled
        # The persona is localized: its name is one of the adaptations, written in the target's script.
        assert case.persona["demographics"]["name"] in case.translation.adaptations.values()
        assert case.persona["locale"] == lang.locale
        for session, source_session in zip(case.sessions, original.sessions, strict=True):
            assert len(session.turns) == len(source_session.turns)
            for turn, source_turn in zip(session.turns, source_session.turns, strict=True):
                assert turn.speaker == source_turn.speaker
                assert turn.annotations == source_turn.annotations
                assert turn.source_text == source_turn.text
                assert turn.flags == []
                assert turn.provenance is not None and turn.provenance.engine == "litellm"
                share = script_share(turn.text, lang.scripts)
                assert share is None or share >= 0.9
        sampled += len(case.translation.back_translation_chrf)
        assert all(score >= 40 for score in case.translation.back_translation_chrf)
    assert sampled >= 20  # at least one back-translated turn per session

    manifest = read_manifest(result.out)
    assert manifest.status == "complete"
    assert manifest.source_run is not None and manifest.source_run["run_id"] == read_manifest(source).run_id
    assert all(tally.flagged == 0 and tally.failed_attempts == 0 for tally in manifest.gates.values())
    assert manifest.gates["turn.back_translation"].mean_score == 100.0
    assert manifest.gates["turn.script"].checked >= sum(len(s.turns) for c in cases for s in c.sessions)
    # Accounting: the manifest's calls are the calls the server answered.
    total = manifest.usage["total"]
    assert total.calls == result.stats.completions
    assert manifest.usage["translator"].calls + manifest.usage["back_translator"].calls == total.calls
    assert manifest.efficiency["mean_prefix_share"] >= 0.9
    assert 2 <= result.stats.max_in_flight <= 6  # calls overlap, never beyond --concurrency
    assert SECRET not in (result.out / "manifest.json").read_text()


def test_the_fidelity_check_compares_a_translation_with_its_source(
    source: Path, augmented: Callable[[str], Augmented], tmp_path: Path
) -> None:
    out = augmented("fa").out
    code, stdout, stderr = run_cli("fidelity", str(out), "--reference", str(source), "--out", str(tmp_path / "fid"))
    assert code == 0, stderr
    report = json.loads((tmp_path / "fid" / "fidelity.json").read_text())
    verdicts = {m["name"]: m for m in report["metrics"]}
    assert report["corpus"]["language"] == "fa"
    # Turn structure and codes are the source's, so they match; word counts are not compared.
    assert verdicts["utterances_per_session"]["verdict"] == "pass"
    assert verdicts["same_speaker_share"]["verdict"] == "pass"
    behaviour = [m for m in report["metrics"] if m["axis"] == "behaviour" and m["verdict"] != "n/a"]
    assert len(behaviour) >= 5 and all(m["verdict"] == "pass" and m["value"] == m["reference"] for m in behaviour)
    assert report["overall"] == "pass"
    assert verdicts["counselor_words_per_utterance"]["verdict"] == "n/a"
    assert all(m["verdict"] == "n/a" for m in report["metrics"] if m["axis"] == "language")
    assert "metrics that count words are n/a" in report["summary"][0]


def test_a_translated_run_exports_and_loads_with_datasets(
    augmented: Callable[[str], Augmented], tmp_path: Path
) -> None:
    import datasets

    out = augmented("am").out
    code, _, stderr = run_cli("export", str(out), "--format", "hf", "--out", str(tmp_path / "export"))
    assert code == 0, stderr
    files = sorted(str(p) for p in (tmp_path / "export" / "data").rglob("*.parquet"))
    rows = datasets.load_dataset("parquet", data_files=files, split="train")
    assert len(rows) == 20
    assert set(rows["language"]) == {"am"}
    card = (tmp_path / "export" / "README.md").read_text()
    assert "- am" in card
    assert "**This corpus is a machine translation** into `am`" in card
    assert "| `turn.script` |" in card and "counselsynth augment SOURCE_RUN --to am" in card
    run_config = (tmp_path / "export" / "run" / "run_config.yaml").read_text()
    assert "# Rebuild with: counselsynth augment SOURCE_RUN --to am" in run_config
    assert "model: openai/loopback" in run_config


@pytest.mark.parametrize(
    ("corruption", "gate", "target"),
    [
        ("script", "turn.script", "fa"),
        ("drop", "turn.turns", "am"),
        ("annotation", "turn.annotations", "sw"),
        ("untranslated", "turn.untranslated", "sw"),
        ("english", "turn.language", "sw"),
        ("drift", "turn.back_translation", "fa"),
    ],
)
def test_each_gate_catches_its_own_corruption(
    source: Path, tmp_path: Path, corruption: str, gate: str, target: str
) -> None:
    with LoopbackServer(LoopbackConfig(translate=True, corrupt={corruption: 0.5})) as server:
        code, _, stderr = augment(source, tmp_path / "out", server, "--to", target, "--limit", "3")
    assert code == 0, stderr
    manifest = read_manifest(tmp_path / "out")
    caught = manifest.gates[gate]
    assert caught.failed_attempts > 0  # the gate rejected corrupted answers, which were re-asked
    # A flagged turn failed this gate on its first try and on every retry.
    assert caught.flagged * (gate_settings().retries + 1) <= caught.failed_attempts
    cases = list(read_cases(tmp_path / "out"))
    flagged = [t.flags for case in cases for s in case.sessions for t in s.turns if t.flags]
    flagged += [
        flags for case in cases if case.translation for item, flags in case.translation.flagged.items() if "." in item
    ]
    assert [flags for flags in flagged if gate.split(".")[1] not in flags] == []
    assert len(flagged) == caught.flagged


def test_session_gates_catch_a_dropped_turn_and_a_lost_annotation(source: Path) -> None:
    case = next(read_cases(source))
    turns = case.sessions[0].turns
    gates = Gates(language("en"), language("fa"), gate_settings())
    untouched = {gate for gate, _ in gates.check_session(turns, turns)}
    assert untouched == {"language"}  # the English text is no Persian, but nothing is lost
    dropped = turns[:3] + turns[4:]
    assert "turns" in {gate for gate, _ in gates.check_session(turns, dropped)}
    counselor = next(i for i, t in enumerate(turns) if t.speaker == "counselor")
    client = next(i for i, t in enumerate(turns) if t.speaker == "client" and t.annotations.emotion)
    for index, change in ((counselor, {"code": "not_a_code"}), (client, {"emotion": None})):
        lost = list(turns)
        lost[index] = turns[index].model_copy(
            update={"annotations": turns[index].annotations.model_copy(update=change)}
        )
        assert "annotations" in {gate for gate, _ in gates.check_session(turns, lost)}


def test_a_model_that_writes_the_wrong_language_stops_the_run(source: Path, tmp_path: Path) -> None:
    before = digest(source)
    # The translator double answers every request in English.
    with LoopbackServer(LoopbackConfig(translate=True, corrupt={"english": 1.0})) as server:
        code, _, stderr = augment(source, tmp_path / "out", server, "--to", "sw", "--concurrency", "2")
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]  # beside the progress bar
    assert len(errors) == 1 and "does not write Swahili (sw)" in errors[0] and "'en'" in errors[0]
    assert "Traceback" not in stderr
    assert digest(source) == before
    assert read_manifest(tmp_path / "out").status == "interrupted"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "xx"], "unknown language 'xx'"),
        (["--to", "en"], "is the source language"),
        (["--to", "fa", "--model", ""], "augment needs a model"),
    ],
)
def test_bad_targets_and_no_model_are_one_line_errors(
    source: Path, tmp_path: Path, translator: LoopbackServer, args: list[str], message: str
) -> None:
    before = digest(source)
    if args[-2:] == ["--model", ""]:
        code, _, stderr = run_cli("augment", str(source), "--out", str(tmp_path / "out"), "--to", "fa")
    else:
        code, _, stderr = augment(source, tmp_path / "out", translator, *args)
    assert code == 2
    assert message in stderr and len(stderr.strip().splitlines()) == 1
    assert digest(source) == before
    assert not (tmp_path / "out").exists()


def test_a_missing_or_interrupted_source_run_is_refused(
    source: Path, tmp_path: Path, translator: LoopbackServer
) -> None:
    code, _, stderr = augment(tmp_path / "nowhere", tmp_path / "out", translator, "--to", "fa")
    assert code == 2 and "is not a finished run" in stderr
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    for name in ("dialogues.jsonl", "manifest.json"):
        (interrupted / name).write_bytes((source / name).read_bytes())
    manifest = json.loads((interrupted / "manifest.json").read_text())
    (interrupted / "manifest.json").write_text(json.dumps(manifest | {"status": "interrupted"}))
    code, _, stderr = augment(interrupted, tmp_path / "out", translator, "--to", "fa")
    assert code == 2 and "interrupted, not complete" in stderr
    assert not (tmp_path / "out").exists()


def test_a_killed_augment_run_resumes_without_duplicates_or_new_calls(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with LoopbackServer(LoopbackConfig(translate=True, latency=0.01)) as server:
        command = [
            sys.executable, "-m", "counselsynth", "augment", str(source), "--to", "am", "--out", str(out),
            "--model", "openai/loopback", "--api-base", server.base_url, "--api-key-env", KEY_ENV,
            "--concurrency", "2",
        ]  # fmt: skip
        env = {**os.environ, KEY_ENV: SECRET}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lines = (out / "dialogues.jsonl").read_text().count("\n") if (out / "dialogues.jsonl").exists() else 0
            if lines >= 3:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kept = {
            json.loads(line)["case_id"]: line
            for line in (out / "dialogues.jsonl").read_text().splitlines()
            if line.endswith("}")
        }
        assert 3 <= len(kept) < 20
        answered = server.stats.completions
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
        resumed_calls = server.stats.completions - answered
    cases = (out / "dialogues.jsonl").read_text().splitlines()
    ids = [json.loads(line)["case_id"] for line in cases]
    assert len(ids) == len(set(ids)) == 20
    for line in cases:
        case_id = json.loads(line)["case_id"]
        if case_id in kept:
            assert line == kept[case_id]  # a finished case is never redone
    manifest = read_manifest(out)
    assert manifest.status == "complete"
    # Cases that were in flight replay their finished calls from the cache; only the rest is asked
    # again. Every reply (new or cached) is counted once in the usage of the case it belongs to.
    kept_calls = sum(u.calls for c in kept for u in Case.model_validate_json(kept[c]).usage.values())
    assert manifest.counts["cache_hits"] > 0
    assert resumed_calls == manifest.usage["total"].calls - kept_calls - manifest.counts["cache_hits"]


def test_the_language_catalogue_is_consistent_with_the_locales_and_the_identifier() -> None:
    from counselsynth.augment.identify import known
    from counselsynth.languages import catalogue
    from counselsynth.personas.distributions import load_distributions

    locales = load_distributions().locales.locales
    for code, lang in catalogue().items():
        assert lang.locale in locales, code
        assert lang.langid is None or known(lang.langid), code
        # A language's own name is written in its scripts: a misspelt script name fails here.
        assert script_share(lang.native, lang.scripts) == 1.0, code
    code, stdout, _ = run_cli("augment", "--list-languages")
    assert code == 0 and "Swahili" in stdout and "ETHIOPIC" in stdout
