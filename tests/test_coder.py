"""The independent coder: fitted on labelled text, it tells labels that describe the text from
labels that do not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import SHIPPED_PERSONAS, generate, run_cli

from counselsynth.coder import fit_coder, load_coder, shipped_coders
from counselsynth.coder.agreement import code_agreement
from counselsynth.coder.features import FeatureSpec
from counselsynth.coder.model import CoderFile, save_coder


@pytest.fixture(scope="module")
def mi_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("coder") / "mi"
    generate(SHIPPED_PERSONAS, out, framework="mi", sessions=2, seed=1)
    return out


@pytest.fixture(scope="module")
def fitted(mi_corpus: Path) -> CoderFile:
    return fit_coder(mi_corpus, name="offline-mi", features=FeatureSpec(buckets=1024), folds=3)


def _shuffle_codes(corpus: Path, out: Path) -> Path:
    """The same corpus with its counselor labels shuffled among its counselor turns."""
    out.mkdir()
    (out / "manifest.json").write_text((corpus / "manifest.json").read_text())
    cases = [json.loads(line) for line in (corpus / "dialogues.jsonl").read_text().splitlines()]
    notes = [t["annotations"] for c in cases for s in c["sessions"] for t in s["turns"] if t["speaker"] == "counselor"]
    labels = [(n["code"], n["miti"]) for n in notes]
    random.Random(0).shuffle(labels)
    for note, (code, miti) in zip(notes, labels, strict=True):
        note["code"], note["miti"] = code, miti
    (out / "dialogues.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    return out


def test_a_fitted_coder_records_its_grouped_validation(fitted: CoderFile) -> None:
    check = fitted.validation
    assert fitted.scheme == "mi" and check.folds == 3 and check.dialogues >= 10
    assert set(check.f1) == set(fitted.classes) and len(fitted.classes) >= 4
    # Offline phrasebank text performs its codes, so a coder learns them well above chance.
    assert check.kappa > 0.6
    assert fitted.source is None  # generated text cites no real corpus


def test_agreement_separates_true_labels_from_shuffled_ones(fitted: CoderFile, mi_corpus: Path, tmp_path: Path) -> None:
    true = code_agreement(mi_corpus, fitted)
    shuffled = code_agreement(_shuffle_codes(mi_corpus, tmp_path / "shuffled"), fitted)
    assert true.passed and true.kappa > 0.6 and not true.coarse
    assert not shuffled.passed and shuffled.kappa < 0.1
    assert true.turns == shuffled.turns


def test_a_coder_file_round_trips_and_holds_no_text(fitted: CoderFile, mi_corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "coder.json"
    save_coder(fitted, path)
    again = load_coder(str(path))
    texts = ["What would you like to change?", "You feel stuck."]
    assert again.predict(texts) == fitted.predict(texts)
    stored = path.read_text()
    first_turn = json.loads((mi_corpus / "dialogues.jsonl").read_text().splitlines()[0])["sessions"][0]["turns"][0]
    assert first_turn["text"] not in stored and set(json.loads(stored)) >= {"weights", "validation", "classes"}


def test_the_shipped_mi_coder_cites_annomi_and_its_validation() -> None:
    assert "mi" in shipped_coders()
    coder = load_coder("mi")
    assert coder.source is not None and coder.source.corpus == "AnnoMI" and "statistics" in coder.source.license
    assert 0.4 < coder.validation.kappa < 0.7 and coder.validation.dialogues == 110
    texts = [
        "How do you feel about drinking?",
        "So drinking helps you relax.",
        "Did you drink yesterday?",
        "It sounds like part of you wants to stop, and part of you is scared of what life looks like without it.",
        "Okay.",
    ]
    assert coder.predict(texts) == [
        "open_question",
        "simple_reflection",
        "closed_question",
        "complex_reflection",
        "other",
    ]


def test_coder_cli_fits_and_lists(mi_corpus: Path, tmp_path: Path) -> None:
    code, out, _ = run_cli("coder", "fit", str(mi_corpus), "--out", str(tmp_path / "c.json"), "--folds", "3")
    assert code == 0 and "Cohen's kappa" in out and "per-class F1" in out
    assert load_coder(str(tmp_path / "c.json")).validation.folds == 3
    code, out, _ = run_cli("coder", "list")
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert code == 0 and set(lines) == {"esc", "mi"}
    assert "AnnoMI" in lines["mi"] and "ESConv" in lines["esc"]


def test_coder_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    code, _, err = run_cli("coder", "fit", str(tmp_path / "missing"), "--out", str(tmp_path / "c.json"))
    assert code == 2 and err.count("\n") == 1 and "missing" in err
    assert not (tmp_path / "c.json").exists()
